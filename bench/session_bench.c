// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One open+close through the whole PAM stack, measured in-process:
 * pam_start, pam_open_session, pam_close_session, pam_end, N times, for a
 * stack with pam_cgbpf and for a pam_permit-only stack, interleaved in
 * rounds so that both see the same machine. Prints median and p99 of each.
 *
 *   session_bench CONFDIR SANDBOX_SERVICE PERMIT_SERVICE USER [ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <security/pam_appl.h>

static int null_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)n;
	(void)msg;
	(void)resp;
	(void)data;
	return PAM_CONV_ERR;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* One full cycle; returns its duration in microseconds, or -1 on a PAM error. */
static double cycle(const char *confdir, const char *service, const char *user)
{
	struct pam_conv conv = { null_conv, NULL };
	pam_handle_t *pamh = NULL;
	double t0 = now_us();
	int r;

	r = pam_start_confdir(service, user, &conv, confdir, &pamh);
	if (r == PAM_SUCCESS)
		r = pam_open_session(pamh, 0);
	if (r == PAM_SUCCESS)
		r = pam_close_session(pamh, 0);
	if (pamh)
		pam_end(pamh, r);
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "session_bench: %s: %s\n", service, pam_strerror(NULL, r));
		return -1;
	}
	return now_us() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

int main(int argc, char **argv)
{
	const char *confdir, *sandbox, *permit, *user;
	size_t n = 500, warm = 20;
	double *a, *b;

	if (argc < 5) {
		fprintf(stderr,
			"usage: session_bench CONFDIR SANDBOX_SERVICE PERMIT_SERVICE USER [N]\n");
		return 64;
	}
	confdir = argv[1];
	sandbox = argv[2];
	permit = argv[3];
	user = argv[4];
	if (argc > 5)
		n = strtoul(argv[5], NULL, 10);
	if (n < 10)
		n = 10;
	a = calloc(n, sizeof(*a));
	b = calloc(n, sizeof(*b));
	if (!a || !b)
		return 1;
	/* Warm-up: the first open loads the shared programs and the anchor. */
	for (size_t i = 0; i < warm; i++)
		if (cycle(confdir, sandbox, user) < 0 || cycle(confdir, permit, user) < 0)
			return 1;
	for (size_t i = 0; i < n; i++) {
		a[i] = cycle(confdir, sandbox, user);
		b[i] = cycle(confdir, permit, user);
		if (a[i] < 0 || b[i] < 0)
			return 1;
	}
	qsort(a, n, sizeof(*a), cmp_double);
	qsort(b, n, sizeof(*b), cmp_double);
	printf("session open+close, %zu iterations each, interleaved\n", n);
	printf("  %-28s median %8.1f us   p99 %8.1f us\n", "pam_permit only", pct(b, n, 0.5),
	       pct(b, n, 0.99));
	printf("  %-28s median %8.1f us   p99 %8.1f us\n", "pam_cgbpf (3 hooks)", pct(a, n, 0.5),
	       pct(a, n, 0.99));
	printf("  ratio (median)              %.2fx   (target <= 1.5x)\n",
	       pct(a, n, 0.5) / pct(b, n, 0.5));
	free(a);
	free(b);
	return 0;
}
