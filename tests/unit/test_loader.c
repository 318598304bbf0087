// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The loader's side of the split (loader.c), linked in as cgbpfctl links it: on failure it
 * leaves its caller nothing to close and nothing open. Loading needs root (make check runs as
 * root); without it the tests say SKIP.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "filter_compile.h"
#include "filter_load.h"
#include "loader.h"
#include "unit.h"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static size_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * Under every descriptor limit from too few to enough: each failure leaves *prog_fd and every
 * map_fds[i] at -1 (filter_get_shared closes what is >= 0 after a failure) and no descriptor
 * open; among them, failures after the load, while the descriptors are duplicated.
 */
static void test_filter_load_fails_leaving_nothing(void)
{
	const struct cgbpf_loader *l;
	struct filter_image *img = NULL;
	struct cgbpf_error err = { { 0 } };
	int prog_fd, map_fds[MAP_COUNT];
	struct rlimit old, lim;
	size_t before, i, mid_dup = 0;
	bool loaded = false;
	int r;

	CHECK(filter_compile(HOOK_EGRESS, NULL, 0, "(test)", &img, &err) == 0);
	l = cgbpf_loader_get(&err);
	CHECK(l != NULL && img != NULL);
	if (!l || !img || getrlimit(RLIMIT_NOFILE, &old) < 0) {
		filter_image_free(img);
		return;
	}
	/*
	 * Once at full width first: libbpf caches its kernel feature probes for the process, and
	 * a probe that fails for want of a descriptor would be cached as "not supported".
	 */
	CHECK(l->filter_load(img, &prog_fd, map_fds, &err) == 0);
	for (i = 0; i < MAP_COUNT; i++)
		if (map_fds[i] >= 0)
			close(map_fds[i]);
	if (prog_fd >= 0)
		close(prog_fd);
	before = open_fds();
	for (lim.rlim_cur = before; lim.rlim_cur < before + 256 && !loaded; lim.rlim_cur++) {
		memset(&err, 0, sizeof(err));
		lim.rlim_max = old.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &lim) < 0) {
			CHECK(0);
			break;
		}
		r = l->filter_load(img, &prog_fd, map_fds, &err);
		setrlimit(RLIMIT_NOFILE, &old);
		if (r == 0) {
			loaded = true;
			CHECK(prog_fd >= 0);
			for (i = 0; i < filter_n_maps_for(HOOK_EGRESS); i++) {
				CHECK(map_fds[i] >= 0);
				close(map_fds[i]);
			}
			close(prog_fd);
			continue;
		}
		mid_dup += strstr(err.msg, "cannot duplicate a descriptor") != NULL;
		CHECK(prog_fd == -1);
		for (i = 0; i < MAP_COUNT; i++)
			CHECK(map_fds[i] == -1);
		CHECK(open_fds() == before);
		if (unit_failed_checks) {
			printf("  with %zu descriptors allowed: %s\n", (size_t)lim.rlim_cur,
			       err.msg);
			break;
		}
	}
	CHECK(loaded);
	CHECK(mid_dup > 0);
	CHECK(open_fds() == before);
	filter_image_free(img);
}

int main(void)
{
	libbpf_set_print(quiet);
	if (geteuid() == 0) {
		RUN_TEST(test_filter_load_fails_leaving_nothing);
	} else {
		printf("SKIP: test_filter_load_fails_leaving_nothing: loading BPF needs root\n");
	}
	return UNIT_EXIT();
}
