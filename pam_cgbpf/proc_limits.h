/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The resource limits a PAM module inherits are the user's: `ulimit -n 8` or
 * `ulimit -f 1` before su would make the module's own files fail to open or be
 * cut short half-way. The module lifts them for its own work (as far as it
 * may: raising a hard limit needs CAP_SYS_RESOURCE) and puts them back before
 * returning to the application. SIGXFSZ is ignored meanwhile, so that a write
 * past a limit that stays is an error to handle, not the end of the process.
 */
#ifndef CGBPF_PROC_LIMITS_H
#define CGBPF_PROC_LIMITS_H

#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>

struct saved_limits {
	struct rlimit nofile, fsize;
	struct sigaction xfsz;
	bool have_nofile, have_fsize, have_xfsz;
};

/* Raises RLIMIT_NOFILE, lifts RLIMIT_FSIZE, ignores SIGXFSZ; saves the old state in @saved. */
void proc_limits_lift(struct saved_limits *saved);

/* Puts back what proc_limits_lift saved. */
void proc_limits_restore(const struct saved_limits *saved);

#endif
