// SPDX-License-Identifier: GPL-2.0-or-later
#include <unistd.h>

#include "log.h"

#include "proc_guard.h"

/* Above every descriptor the caller may hold: the kernel hands out the lowest free one. */
#define NOFILE_HEADROOM 256
#define NOFILE_FLOOR	4096

static void limits_lift(struct proc_guard *g)
{
	struct rlimit want;

	if (getrlimit(RLIMIT_FSIZE, &g->fsize) == 0) {
		g->have_fsize = true;
		want = (struct rlimit){ RLIM_INFINITY, RLIM_INFINITY };
		/* Without CAP_SYS_RESOURCE, the hard limit is as far as it goes. */
		if (setrlimit(RLIMIT_FSIZE, &want) < 0) {
			want.rlim_cur = want.rlim_max = g->fsize.rlim_max;
			setrlimit(RLIMIT_FSIZE, &want);
		}
	}
	if (getrlimit(RLIMIT_NOFILE, &g->nofile) == 0) {
		rlim_t top = g->nofile.rlim_max;

		g->have_nofile = true;
		if (g->nofile.rlim_cur > top)
			top = g->nofile.rlim_cur;
		if (top == RLIM_INFINITY)
			return;
		want.rlim_cur = want.rlim_max = top + NOFILE_HEADROOM;
		if (want.rlim_cur < NOFILE_FLOOR)
			want.rlim_cur = want.rlim_max = NOFILE_FLOOR;
		/* Past fs.nr_open, or without CAP_SYS_RESOURCE: the hard limit. */
		if (setrlimit(RLIMIT_NOFILE, &want) < 0) {
			want.rlim_cur = want.rlim_max = g->nofile.rlim_max;
			setrlimit(RLIMIT_NOFILE, &want);
		}
	}
}

void proc_guard_enter(struct proc_guard *g)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t stops;

	*g = (struct proc_guard){ 0 };
	sigemptyset(&ign.sa_mask);
	g->have_xfsz = sigaction(SIGXFSZ, &ign, &g->xfsz) == 0;
	limits_lift(g);
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
	if (g->have_fsize)
		setrlimit(RLIMIT_FSIZE, &g->fsize);
	if (g->have_nofile)
		setrlimit(RLIMIT_NOFILE, &g->nofile);
	if (g->have_xfsz)
		sigaction(SIGXFSZ, &g->xfsz, NULL);
}
