/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal test harness: each CHECK prints nothing when it holds and a
 * "FAIL: test: file:line: expr" line when it does not; each TEST prints one
 * "PASS: name" or "FAIL: name" line, which tests/run.sh counts.
 */
#ifndef CGBPF_UNIT_H
#define CGBPF_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed_checks;
static int unit_failed_tests;
static const char *unit_current;

#define CHECK(expr)                                                                                \
	do {                                                                                       \
		if (!(expr)) {                                                                     \
			printf("  check failed: %s: %s:%d: %s\n", unit_current, __FILE__,          \
			       __LINE__, #expr);                                                   \
			unit_failed_checks++;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                            \
	do {                                                                                       \
		const char *h_ = (hay), *n_ = (needle);                                            \
		if (!h_ || !strstr(h_, n_)) {                                                      \
			printf("  check failed: %s: %s:%d: \"%s\" does not contain \"%s\"\n",      \
			       unit_current, __FILE__, __LINE__, h_ ? h_ : "(null)", n_);          \
			unit_failed_checks++;                                                      \
		}                                                                                  \
	} while (0)

#define RUN_TEST(fn)                                                                               \
	do {                                                                                       \
		int before_ = unit_failed_checks;                                                  \
		unit_current = #fn;                                                                \
		fn();                                                                              \
		if (unit_failed_checks == before_) {                                               \
			printf("PASS: %s\n", #fn);                                                 \
		} else {                                                                           \
			printf("FAIL: %s\n", #fn);                                                 \
			unit_failed_tests++;                                                       \
		}                                                                                  \
	} while (0)

#define UNIT_EXIT() (unit_failed_tests ? 1 : 0)

#endif
