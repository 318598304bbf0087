// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdio.h>

#include <bpf/libbpf.h>

#include "log.h"

static _Thread_local struct cgbpf_log_sink current;

struct cgbpf_log_sink cgbpf_log_set(struct cgbpf_log_sink sink)
{
	struct cgbpf_log_sink old = current;

	current = sink;
	return old;
}

void cgbpf_log(int priority, const char *fmt, ...)
{
	va_list ap;

	if (!current.fn || (priority == LOG_DEBUG && !current.debug))
		return;
	va_start(ap, fmt);
	current.fn(current.ctx, priority, fmt, ap);
	va_end(ap);
}

static int libbpf_to_sink(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf is chatty at DEBUG and prints verifier logs at WARN: keep both out of the way. */
	int priority = level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG;

	if (!current.fn || (priority == LOG_DEBUG && !current.debug))
		return 0;
	current.fn(current.ctx, priority, fmt, ap);
	return 0;
}

void libbpf_print_capture(struct libbpf_print_guard *g)
{
	g->previous = (void *)libbpf_set_print(libbpf_to_sink);
}

void libbpf_print_restore(struct libbpf_print_guard *g)
{
	libbpf_set_print((libbpf_print_fn_t)g->previous);
}
