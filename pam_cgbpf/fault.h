/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fault injection for the rollback tests. Only the test build
 * (-DCGBPF_FAULT_INJECTION, build/tests/pam_cgbpf_fault.so) has it; the real
 * module has no such argument and these compile to nothing.
 */
#ifndef CGBPF_FAULT_H
#define CGBPF_FAULT_H

#include <stdbool.h>

#ifdef CGBPF_FAULT_INJECTION
/* spec "OP:N": the Nth call of fault_hit(OP) fails. */
void fault_configure(const char *spec);
bool fault_hit(const char *op);
/* spec "pause_OP:MS": fault_pause(OP) logs "fault: pausing at OP" and sleeps MS milliseconds. */
void fault_pause(const char *op);
#else
static inline void fault_pause(const char *op)
{
	(void)op;
}
static inline void fault_configure(const char *spec)
{
	(void)spec;
}
static inline bool fault_hit(const char *op)
{
	(void)op;
	return false;
}
#endif

#endif
