// SPDX-License-Identifier: GPL-2.0-or-later
#include <unistd.h>

#include "log.h"

#include "proc_guard.h"

/* Above every descriptor the caller may hold: the kernel hands out the lowest free one. */
#define NOFILE_HEADROOM 256
#define NOFILE_FLOOR	4096

/*
 * Lifts @res to @want, reading the old limit in the same call (prlimit); when
 * it may not be raised, to the hard limit, which needs no call when it is the
 * soft one already. Returns the soft limit now in force; *changed says
 * whether there is anything to put back.
 */
static rlim_t limit_lift(int res, struct rlimit want, struct rlimit *old, bool *changed)
{
	*changed = false;
	if (prlimit(0, res, &want, old) == 0) {
		*changed = old->rlim_cur != want.rlim_cur || old->rlim_max != want.rlim_max;
		return want.rlim_cur;
	}
	if (getrlimit(res, old) < 0)
		return 0;
	if (old->rlim_cur == old->rlim_max)
		return old->rlim_cur;
	want.rlim_cur = want.rlim_max = old->rlim_max;
	*changed = setrlimit(res, &want) == 0;
	return *changed ? want.rlim_cur : old->rlim_cur;
}

/* The file size limit in force after it: only a finite one can raise SIGXFSZ. */
static rlim_t limits_lift(struct proc_guard *g)
{
	struct rlimit want = { RLIM_INFINITY, RLIM_INFINITY };
	rlim_t fsize, top;

	/* Without CAP_SYS_RESOURCE, the hard limit is as far as it goes. */
	fsize = limit_lift(RLIMIT_FSIZE, want, &g->fsize, &g->fsize_changed);
	if (getrlimit(RLIMIT_NOFILE, &g->nofile) < 0)
		return fsize;
	top = g->nofile.rlim_max > g->nofile.rlim_cur ? g->nofile.rlim_max : g->nofile.rlim_cur;
	if (top == RLIM_INFINITY)
		return fsize;
	want.rlim_cur = want.rlim_max = top + NOFILE_HEADROOM;
	if (want.rlim_cur < NOFILE_FLOOR)
		want.rlim_cur = want.rlim_max = NOFILE_FLOOR;
	/* Past fs.nr_open, or without CAP_SYS_RESOURCE: the hard limit. */
	if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
		g->nofile_changed = true;
	} else if (g->nofile.rlim_cur != g->nofile.rlim_max) {
		want.rlim_cur = want.rlim_max = g->nofile.rlim_max;
		g->nofile_changed = setrlimit(RLIMIT_NOFILE, &want) == 0;
	}
	return fsize;
}

void proc_guard_enter(struct proc_guard *g)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t stops;

	*g = (struct proc_guard){ 0 };
	sigemptyset(&ign.sa_mask);
	if (limits_lift(g) != RLIM_INFINITY)
		g->have_xfsz = sigaction(SIGXFSZ, &ign, &g->xfsz) == 0;
	sigemptyset(&stops);
	sigaddset(&stops, SIGTSTP);
	sigaddset(&stops, SIGTTIN);
	sigaddset(&stops, SIGTTOU);
	g->have_sigmask = sigprocmask(SIG_BLOCK, &stops, &g->sigmask) == 0;
	/* Only when we are root: an unprivileged caller changes nothing here. */
	if (getresuid(&g->ruid, &g->euid, &g->suid) == 0 && g->euid == 0 &&
	    (g->ruid != 0 || g->suid != 0))
		g->have_uids = setresuid(0, 0, 0) == 0;
}

void proc_guard_leave(const struct proc_guard *g)
{
	/* Cannot fail with euid 0; if it ever did, the caller would keep real uid 0. */
	if (g->have_uids && setresuid(g->ruid, g->euid, g->suid) < 0)
		cgbpf_log(LOG_ERR, "cannot restore the caller's real uid %u: %m",
			  (unsigned int)g->ruid);
	if (g->have_sigmask)
		sigprocmask(SIG_SETMASK, &g->sigmask, NULL);
	if (g->fsize_changed)
		setrlimit(RLIMIT_FSIZE, &g->fsize);
	if (g->nofile_changed)
		setrlimit(RLIMIT_NOFILE, &g->nofile);
	if (g->have_xfsz)
		sigaction(SIGXFSZ, &g->xfsz, NULL);
}
