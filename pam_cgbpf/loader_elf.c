// SPDX-License-Identifier: GPL-2.0-or-later
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h" /* struct want_attach */
#include "loader_elf.h"

const char *hook_section(enum cgbpf_hook hook)
{
	return (unsigned int)hook < HOOK_COUNT ? hook_info[hook].section : "";
}

/* One object file's bytes; every header is copied out (the bytes need not be aligned). */
struct elf_view {
	const uint8_t *p;
	size_t len;
	Elf64_Ehdr eh;
};

static bool in_file(const struct elf_view *v, uint64_t off, uint64_t size)
{
	return off <= v->len && size <= v->len - off;
}

static void shdr(const struct elf_view *v, size_t i, Elf64_Shdr *sh)
{
	memcpy(sh, v->p + v->eh.e_shoff + i * sizeof(*sh), sizeof(*sh));
}

/* The NUL-terminated string at @off of string table @strtab, or NULL. */
static const char *elf_str(const struct elf_view *v, const Elf64_Shdr *strtab, uint64_t off)
{
	const char *s;

	if (strtab->sh_type != SHT_STRTAB || off >= strtab->sh_size)
		return NULL;
	s = (const char *)v->p + strtab->sh_offset + off;
	return memchr(s, '\0', strtab->sh_size - off) ? s : NULL;
}

/* Checks the header and that every section's bytes lie in the file; NULL or what is wrong. */
static const char *elf_open(struct elf_view *v, const void *buf, size_t len)
{
	Elf64_Shdr sh;
	size_t i;

	v->p = buf;
	v->len = len;
	if (len < sizeof(v->eh) || memcmp(buf, ELFMAG, SELFMAG) != 0)
		return "not an ELF file";
	memcpy(&v->eh, buf, sizeof(v->eh));
	if (v->eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    v->eh.e_ident[EI_DATA] != (BYTE_ORDER == LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB))
		return "not a 64-bit ELF file of this machine's byte order";
	if (v->eh.e_machine != EM_BPF)
		return "not an object for BPF (ELF machine is not EM_BPF)";
	if (v->eh.e_shentsize != sizeof(Elf64_Shdr) || v->eh.e_shnum == 0 ||
	    !in_file(v, v->eh.e_shoff, (uint64_t)v->eh.e_shnum * sizeof(Elf64_Shdr)))
		return "truncated or malformed section headers";
	if (v->eh.e_shstrndx == SHN_UNDEF || v->eh.e_shstrndx >= v->eh.e_shnum)
		return "no section name table";
	for (i = 0; i < v->eh.e_shnum; i++) {
		shdr(v, i, &sh);
		if (sh.sh_type != SHT_NOBITS && sh.sh_type != SHT_NULL &&
		    !in_file(v, sh.sh_offset, sh.sh_size))
			return "a section lies outside the file";
	}
	return NULL;
}

/* Adds a program, keeping @progs in libbpf's order: by section, then offset. */
static int prog_add(struct program_seen **progs, size_t *n, const struct program_seen *p)
{
	struct program_seen *v = realloc(*progs, (*n + 1) * sizeof(*v));
	size_t i;

	if (!v)
		return -ENOMEM;
	for (i = *n; i > 0 && (v[i - 1].shndx > p->shndx ||
			       (v[i - 1].shndx == p->shndx && v[i - 1].off > p->off));
	     i--)
		v[i] = v[i - 1];
	v[i] = *p;
	*progs = v;
	(*n)++;
	return 0;
}

/* The object's programs, or NULL with what is wrong in *why. */
static int elf_programs(const struct elf_view *v, struct program_seen **progs, size_t *n,
			const char **why)
{
	Elf64_Shdr shstr, symtab, strtab, sec;
	const char *name, *secname;
	Elf64_Sym sym;
	size_t i, nsyms;
	int r;

	*progs = NULL;
	*n = 0;
	shdr(v, v->eh.e_shstrndx, &shstr);
	for (i = 0; i < v->eh.e_shnum; i++) {
		shdr(v, i, &symtab);
		if (symtab.sh_type == SHT_SYMTAB)
			break;
	}
	if (i == v->eh.e_shnum) {
		*why = "no symbol table";
		return -EINVAL;
	}
	if (symtab.sh_entsize != sizeof(Elf64_Sym) || symtab.sh_link == 0 ||
	    symtab.sh_link >= v->eh.e_shnum) {
		*why = "malformed symbol table";
		return -EINVAL;
	}
	shdr(v, symtab.sh_link, &strtab);
	nsyms = symtab.sh_size / sizeof(Elf64_Sym);
	for (i = 0; i < nsyms; i++) {
		memcpy(&sym, v->p + symtab.sh_offset + i * sizeof(sym), sizeof(sym));
		if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
		    sym.st_shndx >= v->eh.e_shnum)
			continue;
		shdr(v, sym.st_shndx, &sec);
		/* libbpf skips an empty section ("skipping section (size 0)"), symbols and all. */
		if (sec.sh_type != SHT_PROGBITS || !(sec.sh_flags & SHF_EXECINSTR) ||
		    sec.sh_size == 0)
			continue;
		secname = elf_str(v, &shstr, sec.sh_name);
		name = elf_str(v, &strtab, sym.st_name);
		if (!secname || !name) {
			*why = "a name lies outside its string table";
			r = -EINVAL;
			goto fail;
		}
		if (!strcmp(secname, ".text"))
			continue; /* subprograms, not programs */
		if (ELF64_ST_BIND(sym.st_info) == STB_LOCAL) {
			*why = "a program is static (libbpf refuses those)";
			r = -EINVAL;
			goto fail;
		}
		r = prog_add(progs, n,
			     &(struct program_seen){ name, secname, sym.st_shndx, sym.st_value });
		if (r < 0) {
			*why = "out of memory";
			goto fail;
		}
	}
	return 0;
fail:
	free(*progs);
	*progs = NULL;
	*n = 0;
	return r;
}

int program_choose(const struct want_attach *w, const char *file, const struct program_seen *progs,
		   size_t n, size_t *chosen, struct cgbpf_error *err)
{
	const char *section = hook_section(w->hook);
	size_t i, found = n;

	for (i = 0; i < n; i++) {
		if (w->prog_name ? strcmp(progs[i].name, w->prog_name) != 0
				 : strcmp(progs[i].section, section) != 0)
			continue;
		if (found < n)
			return cgbpf_error_at(err, EINVAL, file, w->line,
					      "object %s holds several %s programs (%s, %s): "
					      "name one as %s:NAME",
					      w->path, section, progs[found].name, progs[i].name,
					      w->path);
		found = i;
	}
	if (found == n && w->prog_name)
		return cgbpf_error_at(err, ENOENT, file, w->line,
				      "object %s has no program named %s", w->path, w->prog_name);
	if (found == n)
		return cgbpf_error_at(err, ENOENT, file, w->line,
				      "object %s has no program in section %s for hook %s", w->path,
				      section, hook_name(w->hook));
	if (strcmp(progs[found].section, section) != 0)
		return cgbpf_error_at(err, EINVAL, file, w->line,
				      "program %s in %s is in section %s, but hook %s needs "
				      "section %s",
				      w->prog_name, w->path, progs[found].section,
				      hook_name(w->hook), section);
	*chosen = found;
	return 0;
}

int elf_pick_program(const struct want_attach *w, const char *file, char **prog_name,
		     struct cgbpf_error *err)
{
	struct program_seen *progs;
	struct elf_view v;
	const char *why;
	size_t n, chosen;
	int r;

	*prog_name = NULL;
	why = elf_open(&v, w->obj, w->obj_len);
	r = why ? -EINVAL : elf_programs(&v, &progs, &n, &why);
	if (r == -ENOMEM)
		return cgbpf_oom(err);
	if (r < 0)
		return cgbpf_error_at(err, EINVAL, file, w->line,
				      "object %s is not a valid BPF object: %s", w->path, why);
	r = program_choose(w, file, progs, n, &chosen, err);
	if (r == 0 && !(*prog_name = strdup(progs[chosen].name)))
		r = cgbpf_oom(err);
	free(progs);
	return r;
}
