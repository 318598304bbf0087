// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The path layout: layout_join fills the whole of LAYOUT_PATH_MAX but never
 * cuts a path, and the formatted names keep their shape.
 */
#include <errno.h>
#include <string.h>

#include "layout.h"
#include "unit.h"

static char a[LAYOUT_PATH_MAX + 8], b[LAYOUT_PATH_MAX + 8], out[LAYOUT_PATH_MAX];

static void fill(char *s, size_t n, char c)
{
	memset(s, c, n);
	s[n] = '\0';
}

static void test_join(void)
{
	CHECK(layout_join(out, "/sys/fs/bpf/pam_cgbpf", "user-1000") == 0);
	CHECK(!strcmp(out, "/sys/fs/bpf/pam_cgbpf/user-1000"));
	CHECK(layout_join(out, "/x", "") == 0);
	CHECK(!strcmp(out, "/x/"));
	CHECK(layout_join(out, "", "y") == 0);
	CHECK(!strcmp(out, "/y"));
}

/* The longest that fits: a, '/', b and the NUL are exactly LAYOUT_PATH_MAX. */
static void test_join_limit(void)
{
	size_t la = 1000, lb = LAYOUT_PATH_MAX - 1 - la - 1;

	fill(a, la, 'a');
	fill(b, lb, 'b');
	CHECK(layout_join(out, a, b) == 0);
	CHECK(strlen(out) == LAYOUT_PATH_MAX - 1);
	CHECK(out[la] == '/' && out[la + 1] == 'b' && out[LAYOUT_PATH_MAX - 2] == 'b');

	/* One more byte: refused, and nothing half-written is left to use. */
	fill(b, lb + 1, 'b');
	memset(out, 'z', sizeof(out));
	CHECK(layout_join(out, a, b) == -ENAMETOOLONG);
	CHECK(out[0] == '\0');
	fill(a, LAYOUT_PATH_MAX, 'a');
	CHECK(layout_join(out, a, "") == -ENAMETOOLONG);
	CHECK(out[0] == '\0');
}

static void test_names(void)
{
	struct cgbpf_settings s = { 0 };

	s.bpffs = "/sys/fs/bpf/pam_cgbpf";
	s.cgroup_root = "pam_cgbpf";
	CHECK(layout_pin_dir(out, &s, 1000) == 0);
	CHECK(!strcmp(out, "/sys/fs/bpf/pam_cgbpf/user-1000"));
	CHECK(layout_pin(out, &s, 1000, "egress-1") == 0);
	CHECK(!strcmp(out, "/sys/fs/bpf/pam_cgbpf/user-1000/egress-1"));
	CHECK(layout_user_cgroup(out, &s, 4294967295u) == 0);
	CHECK(!strcmp(out, "pam_cgbpf/user-4294967295"));
	CHECK(layout_shared_dir(out, &s) == 0);
	CHECK(!strcmp(out, "/sys/fs/bpf/pam_cgbpf/shared"));
	CHECK(layout_ledger(out, "/run/pam_cgbpf", 7) == 0);
	CHECK_STR_CONTAINS(out, "/run/pam_cgbpf/user-7");
}

static void test_below(void)
{
	const char *p = "/sys/fs/bpf/x/user-1/egress-0";

	CHECK(layout_below("/sys/fs/bpf/x", p) &&
	      !strcmp(layout_below("/sys/fs/bpf/x", p), "user-1/egress-0"));
	CHECK(!layout_below("/sys/fs/bpf/x/", p)); /* the dir is as the settings give it */
	CHECK(!layout_below("/sys/fs/bpf/xy", p));
	CHECK(!layout_below("/sys/fs/bpf/x/user-1/egress-0", p)); /* nothing below */
	CHECK(!layout_below("", p));
	/* An absolute rest would be resolved from /, not from the directory's fd. */
	CHECK(!layout_below("/sys/fs/bpf/x", "/sys/fs/bpf/x//etc/passwd"));
}

/* A shared entry is named by the whole identity or not at all. */
static void test_shared_entry_never_cut(void)
{
	struct cgbpf_settings s = { 0 };
	char ident[400];

	s.bpffs = "/sys/fs/bpf/pam_cgbpf";
	fill(ident, 255, 'a');
	CHECK(layout_shared_entry(out, &s, ATT_PROGRAM, ident) == 0);
	CHECK(strlen(out) > 255);
	fill(ident, 256, 'a');
	CHECK(layout_shared_entry(out, &s, ATT_PROGRAM, ident) == -ENAMETOOLONG);
	CHECK(out[0] == '\0');
	memcpy(ident, "abc:def", 8);
	CHECK(layout_shared_entry(out, &s, ATT_FILTER, ident) == 0);
	CHECK_STR_CONTAINS(out, "/shared/");
	CHECK_STR_CONTAINS(out, "-abc-def");
}

int main(void)
{
	RUN_TEST(test_join);
	RUN_TEST(test_join_limit);
	RUN_TEST(test_names);
	RUN_TEST(test_below);
	RUN_TEST(test_shared_entry_never_cut);
	return UNIT_EXIT();
}
