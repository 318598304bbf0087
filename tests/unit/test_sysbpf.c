// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The raw bpf(2) wrappers keep libbpf 1.x's convention (a negative errno, and errno set to
 * it), so that the callers written for libbpf keep their error handling: compared with libbpf
 * on calls that fail the same way for any user.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_scratch.h"
#include "sysbpf.h"
#include "unit.h"

static void test_errors_as_libbpf(void)
{
	const char *none = "/nonexistent-cgbpf/pin";
	struct bpf_prog_info pi = { 0 };
	uint32_t len = sizeof(pi), next = 0, key = 0, v = 0;
	int r, want, fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	errno = 0;
	r = sysbpf_obj_get(none);
	CHECK(r < 0 && errno == -r);
	want = bpf_obj_get(none);
	CHECK(r == want);
	errno = 0;
	r = sysbpf_obj_get_info_by_fd(fd, &pi, &len);
	CHECK(r < 0 && errno == -r);
	CHECK(r == bpf_obj_get_info_by_fd(fd, &pi, &len));
	r = sysbpf_map_lookup_elem(fd, &key, &v);
	CHECK(r < 0 && errno == -r && r == bpf_map_lookup_elem(fd, &key, &v));
	r = sysbpf_map_update_elem(fd, &key, &v, BPF_ANY);
	CHECK(r < 0 && errno == -r && r == bpf_map_update_elem(fd, &key, &v, BPF_ANY));
	r = sysbpf_map_delete_elem(fd, &key);
	CHECK(r < 0 && errno == -r && r == bpf_map_delete_elem(fd, &key));
	r = sysbpf_map_freeze(fd);
	CHECK(r < 0 && errno == -r && r == bpf_map_freeze(fd));
	r = sysbpf_link_detach(fd);
	CHECK(r < 0 && errno == -r && r == bpf_link_detach(fd));
	r = sysbpf_obj_pin(fd, none);
	CHECK(r < 0 && errno == -r && r == bpf_obj_pin(fd, none));
	r = sysbpf_link_create(fd, fd, BPF_CGROUP_INET_EGRESS);
	CHECK(r < 0 && errno == -r && r == bpf_link_create(fd, fd, BPF_CGROUP_INET_EGRESS, NULL));
	r = sysbpf_prog_get_fd_by_id(0);
	CHECK(r < 0 && errno == -r && r == bpf_prog_get_fd_by_id(0));
	r = sysbpf_link_get_fd_by_id(0);
	CHECK(r < 0 && errno == -r && r == bpf_link_get_fd_by_id(0));
	/* No link has an id past UINT32_MAX - 1: the end of the walk, as libbpf reports it. */
	r = sysbpf_link_get_next_id(UINT32_MAX - 1, &next);
	CHECK(r < 0 && errno == -r && r == bpf_link_get_next_id(UINT32_MAX - 1, &next));
	close(fd);
}

static void test_possible_cpus(void)
{
	int n = sysbpf_num_possible_cpus();

	CHECK(n > 0);
	CHECK(n == libbpf_num_possible_cpus());
	CHECK(n == sysbpf_num_possible_cpus());
}

/*
 * Whether this kernel resolves OBJ_GET from a directory fd (BPF_F_PATH_FD, 6.5+ or a
 * backport): asked of the kernel itself, with @name pinned in the directory of @dirfd.
 */
static bool kernel_has_path_fd(int dirfd, const char *name)
{
	struct {
		uint64_t pathname;
		uint32_t bpf_fd, file_flags;
		int32_t path_fd;
	} a = { .pathname = (uint64_t)(uintptr_t)name, .file_flags = 1u << 14, .path_fd = dirfd };
	long fd = syscall(__NR_bpf, BPF_OBJ_GET, &a, 20);

	if (fd < 0)
		return false;
	close((int)fd);
	return true;
}

/*
 * The _at calls in a private bpffs: from the directory fd where the kernel can
 * (shown by a whole path that does not exist), by the whole path otherwise.
 */
static void test_at(void)
{
	char dir[] = "/tmp/cgbpf-sysbpf-XXXXXX", pin[64], pin2[64];
	bool at;
	int prog, dfd, fd;

	if (scratch_bpffs_mount(dir) < 0) {
		printf("  check failed: cannot mount a bpffs at %s: %m\n", dir);
		unit_failed_checks++;
		return;
	}
	snprintf(pin, sizeof(pin), "%s/p", dir);
	snprintf(pin2, sizeof(pin2), "%s/q", dir);
	prog = load_pass_prog();
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(prog >= 0 && dfd >= 0);

	/* Pinned from the fd, found by its whole path. */
	CHECK(sysbpf_obj_pin_at(prog, dfd, "p", pin) == 0);
	fd = sysbpf_obj_get(pin);
	CHECK(fd >= 0);
	close(fd);
	at = kernel_has_path_fd(dfd, "p");
	printf("  this kernel %s BPF_F_PATH_FD\n", at ? "has" : "does not have");
	/* Found from the fd: a whole path that does not exist is not looked at. */
	fd = sysbpf_obj_get_at(dfd, "p", "/nonexistent-cgbpf/p");
	CHECK(at ? fd >= 0 : fd == -ENOENT);
	if (fd >= 0)
		close(fd);
	/* No fd, or no relative name: the whole path. */
	fd = sysbpf_obj_get_at(-1, "p", pin);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	fd = sysbpf_obj_get_at(dfd, NULL, pin);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(sysbpf_obj_pin_at(prog, -1, NULL, pin2) == 0 && access(pin2, F_OK) == 0);
	/* Errors keep the convention: a negative errno, and errno set. */
	errno = 0;
	fd = sysbpf_obj_get_at(dfd, "missing", "/nonexistent-cgbpf/missing");
	CHECK(fd == -ENOENT && errno == ENOENT);
	errno = 0;
	CHECK(sysbpf_obj_pin_at(prog, dfd, "p", pin) == -EEXIST && errno == EEXIST);
	/* Not a BPF object: the kernel's own EINVAL, which the whole path gives too. */
	errno = 0;
	CHECK(sysbpf_obj_pin_at(dfd, dfd, "r", pin2) == -EINVAL && errno == EINVAL);
	CHECK(access(pin2, F_OK) == 0 && access(pin, F_OK) == 0);

	close(dfd);
	close(prog);
	unlink(pin);
	unlink(pin2);
	scratch_bpffs_umount(dir);
}

int main(void)
{
	RUN_TEST(test_errors_as_libbpf);
	RUN_TEST(test_possible_cpus);
	if (geteuid() == 0)
		RUN_TEST(test_at);
	else
		printf("SKIP: test_at (needs root to mount a bpffs)\n");
	return UNIT_EXIT();
}
