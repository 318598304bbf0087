/*
 * pamloop: N full PAM cycles (pam_start, open, close, pam_end) in one process, for the soak's
 * leak check. Prints the process's open descriptors and resident memory after WARMUP cycles
 * and after all of them:
 *
 *   pamloop SERVICE USER N [WARMUP]
 *   -> "after W: fds F rss_kb R" and "after N: fds F rss_kb R", "failed K"
 *
 * Exit 0 when every cycle succeeded, 1 when one failed, 64 for a usage error.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "null_conv.h"

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = -1; /* the directory's own descriptor */

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2; /* "." and ".." */
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	struct pam_conv conv = { null_conv, NULL };
	long n, warm, failed = 0;

	if (argc < 4 || (n = strtol(argv[3], NULL, 10)) <= 0) {
		fputs("usage: pamloop SERVICE USER N [WARMUP]\n", stderr);
		return 64;
	}
	warm = argc > 4 ? strtol(argv[4], NULL, 10) : n / 10;
	for (long i = 1; i <= n; i++) {
		pam_handle_t *pamh = NULL;
		int r = pam_start(argv[1], argv[2], &conv, &pamh);

		if (r == PAM_SUCCESS)
			r = pam_open_session(pamh, 0);
		if (r == PAM_SUCCESS)
			r = pam_close_session(pamh, 0);
		if (r != PAM_SUCCESS)
			failed++;
		if (pamh)
			pam_end(pamh, r);
		if (i == warm || i == n)
			printf("after %ld: fds %d rss_kb %ld\n", i, count_fds(), rss_kb());
	}
	printf("failed %ld\n", failed);
	return failed ? 1 : 0;
}
