// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pamretry: two full PAM cycles (pam_start, open, close, pam_end) in one process, running a
 * shell command between them, for what a module keeps across handles (its loader):
 *
 *   pamretry SERVICE USER COMMAND
 *   -> "first: R" and "second: R", R the pam_open_session status of each
 *
 * Exit 0 when both cycles ran (whatever they returned), 1 when COMMAND failed, 64 for usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include <security/pam_appl.h>

#include "null_conv.h"

static int cycle(const char *service, const char *user)
{
	struct pam_conv conv = { .conv = null_conv };
	pam_handle_t *pamh;
	int r = pam_start(service, user, &conv, &pamh);

	if (r != PAM_SUCCESS)
		return r;
	r = pam_open_session(pamh, 0);
	if (r == PAM_SUCCESS)
		pam_close_session(pamh, 0);
	pam_end(pamh, r);
	return r;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fputs("usage: pamretry SERVICE USER COMMAND\n", stderr);
		return 64;
	}
	/*
	 * The syslog socket now, not at the module's first message: so both cycles see the same
	 * descriptors, and a second open of a file gets the /proc/self/fd/N name of the first.
	 */
	openlog("pamretry", LOG_NDELAY, LOG_AUTHPRIV);
	printf("first: %d\n", cycle(argv[1], argv[2]));
	fflush(stdout);
	if (system(argv[3]) != 0)
		return 1;
	printf("second: %d\n", cycle(argv[1], argv[2]));
	return 0;
}
