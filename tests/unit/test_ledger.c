// SPDX-License-Identifier: GPL-2.0-or-later
/* The ledger encoding: pure code, no root needed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "unit.h"

static struct ledger sample(void)
{
	struct ledger l = { 0 };
	struct ledger_attach a = { .hook = HOOK_EGRESS,
				   .kind = ATT_FILTER,
				   .ident = "abc",
				   .link = "egress-0",
				   .what = "3 rules",
				   .lines = "2,3,7" };
	struct ledger_session s = { .pid = 4242,
				    .start_time = 123456789,
				    .opened = 1700000000,
				    .origin = "/user.slice/a b%c",
				    .service = "sshd",
				    .tty = NULL,
				    .rhost = "-leading-dash" };

	l.uid = 1001;
	l.user = strdup("alice");
	l.boot_id = strdup("0b1d-2e3f");
	l.cgroup = strdup("pam_cgbpf/user-1001");
	l.cgroup_id = 98765;
	l.next_link = 7;
	ledger_add_attach(&l, &a);
	a.hook = HOOK_SOCK_CREATE;
	a.kind = ATT_PROGRAM;
	a.ident = "deadbeef:prog";
	a.link = "sock_create-1";
	a.what = "";
	a.lines = NULL;
	ledger_add_attach(&l, &a);
	ledger_add_session(&l, &s);
	s.pid = 4343;
	s.tty = "pts/1";
	s.rhost = "";
	ledger_add_session(&l, &s);
	return l;
}

static void test_round_trip(void)
{
	struct ledger l = sample(), m = { 0 };
	struct cgbpf_error err = { { 0 } };
	char *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;

	CHECK(ledger_encode(&l, &buf, &len) == 0);
	CHECK(ledger_decode(buf, len, &m, &err) == 0);
	CHECK(m.uid == 1001 && m.cgroup_id == 98765 && m.next_link == 7);
	CHECK(!strcmp(m.user, "alice") && !strcmp(m.boot_id, "0b1d-2e3f"));
	CHECK(m.n_att == 2 && m.n_ses == 2);
	CHECK(m.n_att == 2 && m.att[1].hook == HOOK_SOCK_CREATE && m.att[1].kind == ATT_PROGRAM);
	CHECK(m.n_att == 2 && !strcmp(m.att[0].lines, "2,3,7") && m.att[1].lines == NULL);
	CHECK(m.n_att == 2 && !strcmp(m.att[1].ident, "deadbeef:prog") &&
	      !strcmp(m.att[1].what, ""));
	CHECK(m.n_ses == 2 && !strcmp(m.ses[0].origin, "/user.slice/a b%c"));
	CHECK(m.n_ses == 2 && m.ses[0].tty == NULL && !strcmp(m.ses[0].rhost, "-leading-dash"));
	CHECK(m.n_ses == 2 && !strcmp(m.ses[1].rhost, "") && m.ses[1].start_time == 123456789);
	/* Encoding what was decoded gives the same bytes. */
	CHECK(ledger_encode(&m, &buf2, &len2) == 0);
	CHECK(len == len2 && !memcmp(buf, buf2, len));
	CHECK(ledger_find_session(&m, 4343, 123456789) == 1);
	CHECK(ledger_find_session(&m, 4343, 1) == -1);
	ledger_remove_session(&m, 0);
	CHECK(m.n_ses == 1 && m.ses[0].pid == 4343);
	ledger_remove_attach(&m, 0);
	CHECK(m.n_att == 1 && !strcmp(m.att[0].link, "sock_create-1"));
	free(buf);
	free(buf2);
	ledger_clear(&l);
	ledger_clear(&m);
	CHECK(m.att == NULL && m.n_ses == 0);
}

static void test_corrupt_refused(void)
{
	static const char *const bad[] = {
		"",
		"not a ledger\n",
		"pam_cgbpf-ledger 1\nuid 1\n", /* no end, no cgroup */
		"pam_cgbpf-ledger 1\nuid 1\nuser a\nboot b\ncgroup c 1\nnext_link 0\nbogus\nend\n",
		"pam_cgbpf-ledger 1\nuid x\nuser a\nboot b\ncgroup c 1\nend\n",
		"pam_cgbpf-ledger 1\nuid 1\nuser a\nboot b\ncgroup c 1\nsession 0 1 2 - - - "
		"-\nend\n",
		"pam_cgbpf-ledger 1\nuid 1\nuser a\nboot b\ncgroup c 1\nattach nohook filter a b "
		"c\nend\n",
		"pam_cgbpf-ledger 1\nuid 1\nuser a%0\nboot b\ncgroup c 1\nend\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cgbpf_error err = { { 0 } };
		struct ledger m = { 0 };

		CHECK(ledger_decode(bad[i], strlen(bad[i]), &m, &err) == -EINVAL);
		CHECK(m.user == NULL && m.n_ses == 0);
		if (i > 0)
			CHECK_STR_CONTAINS(err.msg, "line");
	}
}

/* A rewrite that was cut between pwrite and ftruncate leaves old bytes after "end". */
static void test_tail_after_end_ignored(void)
{
	struct ledger l = sample(), m = { 0 };
	struct cgbpf_error err = { { 0 } };
	char *buf = NULL, *longer;
	size_t len = 0;

	CHECK(ledger_encode(&l, &buf, &len) == 0);
	longer = malloc(len + 64);
	CHECK(longer != NULL);
	if (buf && longer) {
		const char *tail = "session 1 2 3 - - - -\nend\n";

		memcpy(longer, buf, len);
		memcpy(longer + len, tail, strlen(tail));
		CHECK(ledger_decode(longer, len + strlen(tail), &m, &err) == 0);
		CHECK(m.n_ses == 2 && m.n_att == 2);
	}
	free(longer);
	free(buf);
	ledger_clear(&l);
	ledger_clear(&m);
}

/* The placement is recorded; a ledger written before placements existed is own. */
static void test_placement_recorded(void)
{
	struct cgbpf_error err = { { 0 } };
	struct ledger l = sample(), m = { 0 };
	char *buf = NULL, *cut;
	size_t len = 0;

	l.placement = PLACEMENT_SYSTEMD;
	CHECK(ledger_encode(&l, &buf, &len) == 0);
	CHECK(buf && strstr(buf, "\nplacement systemd\n"));
	CHECK(ledger_decode(buf, len, &m, &err) == 0);
	CHECK(m.placement == PLACEMENT_SYSTEMD);
	ledger_clear(&m);
	cut = buf ? strstr(buf, "placement systemd\n") : NULL;
	if (cut) {
		size_t skip = strlen("placement systemd\n");

		memmove(cut, cut + skip, len - (size_t)(cut - buf) - skip);
		len -= skip;
		CHECK(ledger_decode(buf, len, &m, &err) == 0);
		CHECK(m.placement == PLACEMENT_OWN);
		ledger_clear(&m);
	}
	free(buf);
	ledger_clear(&l);
}

int main(void)
{
	RUN_TEST(test_round_trip);
	RUN_TEST(test_corrupt_refused);
	RUN_TEST(test_tail_after_end_ignored);
	RUN_TEST(test_placement_recorded);
	return UNIT_EXIT();
}
