/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the calling process inherits from the user, neutralised while the
 * module works and put back before it returns to the application.
 *
 * Resource limits: `ulimit -n 8` or `ulimit -f 1` before su would make the
 * module's own files fail to open or be cut short half-way. They are lifted
 * as far as the module may (raising a hard limit needs CAP_SYS_RESOURCE), and
 * SIGXFSZ is ignored while a finite file size limit stays, so that a write past a limit that stays
 * is an error to handle, not the end of the process.
 *
 * Signals: su and sudo run with the invoking user's real uid, so the user may
 * SIGSTOP them, and the terminal sends SIGTSTP on ^Z, while the module holds a
 * lock that gates other users' logins. The real and saved uids are made 0 for
 * the duration (kill(2) then refuses the user) and the terminal's stop signals
 * are blocked (they stay pending until the module returns).
 */
#ifndef CGBPF_PROC_GUARD_H
#define CGBPF_PROC_GUARD_H

#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

struct proc_guard {
	struct rlimit nofile, fsize;
	struct sigaction xfsz;
	sigset_t sigmask;
	uid_t ruid, euid, suid;
	bool nofile_changed, fsize_changed; /* what leave puts back */
	bool have_xfsz, have_sigmask, have_uids;
};

/* Neutralises what the user controls; saves the old state in @g. */
void proc_guard_enter(struct proc_guard *g);

/* Puts back what proc_guard_enter changed. */
void proc_guard_leave(const struct proc_guard *g);

#endif
