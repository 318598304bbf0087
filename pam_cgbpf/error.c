// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"

int cgbpf_error_set(struct cgbpf_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err && !err->msg[0]) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -abs(errnum);
}

int cgbpf_error_at(struct cgbpf_error *err, int errnum, const char *file, unsigned int line,
		   const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err && !err->msg[0]) {
		n = snprintf(err->msg, sizeof(err->msg), "%s:%u: ", file, line);
		if (n > 0 && (size_t)n < sizeof(err->msg)) {
			va_start(ap, fmt);
			vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -abs(errnum);
}
