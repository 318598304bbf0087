/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The loader's choice of a program= rule's program, made without the loader: a bounds-checked
 * read of the object's ELF section headers and symbol table (glibc's <elf.h>, no libelf), so
 * that checking a policy at every open does not load libbpf. It sees the programs as libbpf
 * does (a global function in an executable section other than .text, in section then offset
 * order) and fails with the messages libbpf's pick would give; the loader, which does libbpf's
 * full open when it loads, has the last word.
 */
#ifndef CGBPF_LOADER_ELF_H
#define CGBPF_LOADER_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "resolve.h" /* enum cgbpf_hook */

struct want_attach;

/* The ELF section a program for @hook is in: "cgroup/connect4"... */
const char *hook_section(enum cgbpf_hook hook);

/* A program of an object as libbpf enumerates them. */
struct program_seen {
	const char *name, *section;
	uint16_t shndx; /* the order: section, then offset (loader_elf.c) */
	uint64_t off;
};

/*
 * Of @progs, in libbpf's order, the one @w wants: the one named w->prog_name, or the only
 * one in the section of w->hook; its index in *chosen. The one set of rules and messages for
 * the scan below and the loader's libbpf pick.
 */
int program_choose(const struct want_attach *w, const char *file, const struct program_seen *progs,
		   size_t n, size_t *chosen, struct cgbpf_error *err);

/*
 * Picks @w's program in its object (w->obj, w->obj_len): the one named w->prog_name, or the
 * only one in the section of w->hook. Its name, malloc()ed, in *prog_name. Errors are
 * "FILE:LINE: ..." with @file and w->line.
 */
int elf_pick_program(const struct want_attach *w, const char *file, char **prog_name,
		     struct cgbpf_error *err);

#endif
