// SPDX-License-Identifier: GPL-2.0-or-later
#include "proc_limits.h"

/* Above every descriptor the caller may hold: the kernel hands out the lowest free one. */
#define NOFILE_HEADROOM 256
#define NOFILE_FLOOR	4096

void proc_limits_lift(struct saved_limits *saved)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct rlimit want;

	*saved = (struct saved_limits){ 0 };
	sigemptyset(&ign.sa_mask);
	saved->have_xfsz = sigaction(SIGXFSZ, &ign, &saved->xfsz) == 0;
	if (getrlimit(RLIMIT_FSIZE, &saved->fsize) == 0) {
		saved->have_fsize = true;
		want = (struct rlimit){ RLIM_INFINITY, RLIM_INFINITY };
		/* Without CAP_SYS_RESOURCE, the hard limit is as far as it goes. */
		if (setrlimit(RLIMIT_FSIZE, &want) < 0) {
			want.rlim_cur = want.rlim_max = saved->fsize.rlim_max;
			setrlimit(RLIMIT_FSIZE, &want);
		}
	}
	if (getrlimit(RLIMIT_NOFILE, &saved->nofile) == 0) {
		rlim_t top = saved->nofile.rlim_max;

		saved->have_nofile = true;
		if (saved->nofile.rlim_cur > top)
			top = saved->nofile.rlim_cur;
		if (top == RLIM_INFINITY)
			return;
		want.rlim_cur = want.rlim_max = top + NOFILE_HEADROOM;
		if (want.rlim_cur < NOFILE_FLOOR)
			want.rlim_cur = want.rlim_max = NOFILE_FLOOR;
		/* Past fs.nr_open the kernel says EPERM: then the hard limit is the best we get. */
		if (setrlimit(RLIMIT_NOFILE, &want) < 0) {
			want.rlim_cur = want.rlim_max = saved->nofile.rlim_max;
			setrlimit(RLIMIT_NOFILE, &want);
		}
	}
}

void proc_limits_restore(const struct saved_limits *saved)
{
	if (saved->have_fsize)
		setrlimit(RLIMIT_FSIZE, &saved->fsize);
	if (saved->have_nofile)
		setrlimit(RLIMIT_NOFILE, &saved->nofile);
	if (saved->have_xfsz)
		sigaction(SIGXFSZ, &saved->xfsz, NULL);
}
