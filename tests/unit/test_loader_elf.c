// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The module's side of the loader split, without the kernel: the engine digest it knows from
 * the build equals the digest of the bytes the loader's skeleton embeds, and its libbpf-free
 * scan of program= objects (loader_elf.c) picks what libbpf picks, fails with the same
 * messages, and reads nothing outside a truncated or corrupted object (run under SAN=1).
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "attach.h"
#include "engine_build.h"
#include "filter.skel.h"
#include "loader_digest.h"
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

/* The scan's answer for @obj on @hook, on an exact-size copy so that ASan sees any overread. */
static int scan(const void *obj, size_t len, enum cgbpf_hook hook, const char *name, char **pick,
		struct cgbpf_error *err)
{
	struct want_attach w = { .hook = hook, .line = 3, .path = "/x.o", .prog_name = name };
	int r;

	w.obj = malloc(len ? len : 1);
	if (!w.obj)
		return -ENOMEM;
	memcpy(w.obj, obj, len);
	w.obj_len = len;
	memset(err, 0, sizeof(*err));
	r = elf_pick_program(&w, "v.conf", pick, err);
	free(w.obj);
	return r;
}

/* libbpf's own view of @obj: its programs' names and sections, in its order. */
static size_t libbpf_programs(const void *obj, size_t len, char names[][64], char sections[][64],
			      size_t max)
{
	struct bpf_object *o = bpf_object__open_mem(obj, len, NULL);
	struct bpf_program *p;
	size_t n = 0;

	if (!o)
		return 0;
	bpf_object__for_each_program(p, o) {
		if (n < max) {
			snprintf(names[n], 64, "%s", bpf_program__name(p));
			snprintf(sections[n], 64, "%s", bpf_program__section_name(p));
		}
		n++;
	}
	bpf_object__close(o);
	return n;
}

/* For every hook, by section and by name, the scan agrees with libbpf on @obj. */
static void agrees_with_libbpf(const void *obj, size_t len, const char *what)
{
	char names[32][64], sections[32][64], *pick;
	struct cgbpf_error err;
	size_t n = libbpf_programs(obj, len, names, sections, 32), i, in_sec, first;
	int h, r;

	CHECK(n > 0 && n <= 32);
	for (h = 0; h < HOOK_COUNT; h++) {
		in_sec = 0;
		first = n;
		for (i = 0; i < n; i++)
			if (!strcmp(sections[i], hook_section((enum cgbpf_hook)h))) {
				if (!in_sec++)
					first = i;
			}
		r = scan(obj, len, (enum cgbpf_hook)h, NULL, &pick, &err);
		if (in_sec == 1) {
			CHECK(r == 0 && pick && !strcmp(pick, names[first]));
		} else if (in_sec == 0) {
			CHECK(r == -ENOENT);
			CHECK_STR_CONTAINS(err.msg,
					   "v.conf:3: object /x.o has no program in section");
		} else {
			CHECK(r == -EINVAL);
			CHECK_STR_CONTAINS(err.msg, "holds several");
			CHECK_STR_CONTAINS(err.msg, names[first]);
		}
		free(pick);
		for (i = 0; i < n; i++) {
			r = scan(obj, len, (enum cgbpf_hook)h, names[i], &pick, &err);
			if (!strcmp(sections[i], hook_section((enum cgbpf_hook)h))) {
				CHECK(r == 0 && pick && !strcmp(pick, names[i]));
			} else {
				CHECK(r == -EINVAL);
				CHECK_STR_CONTAINS(err.msg, "but hook");
				CHECK_STR_CONTAINS(err.msg, sections[i]);
			}
			free(pick);
		}
	}
	r = scan(obj, len, HOOK_EGRESS, "no_such_program", &pick, &err);
	CHECK(r == -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "v.conf:3: object /x.o has no program named no_such_program");
	if (unit_failed_checks)
		printf("  (object %s)\n", what);
}

static void test_engine_digest_is_the_skeletons(void)
{
	uint8_t d[CGBPF_ENGINE_DIGEST_SIZE];
	const uint8_t *elf;
	size_t size = 0;

	elf = filter_bpf__elf_bytes(&size);
	cgbpf_engine_digest_of(elf, size, d);
	CHECK(size > 0);
	CHECK(memcmp(d, cgbpf_engine_digest, sizeof(d)) == 0);
	/* The digest tells objects apart. */
	cgbpf_engine_digest_of(elf, size - 1, d);
	CHECK(memcmp(d, cgbpf_engine_digest, sizeof(d)) != 0);
}

static void test_scan_agrees_with_libbpf_on_the_engine(void)
{
	size_t size = 0;
	const void *elf = filter_bpf__elf_bytes(&size);

	agrees_with_libbpf(elf, size, "filter.bpf.o");
}

/*
 * The one hook table (policy.c): every hook has its policy name and a section, all distinct,
 * and each hook of the engine (the enum's first) has exactly one program of the built-in
 * filter in its section, the one loader.c loads for it.
 */
static void test_hook_table(void)
{
	char names[32][64], sections[32][64];
	size_t size = 0, n, i, in_sec;
	const void *elf = filter_bpf__elf_bytes(&size);
	int h, g;

	n = libbpf_programs(elf, size, names, sections, 32);
	for (h = 0; h < HOOK_COUNT; h++) {
		CHECK(strcmp(hook_name((enum cgbpf_hook)h), "?") != 0);
		CHECK(!strncmp(hook_section((enum cgbpf_hook)h), "cgroup", 6));
		for (g = 0; g < h; g++) {
			CHECK(strcmp(hook_info[g].name, hook_info[h].name) != 0);
			CHECK(strcmp(hook_info[g].section, hook_info[h].section) != 0);
		}
		for (i = 0, in_sec = 0; i < n; i++)
			in_sec += !strcmp(sections[i], hook_section((enum cgbpf_hook)h));
		CHECK(in_sec == (h <= HOOK_SENDMSG6 ? 1u : 0u));
	}
	CHECK(!strcmp(hook_name(HOOK_COUNT), "?") && !strcmp(hook_section(HOOK_COUNT), ""));
}

/* The test objects (several programs in one section, sections of other hooks...), if built. */
static void test_scan_agrees_with_libbpf_on_test_objects(void)
{
	const char *build = getenv("BUILD");
	struct cgbpf_error err = { { 0 } };
	char dir[512], path[1024], real[PATH_MAX];
	struct dirent *e;
	size_t len, seen = 0;
	char *buf;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/bpf", build ? build : "build");
	d = opendir(dir);
	if (!d) {
		printf("  (no %s: only the engine object checked)\n", dir);
		return;
	}
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".bpf.o"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		/* Relative paths: safe_read_file walks from / and wants an absolute one. */
		if (!realpath(path, real) || safe_read_file(real, 1 << 24, &buf, &len, &err) < 0) {
			printf("  cannot read %s: %s\n", path, err.msg);
			CHECK(0);
			continue;
		}
		agrees_with_libbpf(buf, len, e->d_name);
		free(buf);
		seen++;
	}
	closedir(d);
	CHECK(seen > 0);
}

/*
 * An executable section of size 0 with a program's symbol in it, named like the hook of
 * another program: libbpf skips the section, symbols and all, so the scan must not see two
 * programs where libbpf sees one. Made from sock_addr.bpf.o: cgroup/sendmsg4 renamed
 * cgroup/connect4 and emptied.
 */
static void test_scan_skips_empty_sections_as_libbpf(void)
{
	const char *build = getenv("BUILD");
	struct cgbpf_error err = { { 0 } };
	char path[1024], real[PATH_MAX], *buf, *pick = NULL;
	Elf64_Shdr sh, names;
	Elf64_Ehdr eh;
	size_t len, i, connect4 = 0, sendmsg4 = 0;
	int r;

	snprintf(path, sizeof(path), "%s/tests/bpf/sock_addr.bpf.o", build ? build : "build");
	if (!realpath(path, real) || safe_read_file(real, 1 << 24, &buf, &len, &err) < 0) {
		printf("  cannot read %s: %s\n", path, err.msg);
		CHECK(0);
		return;
	}
	memcpy(&eh, buf, sizeof(eh));
	memcpy(&names, buf + eh.e_shoff + eh.e_shstrndx * sizeof(sh), sizeof(sh));
	for (i = 1; i < eh.e_shnum; i++) {
		memcpy(&sh, buf + eh.e_shoff + i * sizeof(sh), sizeof(sh));
		if (!strcmp(buf + names.sh_offset + sh.sh_name, "cgroup/connect4"))
			connect4 = i;
		if (!strcmp(buf + names.sh_offset + sh.sh_name, "cgroup/sendmsg4"))
			sendmsg4 = i;
	}
	CHECK(connect4 && sendmsg4);
	if (!connect4 || !sendmsg4) {
		free(buf);
		return;
	}
	memcpy(&names, buf + eh.e_shoff + connect4 * sizeof(sh), sizeof(sh));
	memcpy(&sh, buf + eh.e_shoff + sendmsg4 * sizeof(sh), sizeof(sh));
	sh.sh_name = names.sh_name;
	sh.sh_size = 0;
	memcpy(buf + eh.e_shoff + sendmsg4 * sizeof(sh), &sh, sizeof(sh));
	r = scan(buf, len, HOOK_CONNECT4, NULL, &pick, &err);
	CHECK(r == 0 && pick && !strcmp(pick, "deny_connect4_port_9"));
	if (r < 0)
		printf("  %s\n", err.msg);
	free(pick);
	agrees_with_libbpf(buf, len, "sock_addr.bpf.o, cgroup/sendmsg4 emptied as cgroup/connect4");
	free(buf);
}

static void test_not_an_object(void)
{
	static const char text[] = "#!/bin/sh\necho not an object\n";
	struct cgbpf_error err;
	char *pick;

	CHECK(scan(text, sizeof(text), HOOK_EGRESS, NULL, &pick, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "v.conf:3: object /x.o is not a valid BPF object: ");
	CHECK(scan(text, 0, HOOK_EGRESS, NULL, &pick, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "is not a valid BPF object");
}

/* Every prefix of the engine object: refused or (the whole file) picked, never an overread. */
static void test_truncated(void)
{
	size_t size = 0, len;
	const uint8_t *elf = filter_bpf__elf_bytes(&size);
	struct cgbpf_error err;
	char *pick;
	int r;

	for (len = 0; len < size; len += len < 4096 ? 1 : 61) {
		r = scan(elf, len, HOOK_EGRESS, NULL, &pick, &err);
		free(pick);
		if (r != -EINVAL) {
			printf("  prefix of %zu bytes: %d (%s)\n", len, r, err.msg);
			CHECK(r == -EINVAL);
			break;
		}
		CHECK_STR_CONTAINS(err.msg, "is not a valid BPF object");
	}
	CHECK(scan(elf, size, HOOK_EGRESS, NULL, &pick, &err) == 0);
	free(pick);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* Hostile headers: offsets and counts pointing outside the file, names without an end. */
static void test_corrupt(void)
{
	size_t size = 0, i, j;
	const uint8_t *elf = filter_bpf__elf_bytes(&size);
	uint8_t *bad = malloc(size);
	struct cgbpf_error err;
	Elf64_Ehdr eh;
	Elf64_Shdr sh;
	char *pick;
	int r;

	if (!bad) {
		CHECK(bad);
		return;
	}
	memcpy(&eh, elf, sizeof(eh));
	/* Fixed lies, each alone. */
	struct {
		size_t off;
		int width;
		uint64_t value;
		const char *why;
	} lies[] = {
		{ offsetof(Elf64_Ehdr, e_machine), 16, EM_X86_64, "EM_BPF" },
		{ EI_CLASS, 8, ELFCLASS32, "64-bit" },
		{ offsetof(Elf64_Ehdr, e_shoff), 64, UINT64_MAX - 8, "section headers" },
		{ offsetof(Elf64_Ehdr, e_shoff), 64, size - 8, "section headers" },
		{ offsetof(Elf64_Ehdr, e_shnum), 16, 0xffff, "section headers" },
		{ offsetof(Elf64_Ehdr, e_shentsize), 16, 32, "section headers" },
		{ offsetof(Elf64_Ehdr, e_shstrndx), 16, 0xfff0, "section name table" },
	};
	for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		memcpy(bad, elf, size);
		if (lies[i].width == 8)
			bad[lies[i].off] = (uint8_t)lies[i].value;
		else if (lies[i].width == 16)
			put16(bad + lies[i].off, (uint16_t)lies[i].value);
		else
			put64(bad + lies[i].off, lies[i].value);
		r = scan(bad, size, HOOK_EGRESS, NULL, &pick, &err);
		CHECK(r == -EINVAL);
		CHECK_STR_CONTAINS(err.msg, lies[i].why);
	}
	/* Every section in turn: its bytes past the end, its name past its table. */
	for (j = 0; j < eh.e_shnum; j++) {
		uint8_t *shp = bad + eh.e_shoff + j * sizeof(sh);

		memcpy(bad, elf, size);
		memcpy(&sh, shp, sizeof(sh));
		if (sh.sh_type == SHT_NULL || sh.sh_type == SHT_NOBITS)
			continue;
		sh.sh_size = size;
		memcpy(shp, &sh, sizeof(sh));
		CHECK(scan(bad, size, HOOK_EGRESS, NULL, &pick, &err) == -EINVAL);
		memcpy(bad, elf, size);
		memcpy(&sh, shp, sizeof(sh));
		sh.sh_name = 0x7fffffff;
		sh.sh_link = 0xffff;
		memcpy(shp, &sh, sizeof(sh));
		r = scan(bad, size, HOOK_EGRESS, NULL, &pick, &err);
		free(pick);
		CHECK(r == 0 || r == -EINVAL || r == -ENOENT);
	}
	/* String tables without a terminating NUL: names would run off their table. */
	for (j = 0; j < eh.e_shnum; j++) {
		memcpy(bad, elf, size);
		memcpy(&sh, bad + eh.e_shoff + j * sizeof(sh), sizeof(sh));
		if (sh.sh_type != SHT_STRTAB)
			continue;
		memset(bad + sh.sh_offset, 'A', sh.sh_size);
		r = scan(bad, size, HOOK_EGRESS, NULL, &pick, &err);
		free(pick);
		CHECK(r == -EINVAL);
	}
	/* Every byte of the headers and the first 8 KiB set to 0xff in turn: no crash, no read out.
	 */
	for (i = 0; i < size && i < 8192; i++) {
		memcpy(bad, elf, size);
		bad[i] = 0xff;
		r = scan(bad, size, HOOK_EGRESS, NULL, &pick, &err);
		free(pick);
		CHECK(r == 0 || r == -EINVAL || r == -ENOENT);
	}
	for (i = eh.e_shoff; i < size; i++) {
		memcpy(bad, elf, size);
		bad[i] ^= 0xa5;
		r = scan(bad, size, HOOK_EGRESS, NULL, &pick, &err);
		free(pick);
		CHECK(r == 0 || r == -EINVAL || r == -ENOENT);
	}
	free(bad);
}

int main(void)
{
	libbpf_set_print(quiet);
	RUN_TEST(test_engine_digest_is_the_skeletons);
	RUN_TEST(test_scan_agrees_with_libbpf_on_the_engine);
	RUN_TEST(test_hook_table);
	RUN_TEST(test_scan_agrees_with_libbpf_on_test_objects);
	RUN_TEST(test_scan_skips_empty_sections_as_libbpf);
	RUN_TEST(test_not_an_object);
	RUN_TEST(test_truncated);
	RUN_TEST(test_corrupt);
	return UNIT_EXIT();
}
