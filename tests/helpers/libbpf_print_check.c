// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * An application that has its own libbpf print function, as a real one might:
 * it opens a session through PAM and checks that the module neither printed
 * libbpf's messages on the terminal (stdout/stderr, which this program points
 * at a file it inspects) nor left its own print function installed.
 *
 *   libbpf_print_check SERVICE USER
 * Exit 0: PAM returned, nothing reached the terminal, our printer is back.
 * Exit 1: something printed. Exit 2: our printer was not restored.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <security/pam_appl.h>

#include "null_conv.h"

static int ours(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

int main(int argc, char **argv)
{
	struct pam_conv conv = { null_conv, NULL };
	pam_handle_t *pamh = NULL;
	char tmpl[] = "/tmp/cgbpf-print.XXXXXX";
	libbpf_print_fn_t now;
	int fd, saved_out, saved_err, r;
	long size;

	if (argc != 3) {
		fprintf(stderr, "usage: libbpf_print_check SERVICE USER\n");
		return 64;
	}
	fd = mkstemp(tmpl);
	if (fd < 0)
		return 3;
	unlink(tmpl);
	fflush(NULL);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	libbpf_set_print(ours);
	r = pam_start(argv[1], argv[2], &conv, &pamh);
	if (r == PAM_SUCCESS)
		r = pam_open_session(pamh, 0);
	pam_end(pamh, r);
	fflush(NULL);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	now = libbpf_set_print(NULL);
	size = lseek(fd, 0, SEEK_END);
	printf("pam_open_session: %s (%d); %ld bytes reached the terminal\n", pam_strerror(NULL, r),
	       r, size);
	if (size > 0) {
		char buf[512] = "";

		pread(fd, buf, sizeof(buf) - 1, 0);
		printf("printed: %s\n", buf);
		return 1;
	}
	if (now != ours) {
		printf("libbpf's print function was not restored\n");
		return 2;
	}
	return 0;
}
