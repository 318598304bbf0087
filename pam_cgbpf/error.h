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

/* Adds "CONTEXT: " in front of the message already set (or sets CONTEXT alone); returns -abs. */
int cgbpf_error_context(struct cgbpf_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "out of memory", the one way to say it; returns -ENOMEM. */
int cgbpf_oom(struct cgbpf_error *err);

/* The text of a negative (or positive) errno value, for messages built from a return code. */
const char *errno_text(int r);

#endif
