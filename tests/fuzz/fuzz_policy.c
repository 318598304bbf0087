// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer entry point for the policy parser and resolver: any input must
 * either parse into a policy that keeps the parser's promises or fail with one
 * "FILE:LINE: message", and never leak or crash. Run with `make fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"
#include "resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PROMISE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void check_cidr(const struct cidr *c)
{
	unsigned int i, max = c->family == AF_INET ? 32 : 128;

	PROMISE(c->family == AF_INET || c->family == AF_INET6);
	PROMISE(c->prefixlen <= max);
	for (i = c->prefixlen; i < 128; i++)
		PROMISE(!(c->addr[i / 8] & (0x80 >> (i % 8))));
}

static void check_rule(const struct rule *r, unsigned int prev_line)
{
	size_t i;

	PROMISE(r->line > prev_line);
	/* Any hook the kernel has (program/pinned on connect4...); all nine only on none. */
	PROMISE(r->hooks && !(r->hooks & ~HOOK_EVERY_BITS));
	PROMISE(r->hooks != HOOK_EVERY_BITS || r->action == ACT_NONE);
	PROMISE((r->who == WHO_USER || r->who == WHO_GROUP) == (r->who_name != NULL));
	PROMISE(r->uid_lo <= r->uid_hi || r->who != WHO_UID_RANGE);
	PROMISE((r->action == ACT_PROGRAM || r->action == ACT_PINNED) == (r->path != NULL));
	PROMISE(!r->path || (r->path[0] == '/' && r->hooks != HOOK_ALL_BITS));
	PROMISE(!r->matchers || r->action == ACT_ALLOW || r->action == ACT_DENY);
	for (i = 0; i < r->n_daddr; i++)
		check_cidr(&r->daddr[i]);
	for (i = 0; i < r->n_saddr; i++)
		check_cidr(&r->saddr[i]);
	PROMISE(r->n_dport <= POLICY_MAX_PORT_RANGES && r->n_sport <= POLICY_MAX_PORT_RANGES);
	for (i = 0; i < r->n_dport; i++)
		PROMISE(r->dport[i].lo <= r->dport[i].hi);
	for (i = 0; i < r->n_sport; i++)
		PROMISE(r->sport[i].lo <= r->sport[i].hi);
}

static void check_plan(const struct resolved_policy *rp)
{
	size_t i;
	int h;

	for (h = 0; h < HOOK_COUNT; h++) {
		const struct hook_plan *plan = &rp->hook[h];

		PROMISE(plan->n_filter <= POLICY_MAX_RULES_PER_HOOK);
		PROMISE(!plan->none || (!plan->n_filter && !plan->n_programs));
		PROMISE(plan->decided_by != CLASS_NONE || (!plan->none && !plan->n_filter));
		for (i = 0; i < plan->n_filter; i++)
			PROMISE(plan->filter[i]->hooks & HOOK_BIT(h));
		for (i = 0; i < plan->n_programs; i++)
			PROMISE(plan->programs[i]->hooks == HOOK_BIT(h));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const alice_groups[] = { "users", "staff", "admins", "g" };
	static const char *const root_groups[] = { "root" };
	static const struct user_info users[] = {
		{ "alice", 1000, alice_groups, 4 },
		{ "root", 0, root_groups, 1 },
		{ "nobody", 4294967294u, NULL, 0 },
	};
	struct cgbpf_error err = { { 0 } };
	struct resolved_policy rp;
	struct policy *p = NULL;
	unsigned int prev = 0;
	size_t i;
	int ret;

	ret = policy_parse((const char *)data, size, "fuzz.conf", &p, &err);
	if (ret < 0) {
		PROMISE(p == NULL);
		PROMISE(!strncmp(err.msg, "fuzz.conf:", 10));
		return 0;
	}
	PROMISE(p != NULL && err.msg[0] == '\0');
	for (i = 0; i < p->n_rules; i++) {
		check_rule(&p->rules[i], prev);
		prev = p->rules[i].line;
	}
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		memset(&err, 0, sizeof(err));
		ret = policy_resolve(p, &users[i], &rp, &err);
		if (ret == 0)
			check_plan(&rp);
		else
			PROMISE(!strncmp(err.msg, "fuzz.conf:", 10));
		resolved_policy_clear(&rp);
	}
	policy_free(p);
	return 0;
}
