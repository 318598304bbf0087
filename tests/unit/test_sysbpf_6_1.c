// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sysbpf's _at calls on a kernel without BPF_F_PATH_FD (Debian 12's 6.1),
 * on any kernel: syscall() is interposed so that an OBJ_GET or OBJ_PIN
 * carrying the flag is answered as 6.1 answers it, EINVAL before the path
 * is looked at. Every bpf(2) call is counted. Its own binary, since which
 * way the kernel answers is remembered for the life of the process.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf_scratch.h"
#include "sysbpf.h"
#include "unit.h"

#define PATH_FD_FLAG (1u << 14)

struct obj_attr {
	uint64_t pathname;
	uint32_t bpf_fd, file_flags;
	int32_t path_fd;
};

static int bpf_calls, flagged_calls;
/* What the "kernel" answers a call with the flag: EINVAL as 6.1, or first an LSM's EPERM. */
static int flagged_errno = EINVAL, eperm_first;

long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	va_list ap;
	long a1, a2, a3, a4, a5, a6;

	/* As glibc's own syscall(): six register arguments, whatever the call passes. */
	va_start(ap, nr);
	a1 = va_arg(ap, long);
	a2 = va_arg(ap, long);
	a3 = va_arg(ap, long);
	a4 = va_arg(ap, long);
	a5 = va_arg(ap, long);
	a6 = va_arg(ap, long);
	va_end(ap);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (nr == __NR_bpf) {
		const struct obj_attr *a = (const void *)a2;

		bpf_calls++;
		if ((a1 == BPF_OBJ_GET || a1 == BPF_OBJ_PIN) && (size_t)a3 >= sizeof(*a) - 4 &&
		    (a->file_flags & PATH_FD_FLAG)) {
			flagged_calls++;
			errno = eperm_first-- > 0 ? EPERM : flagged_errno;
			return -1;
		}
	}
	return real(nr, a1, a2, a3, a4, a5, a6);
}

static char dir[] = "/tmp/cgbpf-sysbpf61-XXXXXX";

static void test_old_kernel(void)
{
	char pin[64], pin2[64], pin3[64];
	int prog = load_pass_prog(), dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;

	CHECK(prog >= 0 && dfd >= 0);
	snprintf(pin, sizeof(pin), "%s/p", dir);
	snprintf(pin2, sizeof(pin2), "%s/q", dir);
	snprintf(pin3, sizeof(pin3), "%s/r", dir);

	/* An LSM's EPERM comes before the flag is looked at: passed on, nothing learnt. */
	eperm_first = 1;
	bpf_calls = flagged_calls = 0;
	errno = 0;
	CHECK(sysbpf_obj_pin_at(prog, dfd, "p", pin) == -EPERM && errno == EPERM);
	CHECK(bpf_calls == 1 && access(pin, F_OK) < 0);

	/* The flag's EINVAL: tried again by the whole path, which answers. */
	bpf_calls = flagged_calls = 0;
	CHECK(sysbpf_obj_pin_at(prog, dfd, "p", pin) == 0);
	CHECK(bpf_calls == 2 && flagged_calls == 1 && access(pin, F_OK) == 0);

	/* From then on, whole paths only: one call each, none with the flag. */
	bpf_calls = flagged_calls = 0;
	fd = sysbpf_obj_get_at(dfd, "p", pin);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(sysbpf_obj_pin_at(prog, dfd, "q", pin2) == 0 && access(pin2, F_OK) == 0);
	CHECK(bpf_calls == 2 && flagged_calls == 0);

	/* Errors keep the convention on this path too. */
	errno = 0;
	fd = sysbpf_obj_get_at(dfd, "missing", "/nonexistent-cgbpf/missing");
	CHECK(fd == -ENOENT && errno == ENOENT);
	errno = 0;
	CHECK(sysbpf_obj_pin_at(dfd, dfd, "r", pin3) == -EINVAL && errno == EINVAL);
	CHECK(access(pin3, F_OK) < 0);

	close(dfd);
	close(prog);
	unlink(pin);
	unlink(pin2);
}

int main(void)
{
	int r;

	if (geteuid() != 0) {
		printf("SKIP: test_old_kernel (needs root to mount a bpffs)\n");
		return 0;
	}
	if (scratch_bpffs_mount(dir) < 0) {
		printf("FAIL: test_old_kernel: cannot mount a bpffs at %s: %m\n", dir);
		return 1;
	}
	RUN_TEST(test_old_kernel);
	r = UNIT_EXIT();
	scratch_bpffs_umount(dir);
	return r;
}
