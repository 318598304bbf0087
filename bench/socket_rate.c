// SPDX-License-Identifier: GPL-2.0-or-later
/* socket()+close() calls per second: socket_rate [SECONDS] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0, t0 = now_s(), t;
	unsigned long n = 0;

	do {
		for (int i = 0; i < 1000; i++) {
			int fd = socket(AF_INET, SOCK_STREAM, 0);

			if (fd < 0) {
				perror("socket");
				return 1;
			}
			close(fd);
		}
		n += 1000;
		t = now_s() - t0;
	} while (t < secs);
	printf("%.0f\n", (double)n / t);
	return 0;
}
