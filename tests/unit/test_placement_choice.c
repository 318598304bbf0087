// SPDX-License-Identifier: GPL-2.0-or-later
/* The rules of INTERFACE.md §4a: where a caller sits under logind, and which placement it gets. */
#include <errno.h>
#include <string.h>

#include "placement_choice.h"
#include "unit.h"

/* /proc/self/cgroup inside the systemd-nspawn test host (hybrid cgroups on the machine). */
static const char hybrid[] = "9:name=systemd:/\n8:pids:/\n4:memory:/\n1:cpu:/\n"
			     "0::/user.slice/user-1000.slice/session-3.scope\n";

static void test_proc_cgroup_v2_path(void)
{
	char buf[256];

	CHECK(proc_cgroup_v2_path(hybrid, strlen(hybrid), buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, "/user.slice/user-1000.slice/session-3.scope"));
	/* Pure cgroup2, no trailing newline. */
	CHECK(proc_cgroup_v2_path("0::/system.slice/ssh.service", 28, buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, "/system.slice/ssh.service"));
	/* Only v1 lines: no unified path. */
	CHECK(proc_cgroup_v2_path("1:name=systemd:/x\n", 18, buf, sizeof(buf)) == -ENOENT);
	CHECK(proc_cgroup_v2_path("", 0, buf, sizeof(buf)) == -ENOENT);
	/* A v1 line ending in "0::" is no v2 line. */
	CHECK(proc_cgroup_v2_path("10::/x\n", 7, buf, sizeof(buf)) == -ENOENT);
	CHECK(proc_cgroup_v2_path(hybrid, strlen(hybrid), buf, 10) == -ENAMETOOLONG);
	/* The length is honoured: nothing after it is read. */
	CHECK(proc_cgroup_v2_path("0::/a\n0::/b", 5, buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, "/a"));
}

static void test_classify_own_scope(void)
{
	struct logind_where w;

	logind_classify("/user.slice/user-1000.slice/session-3.scope", 1000, &w);
	CHECK(w.seat == LOGIND_USER_SCOPE);
	CHECK(w.scope_uid == 1000);
	CHECK(!strcmp(w.session, "3"));
	CHECK(!strcmp(w.slice_rel, "user.slice/user-1000.slice"));
	/* Non-audit session ids look like c1. */
	logind_classify("/user.slice/user-0.slice/session-c12.scope", 0, &w);
	CHECK(w.seat == LOGIND_USER_SCOPE);
	CHECK(!strcmp(w.session, "c12"));
	CHECK(!strcmp(w.slice_rel, "user.slice/user-0.slice"));
	/* systemd in a container without a cgroup namespace: the tree has a prefix. */
	logind_classify("/machine.slice/m.scope/payload/user.slice/user-7.slice/session-9.scope", 7,
			&w);
	CHECK(w.seat == LOGIND_USER_SCOPE);
	CHECK(!strcmp(w.slice_rel, "machine.slice/m.scope/payload/user.slice/user-7.slice"));
}

static void test_classify_other_scope(void)
{
	struct logind_where w;

	/* root runs su - bob from its own ssh session. */
	logind_classify("/user.slice/user-0.slice/session-5.scope", 1000, &w);
	CHECK(w.seat == LOGIND_OTHER_SCOPE);
	CHECK(w.scope_uid == 0);
	CHECK(!strcmp(w.slice_rel, "user.slice/user-0.slice"));
	logind_classify("/user.slice/user-1001.slice/session-5.scope", 1000, &w);
	CHECK(w.seat == LOGIND_OTHER_SCOPE);
	CHECK(w.scope_uid == 1001);
}

static void test_classify_no_scope(void)
{
	static const char *const none[] = {
		"/",
		"/system.slice/ssh.service",			 /* before pam_systemd */
		"/system.slice/cron.service",			 /* cron: no pam_systemd */
		"/user.slice/user-1000.slice",			 /* the slice itself */
		"/user.slice/user-1000.slice/user@1000.service", /* the user's manager */
		"/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope",
		"/user.slice/user-1000.slice/session-3.scope/sub", /* below a scope */
		"/pam_cgbpf/user-1000",				   /* own placement */
		"/../../..",					   /* nsenter from outside */
		"/other.slice/user-1000.slice/session-3.scope",
		"/user.slice/user-01000.slice/session-3.scope",	     /* leading zero */
		"/user.slice/user-4294967296.slice/session-3.scope", /* > 32 bits */
		"/user.slice/user-.slice/session-3.scope",
		"/user.slice/user-1000.slice/session-.scope",
		"/user.slice/user-1000.slice/session-3.scope/",
		"/user.slice/user-1000.slice/session-a-b.scope",
		"/user.slice/user-1000.slice//session-3.scope",
		"/user.slice/user-1x.slice/session-3.scope",
		"user.slice/user-1000.slice/session-3.scope", /* not absolute */
		"/session-3.scope",
		"/user-1000.slice/session-3.scope",
		"",
	};

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		struct logind_where w;

		logind_classify(none[i], 1000, &w);
		if (w.seat != LOGIND_NO_SCOPE)
			printf("  misclassified: \"%s\"\n", none[i]);
		CHECK(w.seat == LOGIND_NO_SCOPE);
		CHECK(w.slice_rel[0] == '\0');
	}
}

static void test_names(void)
{
	char buf[32];

	CHECK(logind_slice_name(1000, buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, "user-1000.slice"));
	CHECK(logind_slice_name(4294967295u, buf, 8) == -ENAMETOOLONG);
	CHECK(logind_is_session_scope("session-74.scope"));
	CHECK(logind_is_session_scope("session-c1.scope"));
	CHECK(!logind_is_session_scope("session-.scope"));
	CHECK(!logind_is_session_scope("user@1000.service"));
	CHECK(!logind_is_session_scope("session-1.scope.x"));
	CHECK(!strcmp(placement_kind_name(PLACEMENT_OWN), "own"));
	CHECK(!strcmp(placement_kind_name(PLACEMENT_SYSTEMD), "systemd"));
	CHECK(!strcmp(placement_kind_name(PLACEMENT_AUTO), "auto"));
}

/* placement_choose for one case; returns its code, *out AUTO when refused. */
static int choose(enum placement_kind setting, bool systemd, const char *cg, uint32_t uid,
		  enum placement_kind *out, struct cgbpf_error *err)
{
	struct logind_where w;

	memset(err, 0, sizeof(*err));
	*out = PLACEMENT_AUTO;
	logind_classify(cg, uid, &w);
	return placement_choose(setting, systemd, &w, "tester", cg, out, err);
}

static void test_choose_auto(void)
{
	struct cgbpf_error err;
	enum placement_kind k;

	/* In its own session scope: logind's slice. */
	CHECK(choose(PLACEMENT_AUTO, true, "/user.slice/user-1000.slice/session-3.scope", 1000, &k,
		     &err) == 0);
	CHECK(k == PLACEMENT_SYSTEMD);
	/* su - tester from root's session: only the su'd tree moves, to our own cgroup. */
	CHECK(choose(PLACEMENT_AUTO, true, "/user.slice/user-0.slice/session-5.scope", 1000, &k,
		     &err) == 0);
	CHECK(k == PLACEMENT_OWN);
	/* No systemd: own, wherever the caller is. */
	CHECK(choose(PLACEMENT_AUTO, false, "/", 1000, &k, &err) == 0);
	CHECK(k == PLACEMENT_OWN);
	CHECK(choose(PLACEMENT_AUTO, false, "/user.slice/user-1000.slice/session-3.scope", 1000, &k,
		     &err) == 0);
	CHECK(k == PLACEMENT_OWN);
	/* systemd runs but no session scope: before pam_systemd, cron, user@.service. */
	CHECK(choose(PLACEMENT_AUTO, true, "/system.slice/ssh.service", 1000, &k, &err) == -EPERM);
	CHECK(k == PLACEMENT_AUTO);
	CHECK_STR_CONTAINS(err.msg, "pam_systemd");
	CHECK_STR_CONTAINS(err.msg, "tester");
	CHECK_STR_CONTAINS(err.msg, "/system.slice/ssh.service");
	CHECK(choose(PLACEMENT_AUTO, true, "/user.slice/user-1000.slice/user@1000.service", 1000,
		     &k, &err) == -EPERM);
	CHECK_STR_CONTAINS(err.msg, "placement=own");
}

static void test_choose_explicit(void)
{
	struct cgbpf_error err;
	enum placement_kind k;

	/* own is always honoured. */
	CHECK(choose(PLACEMENT_OWN, true, "/user.slice/user-1000.slice/session-3.scope", 1000, &k,
		     &err) == 0);
	CHECK(k == PLACEMENT_OWN);
	CHECK(choose(PLACEMENT_OWN, true, "/system.slice/cron.service", 1000, &k, &err) == 0);
	CHECK(k == PLACEMENT_OWN);
	/* systemd needs the user's own scope: another user's scope is refused too. */
	CHECK(choose(PLACEMENT_SYSTEMD, true, "/user.slice/user-1000.slice/session-3.scope", 1000,
		     &k, &err) == 0);
	CHECK(k == PLACEMENT_SYSTEMD);
	CHECK(choose(PLACEMENT_SYSTEMD, true, "/user.slice/user-0.slice/session-5.scope", 1000, &k,
		     &err) == -EPERM);
	CHECK_STR_CONTAINS(err.msg, "pam_systemd");
	CHECK(choose(PLACEMENT_SYSTEMD, false, "/", 1000, &k, &err) == -EPERM);
	CHECK_STR_CONTAINS(err.msg, "systemd is not running");
}

int main(void)
{
	RUN_TEST(test_proc_cgroup_v2_path);
	RUN_TEST(test_classify_own_scope);
	RUN_TEST(test_classify_other_scope);
	RUN_TEST(test_classify_no_scope);
	RUN_TEST(test_names);
	RUN_TEST(test_choose_auto);
	RUN_TEST(test_choose_explicit);
	return UNIT_EXIT();
}
