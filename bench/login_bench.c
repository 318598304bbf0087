// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Logins as sshd makes them: a fresh process per login that has never loaded
 * a PAM module (fork; pam_start, pam_open_session, pam_close_session, pam_end;
 * exit), timed by the parent from fork to reaping. Three kinds, interleaved:
 * fork+exit alone, a pam_permit-only stack and a stack with pam_cgbpf, either
 * back to back or SPACING_MS apart (a login that follows no other cgroup move
 * for a while, as on most machines). The child reports how long each PAM call
 * took through a shared page. Prints medians and spread of each.
 *
 *   login_bench CONFDIR SANDBOX_SERVICE PERMIT_SERVICE USER N [SPACING_MS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "../tests/helpers/null_conv.h"

enum phase { PH_START, PH_OPEN, PH_CLOSE, PH_END, PH_TOTAL, PH_COUNT };

enum kind { K_FORK, K_PERMIT, K_SANDBOX, K_COUNT };

static const char *const kind_name[K_COUNT] = { "fork+exit, no PAM", "pam_permit only",
						"pam_cgbpf (3 hooks, 7 links)" };

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* In the child: one login, the duration of each call in @t; returns the exit status. */
static int login(const char *confdir, const char *service, const char *user, double *t)
{
	struct pam_conv conv = { null_conv, NULL };
	pam_handle_t *pamh = NULL;
	double t0 = now_us(), t1;
	int r;

	r = pam_start_confdir(service, user, &conv, confdir, &pamh);
	t1 = now_us();
	t[PH_START] = t1 - t0;
	if (r == PAM_SUCCESS) {
		r = pam_open_session(pamh, 0);
		t0 = now_us();
		t[PH_OPEN] = t0 - t1;
	}
	if (r == PAM_SUCCESS) {
		r = pam_close_session(pamh, 0);
		t1 = now_us();
		t[PH_CLOSE] = t1 - t0;
	}
	if (pamh)
		pam_end(pamh, r);
	t[PH_END] = now_us() - t1;
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "login_bench: %s: %s\n", service, pam_strerror(NULL, r));
		return 1;
	}
	return 0;
}

/* One login of @k in a fresh process; its phases in @t. Returns 0 or -1. */
static int fresh_login(enum kind k, const char *confdir, const char *const service[K_COUNT],
		       const char *user, double *shared, double *t)
{
	double t0 = now_us();
	int status;
	pid_t pid;

	memset(shared, 0, PH_COUNT * sizeof(*shared));
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(k == K_FORK ? 0 : login(confdir, service[k], user, shared));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	memcpy(t, shared, PH_COUNT * sizeof(*t));
	t[PH_TOTAL] = now_us() - t0;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	qsort(v, n, sizeof(*v), cmp_double);
	return v[i < n ? i : n - 1];
}

int main(int argc, char **argv)
{
	const char *service[K_COUNT];
	double *shared, *v[K_COUNT][PH_COUNT], med[K_COUNT][PH_COUNT];
	struct timespec gap = { 0 };
	size_t n;
	long spacing = 0;

	if (argc < 6) {
		fprintf(stderr, "usage: login_bench CONFDIR SANDBOX_SERVICE PERMIT_SERVICE USER N "
				"[SPACING_MS]\n");
		return 64;
	}
	service[K_FORK] = NULL;
	service[K_PERMIT] = argv[3];
	service[K_SANDBOX] = argv[2];
	n = strtoul(argv[5], NULL, 10);
	if (n < 3)
		n = 3;
	if (argc > 6)
		spacing = strtol(argv[6], NULL, 10);
	gap.tv_sec = spacing / 1000;
	gap.tv_nsec = (spacing % 1000) * 1000000L;
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 1;
	for (int k = 0; k < K_COUNT; k++)
		for (int p = 0; p < PH_COUNT; p++)
			if (!(v[k][p] = calloc(n, sizeof(double))))
				return 1;
	/* One unmeasured round: the page cache, the shared programs, the anchor. */
	for (int k = 0; k < K_COUNT; k++) {
		double t[PH_COUNT];

		if (fresh_login((enum kind)k, argv[1], service, argv[4], shared, t) < 0)
			return 1;
	}
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < K_COUNT; k++) {
			double t[PH_COUNT];

			if (spacing)
				nanosleep(&gap, NULL);
			if (fresh_login((enum kind)k, argv[1], service, argv[4], shared, t) < 0) {
				fprintf(stderr, "login_bench: %s: login failed\n", kind_name[k]);
				return 1;
			}
			for (int p = 0; p < PH_COUNT; p++)
				v[k][p][i] = t[p];
		}
	printf("fresh-process logins, %zu of each kind, interleaved, %s\n", n,
	       spacing ? "spaced" : "back to back");
	if (spacing)
		printf("  (%ld ms between logins)\n", spacing);
	printf("  %-30s %14s %10s %10s %10s %10s  %s\n", "", "fork to reaped", "pam_start", "open",
	       "close", "pam_end", "(medians, us; total p10-p90)");
	for (int k = 0; k < K_COUNT; k++) {
		double p10 = pct(v[k][PH_TOTAL], n, 0.1), p90 = pct(v[k][PH_TOTAL], n, 0.9);

		for (int p = 0; p < PH_COUNT; p++)
			med[k][p] = pct(v[k][p], n, 0.5);
		if (k == K_FORK)
			printf("  %-30s %14.1f %10s %10s %10s %10s  %.0f-%.0f\n", kind_name[k],
			       med[k][PH_TOTAL], "", "", "", "", p10, p90);
		else
			printf("  %-30s %14.1f %10.1f %10.1f %10.1f %10.1f  %.0f-%.0f\n",
			       kind_name[k], med[k][PH_TOTAL], med[k][PH_START], med[k][PH_OPEN],
			       med[k][PH_CLOSE], med[k][PH_END], p10, p90);
	}
	printf("  ratio pam_cgbpf / pam_permit (median, fork to reaped): %.2fx\n",
	       med[K_SANDBOX][PH_TOTAL] / med[K_PERMIT][PH_TOTAL]);
	printf("  pam_start with pam_cgbpf minus pam_permit: %.1f us (loading the module and its "
	       "libraries)\n",
	       med[K_SANDBOX][PH_START] - med[K_PERMIT][PH_START]);
	return 0;
}
