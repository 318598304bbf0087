// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The raw bpf(2) wrappers keep libbpf 1.x's convention (a negative errno, and errno set to
 * it), so that the callers written for libbpf keep their error handling: compared with libbpf
 * on calls that fail the same way for any user.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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

int main(void)
{
	RUN_TEST(test_errors_as_libbpf);
	RUN_TEST(test_possible_cpus);
	return UNIT_EXIT();
}
