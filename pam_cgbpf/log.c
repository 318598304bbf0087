// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdio.h>

#include "loader.h"
#include "log.h"

static _Thread_local struct cgbpf_log_sink current;

struct cgbpf_log_sink cgbpf_log_set(struct cgbpf_log_sink sink)
{
	struct cgbpf_log_sink old = current;

	current = sink;
	return old;
}

void cgbpf_vlog(int priority, const char *fmt, va_list ap)
{
	if (!current.fn || (priority == LOG_DEBUG && !current.debug))
		return;
	current.fn(current.ctx, priority, fmt, ap);
}

void cgbpf_log(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cgbpf_vlog(priority, fmt, ap);
	va_end(ap);
}

/* The sink is this module's thread-local state: the loader reaches it through this table. */
const struct cgbpf_loader_host cgbpf_loader_host = { .vlog = cgbpf_vlog };
