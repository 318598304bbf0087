/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CGBPF_LOADER_H
#define CGBPF_LOADER_H

/*
 * The loader: everything that needs libbpf's object layer (the filter skeleton, administrator
 * ELF objects, the libbpf print hook), in its own DSO linked with libbpf, libelf and libz, so
 * that pam_cgbpf.so does not load them at pam_start. The module dlopen()s it only when a
 * program must really be loaded (WIP: not wired in yet).
 *
 * Where it lives, one rule for the build tree and an install: pam_cgbpf/loader.so in the
 * directory of the module that loads it (found by dladdr() of one of the module's own
 * symbols): build/pam_cgbpf/loader.so beside build/pam_cgbpf.so, and
 * $(SECUREDIR)/pam_cgbpf/loader.so beside $(SECUREDIR)/pam_cgbpf.so. The file must be owned
 * by root and not writable by group or others.
 */
#include <stddef.h>
#include <stdint.h>

struct cgbpf_error;
struct filter_image;
struct want_attach;
struct libbpf_print_guard;

#define CGBPF_LOADER_VERSION 1
#define CGBPF_LOADER_SYMBOL  "cgbpf_loader_v1"

struct cgbpf_loader {
	uint32_t version; /* CGBPF_LOADER_VERSION */
	uint32_t size;	  /* sizeof(struct cgbpf_loader) the loader was built with */
	/* Load the filter instance of img and pin it in dir (empty); its program fd in *prog_fd. */
	int (*filter_load_pin)(const struct filter_image *img, const char *dir, int *prog_fd,
			       struct cgbpf_error *err);
	int (*filter_dry_run)(const struct filter_image *img, struct cgbpf_error *err);
	/* Load an administrator's program= object and pin its program at pin. */
	int (*program_load_pin)(const struct want_attach *w, const char *dir, const char *pin,
				const char *policy_file, int *prog_fd, struct cgbpf_error *err);
	void (*print_capture)(struct libbpf_print_guard *g);
	void (*print_restore)(struct libbpf_print_guard *g);
};

/* The loader's one exported entry point. */
typedef const struct cgbpf_loader *cgbpf_loader_fn(void);

/*
 * The loader, dlopen()ed (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) the first time; NULL with
 * err set, naming the path, when it is missing, not root's, writable by others, or of
 * another version.
 */
const struct cgbpf_loader *cgbpf_loader_get(struct cgbpf_error *err);

#endif
