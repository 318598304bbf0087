// SPDX-License-Identifier: GPL-2.0-or-later
#include "fault.h"

#ifdef CGBPF_FAULT_INJECTION
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static char fault_op[32];
static long fault_at, fault_count;

void fault_configure(const char *spec)
{
	const char *colon = spec ? strchr(spec, ':') : NULL;

	fault_op[0] = '\0';
	fault_count = 0;
	if (!colon || (size_t)(colon - spec) >= sizeof(fault_op))
		return;
	memcpy(fault_op, spec, (size_t)(colon - spec));
	fault_op[colon - spec] = '\0';
	fault_at = strtol(colon + 1, NULL, 10);
}

bool fault_hit(const char *op)
{
	return fault_op[0] && !strcmp(op, fault_op) && ++fault_count == fault_at;
}

void fault_pause(const char *op)
{
	struct timespec ts = { .tv_sec = fault_at / 1000, .tv_nsec = (fault_at % 1000) * 1000000L };

	if (strncmp(fault_op, "pause_", 6) != 0 || strcmp(fault_op + 6, op) != 0)
		return;
	cgbpf_log(LOG_NOTICE, "fault: pausing at %s for %ld ms", op, fault_at);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
#else
/* An empty translation unit is not valid C. */
typedef int fault_unused_t;
#endif
