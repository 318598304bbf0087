/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the module's and libbpf's messages go. The PAM edge points this at
 * pam_syslog, cgbpfctl at stderr; the rest of the code only calls cgbpf_log.
 */
#ifndef CGBPF_LOG_H
#define CGBPF_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

typedef void (*cgbpf_log_fn)(void *ctx, int priority, const char *fmt, va_list ap);

struct cgbpf_log_sink {
	cgbpf_log_fn fn;
	void *ctx;
	bool debug;
};

/* Installs @sink for this thread; returns the previous one for restoring. */
struct cgbpf_log_sink cgbpf_log_set(struct cgbpf_log_sink sink);

void cgbpf_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cgbpf_log with a va_list: what the loader's libbpf print hook calls (loader.h). */
void cgbpf_vlog(int priority, const char *fmt, va_list ap);

#endif
