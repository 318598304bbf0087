// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "policy_lint.h"

/* Rules of one list: the same who, and the hook. */
static bool same_list(const struct rule *a, const struct rule *b, enum cgbpf_hook hook)
{
	if (!(a->hooks & b->hooks & HOOK_BIT(hook)) || a->who != b->who)
		return false;
	switch (a->who) {
	case WHO_USER:
	case WHO_GROUP:
		return !strcmp(a->who_name, b->who_name);
	case WHO_UID_RANGE:
		return a->uid_lo == b->uid_lo && a->uid_hi == b->uid_hi;
	default:
		return true;
	}
}

static bool all_ipv4(const struct cidr *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family != AF_INET)
			return false;
	return true;
}

/* A rule whose address matchers only ever match IPv4 packets. */
static bool matches_only_ipv4(const struct rule *r)
{
	return ((r->matchers & M_DADDR) && all_ipv4(r->daddr, r->n_daddr)) ||
	       ((r->matchers & M_SADDR) && all_ipv4(r->saddr, r->n_saddr));
}

static const char *who_text(const struct rule *r, char *buf, size_t size)
{
	switch (r->who) {
	case WHO_USER:
		snprintf(buf, size, "%s", r->who_name);
		break;
	case WHO_GROUP:
		snprintf(buf, size, "@%s", r->who_name);
		break;
	case WHO_UID_RANGE:
		snprintf(buf, size, "uids %u-%u", r->uid_lo, r->uid_hi);
		break;
	default:
		snprintf(buf, size, "*");
	}
	return buf;
}

/* The first rule of its list for @hook: each list is warned about once. */
static bool first_of_list(const struct policy *p, size_t i, enum cgbpf_hook hook)
{
	for (size_t j = 0; j < i; j++)
		if ((p->rules[j].action == ACT_ALLOW || p->rules[j].action == ACT_DENY) &&
		    same_list(&p->rules[j], &p->rules[i], hook))
			return false;
	return true;
}

static void lint_ipv6_left_open(const struct policy *p, enum cgbpf_hook hook, policy_warn_fn warn,
				void *ctx)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		const struct rule *v4_deny = NULL;
		bool v6_deny = false;
		char msg[512], who[64];

		if ((r->action != ACT_ALLOW && r->action != ACT_DENY) ||
		    !(r->hooks & HOOK_BIT(hook)) || !first_of_list(p, i, hook))
			continue;
		for (size_t j = i; j < p->n_rules; j++) {
			const struct rule *o = &p->rules[j];

			if (o->action != ACT_DENY || !same_list(o, r, hook))
				continue;
			if (matches_only_ipv4(o)) {
				if (!v4_deny)
					v4_deny = o;
			} else {
				v6_deny = true;
			}
		}
		if (!v4_deny || v6_deny)
			continue;
		snprintf(msg, sizeof(msg),
			 "the %s rules for %s deny IPv4 addresses but nothing denies IPv6, whose "
			 "packets end at the default allow; add a deny for IPv6 (%s=::/0) or end "
			 "with a bare deny",
			 hook_name(hook), who_text(r, who, sizeof(who)),
			 hook == HOOK_INGRESS ? "saddr" : "daddr");
		warn(ctx, v4_deny->line, msg);
	}
}

/* @o denies at least the sockets of @r's types and protocols, for inet6. */
static bool covers_inet6(const struct rule *o, const struct rule *r)
{
	if (o->action != ACT_DENY)
		return false;
	if ((o->matchers & M_FAMILY) && !(o->families & FAMILY_INET6))
		return false;
	if ((o->matchers & M_TYPE) && (!(r->matchers & M_TYPE) || (r->types & ~o->types)))
		return false;
	if (o->matchers & M_PROTO) {
		if (!(r->matchers & M_PROTO))
			return false;
		for (size_t k = 0; k < 4; k++)
			if (r->proto[k] & ~o->proto[k])
				return false;
	}
	return true;
}

static void lint_inet_only(const struct policy *p, policy_warn_fn warn, void *ctx)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		bool covered = false;

		if (r->action != ACT_DENY || !(r->hooks & HOOK_BIT(HOOK_SOCK_CREATE)) ||
		    !(r->matchers & M_FAMILY) || (r->families & FAMILY_INET6))
			continue;
		for (size_t j = 0; j < p->n_rules && !covered; j++)
			covered = j != i && same_list(&p->rules[j], r, HOOK_SOCK_CREATE) &&
				  covers_inet6(&p->rules[j], r);
		if (!covered)
			warn(ctx, r->line,
			     "'sock_create deny family=inet' leaves AF_INET6 sockets, which reach "
			     "IPv4 through mapped addresses (::ffff:a.b.c.d); deny family=inet6 "
			     "too");
	}
}

void policy_lint(const struct policy *p, policy_warn_fn warn, void *ctx)
{
	lint_ipv6_left_open(p, HOOK_INGRESS, warn, ctx);
	lint_ipv6_left_open(p, HOOK_EGRESS, warn, ctx);
	lint_inet_only(p, warn, ctx);
}
