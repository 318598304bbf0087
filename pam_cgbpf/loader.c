// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The loader's side (see loader.h): the only code that uses libbpf's object layer. Built into
 * pam_cgbpf/loader.so for the module, linked in for cgbpfctl and the tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "attach.h"
#include "engine_build.h"
#include "filter.skel.h"
#include "filter_image.h"
#include "filter_load.h"
#include "loader.h"
#include "loader_elf.h"
#include "log.h"

#define VERIFIER_LOG_SIZE (64u << 10)

static const struct cgbpf_loader_host *host;

/* ---- libbpf's voice ------------------------------------------------------------------------ */

static int libbpf_to_sink(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf is chatty at DEBUG and prints verifier logs at WARN: keep both out of the way. */
	if (host && host->vlog)
		host->vlog(level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG, fmt, ap);
	return 0;
}

void libbpf_print_capture(struct libbpf_print_guard *g)
{
	g->previous = (void *)libbpf_set_print(libbpf_to_sink);
}

void libbpf_print_restore(struct libbpf_print_guard *g)
{
	libbpf_set_print((libbpf_print_fn_t)g->previous);
}

/* ---- the built-in filter ------------------------------------------------------------------- */

#define N_ENGINE_PROGS 7

/* The engine's program of @hook (the enum's first values are the engine's hooks). */
static struct bpf_program *prog_for_hook(struct filter_bpf *skel, enum cgbpf_hook hook)
{
	struct bpf_program *progs[N_ENGINE_PROGS] = {
		skel->progs.filter_ingress,	skel->progs.filter_egress,
		skel->progs.filter_sock_create, skel->progs.filter_connect4,
		skel->progs.filter_connect6,	skel->progs.filter_sendmsg4,
		skel->progs.filter_sendmsg6,
	};

	return (unsigned int)hook < N_ENGINE_PROGS ? progs[hook] : NULL;
}

/* The last non-empty line of a verifier log, in place. */
static const char *last_log_line(char *log)
{
	size_t n = strnlen(log, VERIFIER_LOG_SIZE - 1);
	char *p;

	while (n && (log[n - 1] == '\n' || log[n - 1] == ' '))
		log[--n] = '\0';
	p = strrchr(log, '\n');
	return p ? p + 1 : log;
}

/* A close-on-exec copy of @fd that outlives the object it belongs to. */
static int dup_fd(int fd, struct cgbpf_error *err)
{
	int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return r < 0 ? cgbpf_error_set(err, errno, "cannot duplicate a descriptor: %m") : r;
}

/* Only the program of @img's hook is loaded, and only the maps the hook uses, sized for @img. */
static int setup_skel(struct filter_bpf *skel, const struct filter_image *img,
		      struct bpf_program *prog, char *log)
{
	struct bpf_program *p;
	struct bpf_map *map;
	size_t i;
	int r;

	bpf_object__for_each_program(p, skel->obj) {
		r = bpf_program__set_autoload(p, p == prog);
		if (r < 0)
			return r;
	}
	r = bpf_program__set_log_buf(prog, log, VERIFIER_LOG_SIZE);
	for (i = 0; i < MAP_COUNT && r == 0; i++) {
		map = bpf_object__find_map_by_name(skel->obj, filter_map_names[i]);
		if (!map)
			return -ENOENT;
		if (i >= filter_n_maps_for(img->hook))
			r = bpf_map__set_autocreate(map, false);
		else
			r = bpf_map__set_max_entries(
				map, filter_map_max_entries(img, (enum filter_map_id)i));
	}
	return r;
}

static int filter_load(const struct filter_image *img, int *prog_fd, int map_fds[MAP_COUNT],
		       struct cgbpf_error *err)
{
	struct libbpf_print_guard guard;
	struct filter_bpf *skel = NULL;
	struct bpf_program *prog;
	char *log = NULL;
	size_t i;
	int r;

	*prog_fd = -1;
	for (i = 0; i < MAP_COUNT; i++)
		map_fds[i] = -1;
	libbpf_print_capture(&guard);
	log = calloc(1, VERIFIER_LOG_SIZE);
	if (!log) {
		r = cgbpf_oom(err);
		goto out;
	}
	skel = filter_bpf__open();
	if (!skel) {
		r = errno ? errno : EINVAL;
		r = cgbpf_error_set(err, r, "cannot open the built-in filter object: %s",
				    strerror(r));
		goto out;
	}
	prog = prog_for_hook(skel, img->hook);
	r = prog ? setup_skel(skel, img, prog, log) : -EINVAL;
	if (r < 0) {
		r = cgbpf_error_set(err, r, "cannot set up the built-in filter object: %s",
				    strerror(-r));
		goto out;
	}
	r = filter_bpf__load(skel);
	if (r < 0) {
		r = cgbpf_error_set(err, r, "loading the built-in %s filter failed: %s%s%s",
				    hook_name(img->hook), strerror(-r),
				    log[0] ? "; verifier: " : "", log[0] ? last_log_line(log) : "");
		goto out;
	}
	r = *prog_fd = dup_fd(bpf_program__fd(prog), err);
	for (i = 0; i < filter_n_maps_for(img->hook) && r >= 0; i++) {
		r = map_fds[i] = dup_fd(
			bpf_map__fd(bpf_object__find_map_by_name(skel->obj, filter_map_names[i])),
			err);
	}
	if (r >= 0)
		r = 0;
out:
	if (r < 0) {
		/* Nothing for the caller to close: it closes what is >= 0 (filter_load.c). */
		for (i = 0; i < MAP_COUNT; i++) {
			if (map_fds[i] >= 0)
				close(map_fds[i]);
			map_fds[i] = -1;
		}
		if (*prog_fd >= 0)
			close(*prog_fd);
		*prog_fd = -1;
	}
	filter_bpf__destroy(skel);
	free(log);
	libbpf_print_restore(&guard);
	return r;
}

/* ---- administrators' objects --------------------------------------------------------------- */

/*
 * Opens an object from memory and picks the program for @w's hook (program_choose); the
 * others are not loaded. libbpf's word is the last: want_program's scan decided the same from
 * the same bytes.
 */
static int object_pick(const struct want_attach *w, const char *file, struct bpf_object **objp,
		       struct bpf_program **out, struct cgbpf_error *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "pam_cgbpf_obj");
	struct program_seen *seen = NULL;
	struct bpf_program **progs = NULL, *prog;
	struct bpf_object *obj;
	size_t n = 0, chosen;
	int r;

	errno = 0;
	obj = bpf_object__open_mem(w->obj, w->obj_len, &opts);
	if (!obj) {
		r = errno ? -errno : -EINVAL;
		return cgbpf_error_at(err, r, file, w->line,
				      "object %s is not a valid BPF object: %s", w->path,
				      errno_text(r));
	}
	bpf_object__for_each_program(prog, obj)
		n++;
	seen = calloc(n ? n : 1, sizeof(*seen));
	progs = calloc(n ? n : 1, sizeof(*progs));
	if (!seen || !progs) {
		r = cgbpf_oom(err);
		goto out;
	}
	n = 0;
	bpf_object__for_each_program(prog, obj) {
		progs[n] = prog;
		seen[n++] = (struct program_seen){ .name = bpf_program__name(prog),
						   .section = bpf_program__section_name(prog) };
	}
	r = program_choose(w, file, seen, n, &chosen, err);
	if (r < 0)
		goto out;
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, prog == progs[chosen]);
	*objp = obj;
	*out = progs[chosen];
	obj = NULL;
out:
	bpf_object__close(obj);
	free(progs);
	free(seen);
	return r;
}

/* The program the module's scan chose for @w (w->ident is "SHA256:NAME", ledger.h), or NULL. */
static const char *scan_choice(const struct want_attach *w)
{
	const char *colon = w->ident ? strchr(w->ident, ':') : NULL;

	return colon && colon[1] ? colon + 1 : NULL;
}

static int program_load(const struct want_attach *w, const char *policy_file, int *prog_fd,
			struct cgbpf_error *err)
{
	struct libbpf_print_guard guard;
	struct bpf_object *obj = NULL;
	struct bpf_program *prog = NULL;
	const char *chosen = scan_choice(w);
	int r;

	*prog_fd = -1;
	libbpf_print_capture(&guard);
	r = object_pick(w, policy_file, &obj, &prog, err);
	/*
	 * The shared cache names the program by the scan's choice: loading another under that
	 * name would hand it to every later login of any policy naming this object.
	 */
	if (r == 0 && (!chosen || strcmp(chosen, bpf_program__name(prog)) != 0))
		r = cgbpf_error_at(err, EINVAL, policy_file, w->line,
				   "object %s: libbpf picks program %s where the policy check "
				   "chose %s; refusing to load it",
				   w->path, bpf_program__name(prog), chosen ? chosen : "none");
	if (r == 0) {
		r = bpf_object__load(obj);
		if (r < 0)
			r = cgbpf_error_at(err, r, policy_file, w->line,
					   "program %s: the kernel refused to load it: %s", w->what,
					   errno_text(r));
	}
	if (r == 0) {
		r = dup_fd(bpf_program__fd(prog), err);
		if (r >= 0) {
			*prog_fd = r;
			r = 0;
		}
	}
	bpf_object__close(obj);
	libbpf_print_restore(&guard);
	return r;
}

/* ---- the entry point ----------------------------------------------------------------------- */

static const struct cgbpf_loader loader_v1 = {
	.version = CGBPF_LOADER_VERSION,
	.size = sizeof(struct cgbpf_loader),
	.abi = CGBPF_LOADER_ABI,
	.engine_digest = cgbpf_engine_digest,
	.filter_load = filter_load,
	.program_load = program_load,
};

__attribute__((visibility("default"))) const struct cgbpf_loader *
cgbpf_loader_v1(const struct cgbpf_loader_host *h)
{
	host = h;
	return &loader_v1;
}
