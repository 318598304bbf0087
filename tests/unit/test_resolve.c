// SPDX-License-Identifier: GPL-2.0-or-later
/* Policy resolution: which class decides each hook, and what it hands over. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "resolve.h"
#include "unit.h"

static struct policy *load(const char *text)
{
	struct cgbpf_error err = { { 0 } };
	struct policy *p = NULL;

	if (policy_parse(text, strlen(text), "r.conf", &p, &err) < 0)
		printf("  unexpected parse error: %s\n", err.msg);
	CHECK(p != NULL);
	return p;
}

static int resolve(const struct policy *p, const char *name, uint32_t uid,
		   const char *const *groups, size_t n_groups, struct resolved_policy *rp,
		   struct cgbpf_error *err)
{
	struct user_info u = { .name = name, .uid = uid, .groups = groups, .n_groups = n_groups };

	memset(err, 0, sizeof(*err));
	return policy_resolve(p, &u, rp, err);
}

/* Lines of @plan's filter rules (then programs) as "l1,l2;l3", for compact checks. */
static const char *lines_of(const struct hook_plan *plan)
{
	static char buf[256];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < plan->n_filter; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u", i ? "," : "",
				      plan->filter[i]->line);
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, ";");
	for (i = 0; i < plan->n_programs; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u", i ? "," : "",
				      plan->programs[i]->line);
	return buf;
}

#define CHECK_PLAN(rp, which, cls, want)                                                           \
	do {                                                                                       \
		CHECK((rp).hook[which].decided_by == (cls));                                       \
		CHECK(strcmp(lines_of(&(rp).hook[which]), (want)) == 0);                           \
		if (strcmp(lines_of(&(rp).hook[which]), (want)))                                   \
			printf("  %s: got \"%s\", want \"%s\"\n", hook_name(which),                \
			       lines_of(&(rp).hook[which]), (want));                               \
	} while (0)

static const char order_policy[] = "*         egress      deny\n"		/* 1 */
				   "1000-     egress      allow\n"		/* 2 */
				   "@staff    egress      allow proto=tcp\n"	/* 3 */
				   "alice     egress      allow dport=22\n"	/* 4 */
				   "*         ingress     deny\n"		/* 5 */
				   "@staff    ingress     allow\n"		/* 6 */
				   "1000-1999 sock_create deny type=raw\n"	/* 7 */
				   "*         sock_create deny\n"		/* 8 */
				   "ghost     *           deny\n"		/* 9 */
				   "@ghosts   *           deny\n"		/* 10 */
				   "@alice    egress      deny\n"		/* 11 */
				   "1000      sock_create allow family=inet\n"; /* 12 */

/* User beats group beats uid range beats *, for each hook on its own. */
static void test_class_order(void)
{
	const char *alice_groups[] = { "users", "staff" };
	const char *bob_groups[] = { "users" };
	const char *carol_groups[] = { "staff" };
	const char *root_groups[] = { "root" };
	struct policy *p = load(order_policy);
	struct resolved_policy rp;
	struct cgbpf_error err;

	if (!p)
		return;
	CHECK(resolve(p, "alice", 1000, alice_groups, 2, &rp, &err) == 0);
	CHECK_PLAN(rp, HOOK_EGRESS, CLASS_USER, "4;");
	CHECK_PLAN(rp, HOOK_INGRESS, CLASS_GROUP, "6;");
	CHECK_PLAN(rp, HOOK_SOCK_CREATE, CLASS_UID_RANGE, "7,12;");
	CHECK(resolved_policy_sandboxes(&rp));
	CHECK(!rp.hook[HOOK_EGRESS].none);
	CHECK(rp.hook[HOOK_EGRESS].filter[0]->action == ACT_ALLOW);
	resolved_policy_clear(&rp);

	CHECK(resolve(p, "bob", 1001, bob_groups, 1, &rp, &err) == 0);
	CHECK_PLAN(rp, HOOK_EGRESS, CLASS_UID_RANGE, "2;");
	CHECK_PLAN(rp, HOOK_INGRESS, CLASS_ANY, "5;");
	CHECK_PLAN(rp, HOOK_SOCK_CREATE, CLASS_UID_RANGE, "7;");
	resolved_policy_clear(&rp);

	CHECK(resolve(p, "carol", 5000, carol_groups, 1, &rp, &err) == 0);
	CHECK_PLAN(rp, HOOK_EGRESS, CLASS_GROUP, "3;");
	CHECK_PLAN(rp, HOOK_INGRESS, CLASS_GROUP, "6;");
	CHECK_PLAN(rp, HOOK_SOCK_CREATE, CLASS_ANY, "8;");
	resolved_policy_clear(&rp);

	/* A user whose name is a group's name is not in that group. */
	CHECK(resolve(p, "root", 0, root_groups, 1, &rp, &err) == 0);
	CHECK_PLAN(rp, HOOK_EGRESS, CLASS_ANY, "1;");
	CHECK_PLAN(rp, HOOK_INGRESS, CLASS_ANY, "5;");
	CHECK_PLAN(rp, HOOK_SOCK_CREATE, CLASS_ANY, "8;");
	resolved_policy_clear(&rp);

	/* No groups at all, and the highest uid. */
	CHECK(resolve(p, "dave", 4294967294u, NULL, 0, &rp, &err) == 0);
	CHECK_PLAN(rp, HOOK_EGRESS, CLASS_UID_RANGE, "2;");
	CHECK_PLAN(rp, HOOK_SOCK_CREATE, CLASS_ANY, "8;");
	resolved_policy_clear(&rp);
	policy_free(p);
}

/* Within the deciding class: file order, filter rules and programs apart, several groups merged. */
static void test_file_order_and_split(void)
{
	const char *groups[] = { "a", "b", "c" };
	struct policy *p = load("alice egress allow daddr=1.1.1.1\n"  /* 1 */
				"alice egress program /a.o\n"	      /* 2 */
				"alice egress deny\n"		      /* 3 */
				"alice egress pinned /sys/fs/bpf/p\n" /* 4 */
				"alice ingress allow\n"		      /* 5 */
				"@a sock_create allow type=stream\n"  /* 6 */
				"@z sock_create deny\n"		      /* 7 */
				"@b sock_create deny type=raw\n"      /* 8 */
				"@a sock_create program /s.o:f\n"     /* 9 */
				"@c * deny\n"			      /* 10 */
				"-999 egress deny\n"		      /* 11 */
				"500-2000 egress allow\n");	      /* 12 */
	struct resolved_policy rp;
	struct cgbpf_error err;

	if (!p)
		return;
	CHECK(resolve(p, "alice", 1000, groups, 3, &rp, &err) == 0);
	CHECK_PLAN(rp, HOOK_EGRESS, CLASS_USER, "1,3;2,4");
	CHECK_PLAN(rp, HOOK_INGRESS, CLASS_USER, "5;");
	CHECK_PLAN(rp, HOOK_SOCK_CREATE, CLASS_GROUP, "6,8,10;9");
	CHECK(rp.hook[HOOK_EGRESS].programs[0]->action == ACT_PROGRAM);
	CHECK(rp.hook[HOOK_EGRESS].programs[1]->action == ACT_PINNED);
	CHECK(rp.hook[HOOK_EGRESS].filter[1]->action == ACT_DENY);
	resolved_policy_clear(&rp);

	/* Two overlapping ranges both belong to the uid range class. */
	CHECK(resolve(p, "eve", 700, NULL, 0, &rp, &err) == 0);
	CHECK_PLAN(rp, HOOK_EGRESS, CLASS_UID_RANGE, "11,12;");
	CHECK_PLAN(rp, HOOK_INGRESS, CLASS_NONE, ";");
	CHECK_PLAN(rp, HOOK_SOCK_CREATE, CLASS_NONE, ";");
	CHECK(resolved_policy_sandboxes(&rp));
	resolved_policy_clear(&rp);

	CHECK(resolve(p, "frank", 1500, NULL, 0, &rp, &err) == 0);
	CHECK_PLAN(rp, HOOK_EGRESS, CLASS_UID_RANGE, "12;");
	resolved_policy_clear(&rp);
	policy_free(p);
}

/* Names that exist nowhere simply never match; nothing matches at all means no sandbox. */
static void test_no_match(void)
{
	struct policy *p = load("ghost * deny\n@ghosts * deny\n2000-2999 * deny\n");
	const char *groups[] = { "users" };
	struct resolved_policy rp;
	struct cgbpf_error err;
	int h;

	if (!p)
		return;
	CHECK(resolve(p, "alice", 1000, groups, 1, &rp, &err) == 0);
	for (h = 0; h < HOOK_COUNT; h++) {
		CHECK_PLAN(rp, h, CLASS_NONE, ";");
		CHECK(!rp.hook[h].none && !rp.hook[h].filter && !rp.hook[h].programs);
	}
	CHECK(!resolved_policy_sandboxes(&rp));
	CHECK(err.msg[0] == '\0');
	resolved_policy_clear(&rp);
	resolved_policy_clear(&rp);
	policy_free(p);

	p = load("");
	if (!p)
		return;
	CHECK(resolve(p, NULL, 0, NULL, 0, &rp, &err) == 0);
	CHECK(!resolved_policy_sandboxes(&rp));
	resolved_policy_clear(&rp);
	policy_free(p);

	memset(&rp, 0, sizeof(rp));
	resolved_policy_clear(&rp);
	CHECK(rp.hook[HOOK_EGRESS].decided_by == CLASS_NONE);
}

static void test_none(void)
{
	const char *admins[] = { "admins" };
	struct policy *p = load("root * none\n"
				"@admins egress none\n"
				"* egress deny\n"
				"* ingress program /i.o\n"
				"* connect4 program /c4.o\n"
				"* bind6 pinned /sys/fs/bpf/b6\n");
	struct resolved_policy rp;
	struct cgbpf_error err;
	int h;

	if (!p)
		return;
	CHECK(resolve(p, "root", 0, NULL, 0, &rp, &err) == 0);
	/* '*' on a none line is every hook, the socket-address hooks too. */
	for (h = 0; h < HOOK_COUNT; h++) {
		CHECK_PLAN(rp, h, CLASS_USER, ";");
		CHECK(rp.hook[h].none);
		CHECK(!rp.hook[h].filter && !rp.hook[h].programs);
	}
	CHECK(!resolved_policy_sandboxes(&rp));
	resolved_policy_clear(&rp);

	/* "none" decides egress only; ingress and connect4 still get the programs. */
	CHECK(resolve(p, "ann", 1000, admins, 1, &rp, &err) == 0);
	CHECK_PLAN(rp, HOOK_EGRESS, CLASS_GROUP, ";");
	CHECK(rp.hook[HOOK_EGRESS].none);
	CHECK_PLAN(rp, HOOK_INGRESS, CLASS_ANY, ";4");
	CHECK(!rp.hook[HOOK_INGRESS].none);
	CHECK_PLAN(rp, HOOK_CONNECT4, CLASS_ANY, ";5");
	CHECK_PLAN(rp, HOOK_BIND6, CLASS_ANY, ";6");
	CHECK_PLAN(rp, HOOK_SOCK_CREATE, CLASS_NONE, ";");
	CHECK(resolved_policy_sandboxes(&rp));
	resolved_policy_clear(&rp);

	CHECK(resolve(p, "bob", 1001, NULL, 0, &rp, &err) == 0);
	CHECK_PLAN(rp, HOOK_EGRESS, CLASS_ANY, "3;");
	CHECK(resolved_policy_sandboxes(&rp));
	resolved_policy_clear(&rp);
	policy_free(p);
}

/* The parser cannot see these: they mix only for a user in both groups or both ranges. */
static void test_none_mixed(void)
{
	const char *ab[] = { "a", "b" }, *a[] = { "a" }, *ba[] = { "b", "a" };
	struct policy *p = load("@a egress none\n"
				"@b egress allow\n"
				"@c egress none\n"
				"1000-1999 ingress none\n"
				"#\n"
				"1500 ingress program /x.o\n");
	struct resolved_policy rp;
	struct cgbpf_error err;
	int h;

	if (!p)
		return;
	CHECK(resolve(p, "u", 5000, ab, 2, &rp, &err) == -EINVAL);
	CHECK(strcmp(err.msg, "r.conf:2: none mixed with other rules for hook egress (line 1)") ==
	      0);
	for (h = 0; h < HOOK_COUNT; h++)
		CHECK(!rp.hook[h].filter && !rp.hook[h].programs && !rp.hook[h].n_filter);
	resolved_policy_clear(&rp);

	/* The order of the user's groups does not matter; the file's order does. */
	CHECK(resolve(p, "u", 5000, ba, 2, &rp, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "r.conf:2: none mixed");

	CHECK(resolve(p, "u", 5000, a, 1, &rp, &err) == 0);
	CHECK(rp.hook[HOOK_EGRESS].none);
	resolved_policy_clear(&rp);

	CHECK(resolve(p, "u", 1500, NULL, 0, &rp, &err) == -EINVAL);
	CHECK(strcmp(err.msg, "r.conf:6: none mixed with other rules for hook ingress (line 4)") ==
	      0);

	CHECK(resolve(p, "u", 1000, NULL, 0, &rp, &err) == 0);
	CHECK(rp.hook[HOOK_INGRESS].none);
	resolved_policy_clear(&rp);
	policy_free(p);

	/* Reported at the later line whichever kind comes first; two nones agree. */
	p = load("@b egress allow\n@b egress deny\n@a egress none\n@c egress none\n");
	if (!p)
		return;
	CHECK(resolve(p, "u", 5000, ab, 2, &rp, &err) == -EINVAL);
	CHECK(strcmp(err.msg, "r.conf:3: none mixed with other rules for hook egress (line 1)") ==
	      0);
	{
		const char *ac[] = { "a", "c" };

		CHECK(resolve(p, "u", 5000, ac, 2, &rp, &err) == 0);
		CHECK(rp.hook[HOOK_EGRESS].none && rp.hook[HOOK_EGRESS].decided_by == CLASS_GROUP);
		resolved_policy_clear(&rp);
	}
	policy_free(p);
}

/* The parser caps each group's list; two groups together can still exceed it. */
static void test_filter_limit(void)
{
	const char *ab[] = { "a", "b" }, *a[] = { "a" };
	size_t cap = 64 << 10, o = 0;
	char *text = malloc(cap);
	struct resolved_policy rp;
	struct cgbpf_error err;
	struct policy *p;
	int i;

	CHECK(text != NULL);
	if (!text)
		return;
	for (i = 0; i < 200; i++)
		o += (size_t)snprintf(text + o, cap - o, "@a egress deny dport=%d\n", i);
	for (i = 0; i < 200; i++)
		o += (size_t)snprintf(text + o, cap - o, "@b * allow proto=%d\n", i);
	p = load(text);
	free(text);
	if (!p)
		return;
	CHECK(resolve(p, "u", 1, ab, 2, &rp, &err) == -E2BIG);
	CHECK(strcmp(err.msg, "r.conf:257: more than 256 allow/deny rules for hook egress") == 0);
	CHECK(rp.hook[HOOK_EGRESS].filter == NULL);

	CHECK(resolve(p, "u", 1, a, 1, &rp, &err) == 0);
	CHECK(rp.hook[HOOK_EGRESS].n_filter == 200);
	CHECK(rp.hook[HOOK_EGRESS].filter[199]->line == 200);
	resolved_policy_clear(&rp);
	policy_free(p);
}

int main(void)
{
	RUN_TEST(test_class_order);
	RUN_TEST(test_file_order_and_split);
	RUN_TEST(test_no_match);
	RUN_TEST(test_none);
	RUN_TEST(test_none_mixed);
	RUN_TEST(test_filter_limit);
	return UNIT_EXIT();
}
