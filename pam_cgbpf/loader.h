/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CGBPF_LOADER_H
#define CGBPF_LOADER_H

/*
 * The loader: everything that needs libbpf's object layer (the filter skeleton, administrator
 * ELF objects, the libbpf print hook), in its own DSO linked with libbpf, libelf and libz, so
 * that pam_cgbpf.so does not load them at pam_start. The module dlopen()s it only when a
 * program must really be loaded; a login whose programs are all pinned already never does.
 *
 * The loader only loads: it hands back descriptors, and the module fills, freezes and pins
 * (so that pins, their rollback and the fault points stay on one side).
 *
 * Where it lives, one rule for the build tree and an install: pam_cgbpf/loader.so in the
 * directory of the module that loads it (found by dladdr() of one of the module's own
 * symbols): build/pam_cgbpf/loader.so beside build/pam_cgbpf.so, and
 * $(SECUREDIR)/pam_cgbpf/loader.so beside $(SECUREDIR)/pam_cgbpf.so. The module's path must
 * be absolute (libpam always gives one): never a loader relative to the current directory. The
 * file must be owned by root and not writable by group or others. cgbpfctl and the tests link the
 * loader's code in instead (loader_static.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct cgbpf_error;
struct filter_image;
struct want_attach;

#define CGBPF_LOADER_VERSION 1
#define CGBPF_LOADER_SYMBOL  "cgbpf_loader_v1"

/* The maps of a built-in filter instance, which are also their pin names (filter_load.c). */
enum filter_map_id {
	MAP_CONFIG,
	MAP_RULES,
	MAP_PROTO,
	MAP_COUNTERS,
	MAP_DADDR4, /* first of the maps only the packet hooks use */
	MAP_DADDR6,
	MAP_SADDR4,
	MAP_SADDR6,
	MAP_DPORT,
	MAP_SPORT,
	MAP_COUNT,
};

/* What the module lends the loader: its log sink (thread-local state of the module). */
struct cgbpf_loader_host {
	void (*vlog)(int priority, const char *fmt, va_list ap);
};

struct cgbpf_loader {
	uint32_t version; /* CGBPF_LOADER_VERSION */
	uint32_t size;	  /* sizeof(struct cgbpf_loader) the loader was built with */
	/* CGBPF_LOADER_ABI and the engine digest of its build: the module refuses another's. */
	const char *abi;
	const uint8_t *engine_digest;
	/*
	 * Loads the built-in filter program of @img's hook with its maps sized for @img: the
	 * program's fd in *prog_fd, each map's in map_fds (-1 for the maps the hook does not
	 * use), all close-on-exec and the caller's. Nothing is filled or pinned.
	 */
	int (*filter_load)(const struct filter_image *img, int *prog_fd, int map_fds[MAP_COUNT],
			   struct cgbpf_error *err);
	/*
	 * Opens @w's program= object with libbpf, picks its program for the hook as
	 * want_program did, and loads that one alone: its fd (close-on-exec) in *prog_fd.
	 */
	int (*program_load)(const struct want_attach *w, const char *policy_file, int *prog_fd,
			    struct cgbpf_error *err);
};

/* The loader's one exported entry point; @host lives as long as the process. */
typedef const struct cgbpf_loader *cgbpf_loader_fn(const struct cgbpf_loader_host *host);
cgbpf_loader_fn cgbpf_loader_v1;

/*
 * The loader, dlopen()ed (RTLD_NOW | RTLD_LOCAL, then RTLD_NODELETE once accepted) the first
 * time, or the one linked in; NULL with err set, naming the path, when it is missing, not
 * root's, writable by others, or of another build. A refused loader is dlclose()d and not
 * remembered: the next call opens the file again.
 */
const struct cgbpf_loader *cgbpf_loader_get(struct cgbpf_error *err);

/*
 * pam_cgbpf/loader.so in the directory of @module_path into @buf; -EINVAL with err set when
 * @module_path is not absolute (no directory, or one relative to the current directory).
 */
int cgbpf_loader_path(const char *module_path, char *buf, size_t size, struct cgbpf_error *err);

/* The host every loader of this process gets: the module's log sink. */
extern const struct cgbpf_loader_host cgbpf_loader_host;

/*
 * Routes libbpf's voice to the module's log while it lives: libbpf_set_print is process-wide,
 * so the previous printer is saved and given back. In the loader (and what links it in).
 */
struct libbpf_print_guard {
	void *previous;
};
void libbpf_print_capture(struct libbpf_print_guard *g);
void libbpf_print_restore(struct libbpf_print_guard *g);

#endif
