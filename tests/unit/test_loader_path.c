// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Where the module looks for its loader (cgbpf_loader_path): beside itself, and never relative
 * to the current directory.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "error.h"
#include "loader.h"
#include "unit.h"

static void test_beside_the_module(void)
{
	struct cgbpf_error err = { { 0 } };
	char buf[PATH_MAX];

	CHECK(cgbpf_loader_path("/lib/security/pam_cgbpf.so", buf, sizeof(buf), &err) == 0);
	CHECK(strcmp(buf, "/lib/security/pam_cgbpf/loader.so") == 0);
	CHECK(cgbpf_loader_path("/pam_cgbpf.so", buf, sizeof(buf), &err) == 0);
	CHECK(strcmp(buf, "/pam_cgbpf/loader.so") == 0);
	CHECK(err.msg[0] == '\0');
}

/* A bare name, a relative path or none at all (dladdr's name for a program can be ""). */
static void test_refuses_a_relative_module_path(void)
{
	static const char *const paths[] = { "pam_cgbpf.so", "build/pam_cgbpf.so", "./pam_cgbpf.so",
					     "" };
	char buf[PATH_MAX];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct cgbpf_error err = { { 0 } };

		memset(buf, 0, sizeof(buf));
		CHECK(cgbpf_loader_path(paths[i], buf, sizeof(buf), &err) == -EINVAL);
		CHECK_STR_CONTAINS(err.msg, "refusing to look for the BPF loader");
		CHECK_STR_CONTAINS(err.msg, "relative to the current directory");
		CHECK(buf[0] == '\0');
	}
}

static void test_too_long(void)
{
	struct cgbpf_error err = { { 0 } };
	char buf[24];

	CHECK(cgbpf_loader_path("/lib/security/pam_cgbpf.so", buf, sizeof(buf), &err) ==
	      -ENAMETOOLONG);
	CHECK_STR_CONTAINS(err.msg, "too long");
}

int main(void)
{
	RUN_TEST(test_beside_the_module);
	RUN_TEST(test_refuses_a_relative_module_path);
	RUN_TEST(test_too_long);
	return UNIT_EXIT();
}
