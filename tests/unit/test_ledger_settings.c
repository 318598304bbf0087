// SPDX-License-Identifier: GPL-2.0-or-later
/* A sandbox records the settings that made it, and a session with others is refused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ledger.h"
#include "unit.h"

static struct ledger made_with(const char *config, enum placement_kind kind)
{
	struct ledger l = { 0 };

	l.uid = 1000;
	l.user = strdup("tester");
	l.boot_id = strdup("b00t");
	l.cgroup = strdup(kind == PLACEMENT_SYSTEMD ? "user.slice/user-1000.slice"
						    : "pam_cgbpf/user-1000");
	l.cgroup_id = 42;
	l.placement = kind;
	l.config = config ? strdup(config) : NULL;
	l.cgroup_root = config ? strdup("pam_cgbpf") : NULL;
	l.bpffs = config ? strdup("/sys/fs/bpf/pam_cgbpf") : NULL;
	return l;
}

static struct ledger round_trip(const struct ledger *l)
{
	struct ledger m = { 0 };
	struct cgbpf_error err = { { 0 } };
	char *buf = NULL;
	size_t len = 0;

	CHECK(ledger_encode(l, &buf, &len) == 0);
	CHECK(ledger_decode(buf, len, &m, &err) == 0);
	free(buf);
	return m;
}

static void test_settings_round_trip(void)
{
	struct ledger l = made_with("/etc/security/a b%.conf", PLACEMENT_SYSTEMD), m;

	m = round_trip(&l);
	CHECK(m.placement == PLACEMENT_SYSTEMD);
	CHECK(m.config && !strcmp(m.config, "/etc/security/a b%.conf"));
	CHECK(m.cgroup_root && !strcmp(m.cgroup_root, "pam_cgbpf"));
	CHECK(m.bpffs && !strcmp(m.bpffs, "/sys/fs/bpf/pam_cgbpf"));
	CHECK(!strcmp(m.cgroup, "user.slice/user-1000.slice"));
	ledger_clear(&m);
	ledger_clear(&l);
	/* A ledger without the record (written before it existed) decodes with NULLs. */
	l = made_with(NULL, PLACEMENT_OWN);
	m = round_trip(&l);
	CHECK(!m.config && !m.cgroup_root && !m.bpffs);
	CHECK(m.placement == PLACEMENT_OWN);
	ledger_clear(&m);
	ledger_clear(&l);
}

static void test_settings_twice_refused(void)
{
	struct ledger m = { 0 };
	struct cgbpf_error err = { { 0 } };
	struct ledger l = made_with("/a", PLACEMENT_OWN);
	char *buf = NULL, *p;
	size_t len = 0;

	/* The same ledger with its settings line doubled is corrupt. */
	CHECK(ledger_encode(&l, &buf, &len) == 0);
	p = buf ? strstr(buf, "settings ") : NULL;
	CHECK(p != NULL);
	if (p) {
		size_t n = strcspn(p, "\n") + 1, off = (size_t)(p - buf);
		char *twice = malloc(len + n + 1);

		memcpy(twice, buf, off + n);
		memcpy(twice + off + n, p, len - off);
		CHECK(ledger_decode(twice, len + n, &m, &err) < 0);
		free(twice);
	}
	free(buf);
	ledger_clear(&l);
	ledger_clear(&m);
}

static void test_check_settings(void)
{
	struct ledger l = made_with("/etc/security/pam_cgbpf.conf", PLACEMENT_SYSTEMD);
	struct cgbpf_settings s;
	struct cgbpf_error err = { { 0 } };

	settings_init(&s);
	CHECK(ledger_check_settings(&l, &s, PLACEMENT_SYSTEMD, &err) == 0);
	/* placement=auto in the settings is no difference: the chosen kind is what counts. */
	s.placement = PLACEMENT_AUTO;
	CHECK(ledger_check_settings(&l, &s, PLACEMENT_SYSTEMD, &err) == 0);

	/* ssh made it in logind's slice; root's su - tester needs own placement. */
	memset(&err, 0, sizeof(err));
	CHECK(ledger_check_settings(&l, &s, PLACEMENT_OWN, &err) == -EBUSY);
	CHECK_STR_CONTAINS(err.msg, "made with placement=systemd");
	CHECK_STR_CONTAINS(err.msg, "this session has placement=own");
	CHECK_STR_CONTAINS(err.msg, "tester (uid 1000)");

	/* su with config=/etc/su.conf against an ssh sandbox of the default file. */
	memset(&err, 0, sizeof(err));
	s.config = "/etc/su.conf";
	CHECK(ledger_check_settings(&l, &s, PLACEMENT_SYSTEMD, &err) == -EBUSY);
	CHECK_STR_CONTAINS(err.msg, "config=/etc/security/pam_cgbpf.conf");
	CHECK_STR_CONTAINS(err.msg, "config=/etc/su.conf");
	CHECK(strstr(err.msg, "placement=") == NULL); /* only what differs is named */

	memset(&err, 0, sizeof(err));
	settings_init(&s);
	s.bpffs = "/sys/fs/bpf/other";
	CHECK(ledger_check_settings(&l, &s, PLACEMENT_SYSTEMD, &err) == -EBUSY);
	CHECK_STR_CONTAINS(err.msg, "bpffs=/sys/fs/bpf/pam_cgbpf");
	CHECK_STR_CONTAINS(err.msg, "bpffs=/sys/fs/bpf/other");

	memset(&err, 0, sizeof(err));
	settings_init(&s);
	s.cgroup_root = "elsewhere";
	CHECK(ledger_check_settings(&l, &s, PLACEMENT_SYSTEMD, &err) == -EBUSY);
	CHECK_STR_CONTAINS(err.msg, "cgroup_root=pam_cgbpf");
	CHECK_STR_CONTAINS(err.msg, "cgroup_root=elsewhere");
	ledger_clear(&l);

	/* A ledger from before the record: only the placement can be compared. */
	l = made_with(NULL, PLACEMENT_OWN);
	memset(&err, 0, sizeof(err));
	s.config = "/etc/su.conf";
	CHECK(ledger_check_settings(&l, &s, PLACEMENT_OWN, &err) == 0);
	CHECK(ledger_check_settings(&l, &s, PLACEMENT_SYSTEMD, &err) == -EBUSY);
	ledger_clear(&l);
}

int main(void)
{
	RUN_TEST(test_settings_round_trip);
	RUN_TEST(test_settings_twice_refused);
	RUN_TEST(test_check_settings);
	return UNIT_EXIT();
}
