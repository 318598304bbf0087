/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Building struct rule values by hand for the filter tests, as the policy
 * parser would: rule_new(), then rule_daddr(r, "10.0.0.0/8") and friends.
 * Every helper aborts on a malformed argument: that is a bug in the test.
 */
#ifndef CGBPF_TEST_FILTER_RULES_H
#define CGBPF_TEST_FILTER_RULES_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"

static inline struct rule *rule_new(enum action_kind action, unsigned int line)
{
	struct rule *r = calloc(1, sizeof(*r));

	if (!r)
		abort();
	r->line = line;
	r->who = WHO_ANY;
	r->hooks = HOOK_ALL_BITS;
	r->action = action;
	return r;
}

static inline void rule_free(struct rule *r)
{
	if (!r)
		return;
	free(r->daddr);
	free(r->saddr);
	free(r->dport);
	free(r->sport);
	free(r);
}

static inline void *grow(void *v, size_t n, size_t size)
{
	v = realloc(v, (n + 1) * size);
	if (!v)
		abort();
	return v;
}

/* "a.b.c.d[/len]" or "x:y::z[/len]", taken as written (no normalising). */
static inline struct cidr parse_cidr(const char *s)
{
	struct cidr c;
	char buf[64], *slash;
	int len = -1;

	memset(&c, 0, sizeof(c));
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		len = atoi(slash + 1);
	}
	if (inet_pton(AF_INET, buf, c.addr) == 1) {
		c.family = AF_INET;
		c.prefixlen = (uint8_t)(len < 0 ? 32 : len);
	} else if (inet_pton(AF_INET6, buf, c.addr) == 1) {
		c.family = AF_INET6;
		c.prefixlen = (uint8_t)(len < 0 ? 128 : len);
	} else {
		fprintf(stderr, "bad cidr %s\n", s);
		abort();
	}
	return c;
}

static inline void rule_daddr(struct rule *r, const char *cidr)
{
	r->daddr = grow(r->daddr, r->n_daddr, sizeof(*r->daddr));
	r->daddr[r->n_daddr++] = parse_cidr(cidr);
	r->matchers |= M_DADDR;
}

static inline void rule_saddr(struct rule *r, const char *cidr)
{
	r->saddr = grow(r->saddr, r->n_saddr, sizeof(*r->saddr));
	r->saddr[r->n_saddr++] = parse_cidr(cidr);
	r->matchers |= M_SADDR;
}

static inline void rule_dport(struct rule *r, unsigned int lo, unsigned int hi)
{
	r->dport = grow(r->dport, r->n_dport, sizeof(*r->dport));
	r->dport[r->n_dport++] = (struct port_range){ (uint16_t)lo, (uint16_t)hi };
	r->matchers |= M_DPORT;
}

static inline void rule_sport(struct rule *r, unsigned int lo, unsigned int hi)
{
	r->sport = grow(r->sport, r->n_sport, sizeof(*r->sport));
	r->sport[r->n_sport++] = (struct port_range){ (uint16_t)lo, (uint16_t)hi };
	r->matchers |= M_SPORT;
}

static inline void rule_proto(struct rule *r, unsigned int p)
{
	r->proto[p / 64] |= 1ULL << (p % 64);
	r->matchers |= M_PROTO;
}

static inline void rule_family(struct rule *r, unsigned int families)
{
	r->families |= families;
	r->matchers |= M_FAMILY;
}

static inline void rule_type(struct rule *r, unsigned int types)
{
	r->types |= types;
	r->matchers |= M_TYPE;
}

/* A list of rules for filter_compile(). */
struct rule_list {
	struct rule *r[300];
	size_t n;
};

static inline struct rule *list_add(struct rule_list *l, enum action_kind action)
{
	struct rule *r = rule_new(action, (unsigned int)(10 + l->n));

	if (l->n >= sizeof(l->r) / sizeof(l->r[0]))
		abort();
	l->r[l->n++] = r;
	return r;
}

static inline void list_clear(struct rule_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		rule_free(l->r[i]);
	l->n = 0;
}

static inline const struct rule *const *list_rules(const struct rule_list *l)
{
	return (const struct rule *const *)l->r;
}

#endif
