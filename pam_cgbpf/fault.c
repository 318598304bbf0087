// SPDX-License-Identifier: GPL-2.0-or-later
#include "fault.h"

#ifdef CGBPF_FAULT_INJECTION
#include <stdlib.h>
#include <string.h>

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
#else
/* An empty translation unit is not valid C. */
typedef int fault_unused_t;
#endif
