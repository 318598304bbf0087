// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * connect() figures for bench/connect.sh:
 *   connect_rate tcp ADDR PORT SECONDS   full TCP connects per second to a listener of its own
 *                                        on ADDR:PORT (connect, accept, close with a reset)
 *   connect_rate udp ADDR PORT SECONDS   UDP socket()+connect()+close() per second
 *   connect_rate refused ADDR PORT N [SYNCNT]
 *                                        N blocking TCP connects that should fail: prints the
 *                                        median time in microseconds and the error
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_addr(const char *addr, const char *port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)atoi(port));
	return inet_pton(AF_INET, addr, &sin->sin_addr) == 1 ? 0 : -1;
}

static int rate_tcp(const struct sockaddr_in *sin, double secs)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	double t0, t;
	unsigned long n = 0;
	int l, one = 1;

	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l, (const struct sockaddr *)sin, sizeof(*sin)) < 0 || listen(l, 128) < 0) {
		perror("listen");
		return 1;
	}
	t0 = now_s();
	do {
		for (int i = 0; i < 100; i++) {
			int c = socket(AF_INET, SOCK_STREAM, 0), a;

			if (c < 0 || connect(c, (const struct sockaddr *)sin, sizeof(*sin)) < 0) {
				perror("connect");
				return 1;
			}
			a = accept(l, NULL, NULL);
			if (a < 0) {
				perror("accept");
				return 1;
			}
			/* A reset, not TIME_WAIT: thousands a second would use up the ports. */
			setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(c);
			close(a);
		}
		n += 100;
		t = now_s() - t0;
	} while (t < secs);
	close(l);
	printf("%.0f\n", (double)n / t);
	return 0;
}

static int rate_udp(const struct sockaddr_in *sin, double secs)
{
	double t0 = now_s(), t;
	unsigned long n = 0;

	do {
		for (int i = 0; i < 1000; i++) {
			int c = socket(AF_INET, SOCK_DGRAM, 0);

			if (c < 0 || connect(c, (const struct sockaddr *)sin, sizeof(*sin)) < 0) {
				perror("connect");
				return 1;
			}
			close(c);
		}
		n += 1000;
		t = now_s() - t0;
	} while (t < secs);
	printf("%.0f\n", (double)n / t);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int refused(const struct sockaddr_in *sin, int n, int syncnt)
{
	double *us = calloc((size_t)n, sizeof(*us)), t;
	int err = 0;

	if (!us)
		return 1;
	for (int i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);

		if (c < 0 || (syncnt && setsockopt(c, IPPROTO_TCP, TCP_SYNCNT, &syncnt,
						   sizeof(syncnt)) < 0)) {
			perror("socket");
			return 1;
		}
		t = now_s();
		if (connect(c, (const struct sockaddr *)sin, sizeof(*sin)) == 0) {
			fprintf(stderr, "connect succeeded\n");
			return 1;
		}
		err = errno;
		us[i] = (now_s() - t) * 1e6;
		close(c);
	}
	qsort(us, (size_t)n, sizeof(*us), cmp_double);
	printf("%.1f %s\n", us[n / 2],
	       err == EPERM	  ? "EPERM"
	       : err == ETIMEDOUT ? "ETIMEDOUT"
				  : strerror(err));
	free(us);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;

	if (argc < 5 || parse_addr(argv[2], argv[3], &sin) < 0) {
		fprintf(stderr, "usage: connect_rate tcp|udp ADDR PORT SECONDS\n"
				"       connect_rate refused ADDR PORT N [SYNCNT]\n");
		return 64;
	}
	if (!strcmp(argv[1], "tcp"))
		return rate_tcp(&sin, atof(argv[4]));
	if (!strcmp(argv[1], "udp"))
		return rate_udp(&sin, atof(argv[4]));
	if (!strcmp(argv[1], "refused"))
		return refused(&sin, atoi(argv[4]), argc > 5 ? atoi(argv[5]) : 0);
	return 64;
}
