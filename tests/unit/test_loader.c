// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The loader's side of the split (loader.c), linked in as cgbpfctl links it: on failure it
 * leaves its caller nothing to close and nothing open, and it loads a program= object's program
 * only when libbpf's pick is the one the module's scan chose (the name in the cache's ident).
 * Loading needs root (make check runs as root); without it those tests say SKIP.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "attach.h"
#include "filter_compile.h"
#include "filter_load.h"
#include "loader.h"
#include "loader_elf.h"
#include "safe_file.h"
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

/* A program= rule's want as want_program makes it (attach.c): the object, and the scan's ident. */
static int want_of(struct want_attach *w, const char *obj, enum cgbpf_hook hook,
		   const char *prog_name)
{
	const char *build = getenv("BUILD");
	struct cgbpf_error err = { { 0 } };
	char path[PATH_MAX], real[PATH_MAX], *name = NULL;
	int r;

	*w = (struct want_attach){
		.hook = hook, .kind = ATT_PROGRAM, .line = 7, .prog_name = prog_name
	};
	snprintf(path, sizeof(path), "%s/tests/bpf/%s", build ? build : "build", obj);
	if (!realpath(path, real) ||
	    safe_read_file(real, OBJECT_MAX_SIZE, &w->obj, &w->obj_len, &err) < 0) {
		printf("  cannot read %s: %s\n", path, err.msg);
		return -ENOENT;
	}
	w->path = "/etc/x/obj.bpf.o";
	r = elf_pick_program(w, "v.conf", &name, &err);
	if (r == 0 && asprintf(&w->ident, "0123abcd:%s", name) < 0)
		r = -ENOMEM;
	free(name);
	return r;
}

static void want_free(struct want_attach *w)
{
	free(w->obj);
	free(w->ident);
}

static void test_program_load_takes_the_scans_choice(void)
{
	const struct cgbpf_loader *l;
	struct cgbpf_error err = { { 0 } };
	struct want_attach w;
	int fd = -1;

	l = cgbpf_loader_get(&err);
	CHECK(l != NULL);
	if (!l || want_of(&w, "sock_addr.bpf.o", HOOK_CONNECT4, NULL) < 0) {
		CHECK(0);
		return;
	}
	CHECK_STR_CONTAINS(w.ident, ":deny_connect4_port_9");
	CHECK(l->program_load(&w, "v.conf", &fd, &err) == 0 && fd >= 0);
	if (fd >= 0)
		close(fd);
	want_free(&w);
	/* By name too; and in an odd object (tests/bpf/odd_sections.bpf.c) as libbpf sees it. */
	const struct {
		const char *obj, *name;
		enum cgbpf_hook hook;
	} cases[] = {
		{ "sock_addr.bpf.o", "deny_sendmsg4_port_9", HOOK_SENDMSG4 },
		{ "odd_sections.bpf.o", NULL, HOOK_CONNECT4 },
		{ "odd_sections.bpf.o", "odd_connect6_b", HOOK_CONNECT6 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (want_of(&w, cases[i].obj, cases[i].hook, cases[i].name) < 0) {
			CHECK(0);
			continue;
		}
		fd = -1;
		memset(&err, 0, sizeof(err));
		CHECK(l->program_load(&w, "v.conf", &fd, &err) == 0 && fd >= 0);
		if (fd < 0)
			printf("  %s: %s\n", cases[i].obj, err.msg);
		else
			close(fd);
		want_free(&w);
	}
}

/*
 * Should the scan and libbpf ever disagree (here: an ident naming another program of the
 * object), the loader refuses before loading anything, naming the policy line and the object.
 */
static void test_program_load_refuses_another_pick(void)
{
	const struct cgbpf_loader *l;
	struct cgbpf_error err = { { 0 } };
	struct want_attach w;
	size_t before = open_fds();
	char *good;
	int fd;

	l = cgbpf_loader_get(&err);
	CHECK(l != NULL);
	if (!l || want_of(&w, "sock_addr.bpf.o", HOOK_CONNECT4, NULL) < 0) {
		CHECK(0);
		return;
	}
	good = w.ident;
	w.ident = "0123abcd:deny_sendmsg4_port_9";
	fd = 5;
	CHECK(l->program_load(&w, "v.conf", &fd, &err) == -EINVAL && fd == -1);
	CHECK_STR_CONTAINS(err.msg, "v.conf:7: object /etc/x/obj.bpf.o: libbpf picks program "
				    "deny_connect4_port_9 where the policy check chose "
				    "deny_sendmsg4_port_9; refusing to load it");
	/* No name to compare with: refused too. */
	const char *none[] = { NULL, "0123abcd", "0123abcd:" };
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		memset(&err, 0, sizeof(err));
		w.ident = (char *)none[i];
		fd = 5;
		CHECK(l->program_load(&w, "v.conf", &fd, &err) == -EINVAL && fd == -1);
		CHECK_STR_CONTAINS(err.msg, "where the policy check chose none");
	}
	w.ident = good;
	CHECK(open_fds() == before);
	want_free(&w);
}

int main(void)
{
	libbpf_set_print(quiet);
	if (geteuid() == 0) {
		RUN_TEST(test_filter_load_fails_leaving_nothing);
		RUN_TEST(test_program_load_takes_the_scans_choice);
	} else {
		printf("SKIP: test_filter_load_fails_leaving_nothing: loading BPF needs root\n");
		printf("SKIP: test_program_load_takes_the_scans_choice: loading BPF needs root\n");
	}
	RUN_TEST(test_program_load_refuses_another_pick);
	return UNIT_EXIT();
}
