/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One error message carried from where it is found to the edge that logs it.
 * A function either fills this (and returns a negative errno) or logs; never both.
 */
#ifndef CGBPF_ERROR_H
#define CGBPF_ERROR_H

#define CGBPF_ERROR_MAX 1024

struct cgbpf_error {
	char msg[CGBPF_ERROR_MAX];
};

/* Sets the message (printf format) unless one is already set; returns -abs(errnum). */
int cgbpf_error_set(struct cgbpf_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "FILE:LINE: " prefix form, the one every policy error uses. */
int cgbpf_error_at(struct cgbpf_error *err, int errnum, const char *file, unsigned int line,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
