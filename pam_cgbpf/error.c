// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cgbpf_error_context(struct cgbpf_error *err, int errnum, const char *fmt, ...)
{
	char ctx[CGBPF_ERROR_MAX], old[CGBPF_ERROR_MAX];
	va_list ap;

	if (!err)
		return -abs(errnum);
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* A message cut at CGBPF_ERROR_MAX is still the best there is. */
	if (snprintf(err->msg, sizeof(err->msg), "%s%s%s", ctx, old[0] ? ": " : "", old) < 0)
		err->msg[0] = '\0';
	return -abs(errnum);
}

int cgbpf_oom(struct cgbpf_error *err)
{
	return cgbpf_error_set(err, ENOMEM, "out of memory");
}

const char *errno_text(int r)
{
	/* Static strings, unlike strerror's: safe in a threaded PAM application. */
	const char *s = strerrordesc_np(abs(r));

	return s ? s : "Unknown error";
}
