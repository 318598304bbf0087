// SPDX-License-Identifier: GPL-2.0-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/magic.h>

#include "sysbpf.h"

#include "attach.h"
#include "fault.h"
#include "filter_load.h"
#include "layout.h"
#include "loader.h"
#include "loader_elf.h"
#include "safe_file.h"
#include "sha256.h"
#include "util.h"

/* policy.c enforces the per-hook limit; the filter's tables must hold what it lets through. */
_Static_assert(POLICY_MAX_RULES_PER_HOOK <= FILTER_MAX_RULES,
	       "a policy may hold more rules per hook than the built-in filter");

static const enum bpf_attach_type hook_attach_types[HOOK_COUNT] = {
	[HOOK_INGRESS] = BPF_CGROUP_INET_INGRESS,
	[HOOK_EGRESS] = BPF_CGROUP_INET_EGRESS,
	[HOOK_SOCK_CREATE] = BPF_CGROUP_INET_SOCK_CREATE,
	[HOOK_CONNECT4] = BPF_CGROUP_INET4_CONNECT,
	[HOOK_CONNECT6] = BPF_CGROUP_INET6_CONNECT,
	[HOOK_SENDMSG4] = BPF_CGROUP_UDP4_SENDMSG,
	[HOOK_SENDMSG6] = BPF_CGROUP_UDP6_SENDMSG,
	[HOOK_BIND4] = BPF_CGROUP_INET4_BIND,
	[HOOK_BIND6] = BPF_CGROUP_INET6_BIND,
};

static const enum bpf_prog_type hook_prog_types[HOOK_COUNT] = {
	[HOOK_INGRESS] = BPF_PROG_TYPE_CGROUP_SKB,
	[HOOK_EGRESS] = BPF_PROG_TYPE_CGROUP_SKB,
	[HOOK_SOCK_CREATE] = BPF_PROG_TYPE_CGROUP_SOCK,
	[HOOK_CONNECT4] = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
	[HOOK_CONNECT6] = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
	[HOOK_SENDMSG4] = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
	[HOOK_SENDMSG6] = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
	[HOOK_BIND4] = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
	[HOOK_BIND6] = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
};

static void want_free(struct want_attach *w)
{
	filter_image_free(w->img);
	free(w->obj);
	free(w->ident);
	free(w->what);
	free(w->lines);
}

void want_set_free(struct want_set *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		want_free(&ws->v[i]);
	free(ws->v);
	*ws = (struct want_set){ 0 };
}

static int want_push(struct want_set *ws, struct want_attach *w)
{
	struct want_attach *n = realloc(ws->v, (ws->n + 1) * sizeof(*n));

	if (!n) {
		want_free(w);
		return -ENOMEM;
	}
	ws->v = n;
	ws->v[ws->n++] = *w;
	return 0;
}

static int want_program(const struct rule *rule, const char *file, struct want_attach *w,
			struct cgbpf_error *err)
{
	_cleanup_free_ char *name = NULL;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	int r;

	r = safe_read_file(rule->path, OBJECT_MAX_SIZE, &w->obj, &w->obj_len, err);
	if (r < 0)
		return cgbpf_error_context(err, r, "%s:%u: program", file, rule->line);
	/* Without libbpf: this runs at every open, loading happens once (program_get_shared). */
	r = elf_pick_program(w, file, &name, err);
	if (r < 0)
		return r;
	sha256(w->obj, w->obj_len, digest);
	sha256_hex(digest, hex);
	if (asprintf(&w->ident, "%s:%s", hex, name) < 0) {
		w->ident = NULL;
		return -ENOMEM;
	}
	if (asprintf(&w->what, "%s:%s", rule->path, name) < 0) {
		w->what = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* What a BPF fd is, as its anon inode says: "bpf-prog", "bpf-map", "bpf_link"... */
static int bpf_fd_kind(int fd, char *buf, size_t size)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	snprintf(buf, size, "%s", strncmp(target, "anon_inode:", 11) ? target : target + 11);
	return 0;
}

/* A pinned program must be the administrator's: root-owned, not writable by others. */
static int want_pinned(const struct rule *rule, enum cgbpf_hook hook, const char *file,
		       struct want_attach *w, struct cgbpf_error *err)
{
	struct bpf_prog_info info = { 0 };
	__u32 info_len = sizeof(info);
	_cleanup_close_ int fd = -1;
	char kind[80];
	struct stat st;
	int r;

	if (lstat(rule->path, &st) < 0)
		return cgbpf_error_at(err, errno, file, rule->line, "pinned %s: %m", rule->path);
	if (st.st_uid != 0 || (st.st_mode & 022))
		return cgbpf_error_at(err, EPERM, file, rule->line,
				      "pinned %s refused: must be owned by root and not writable "
				      "by group or others",
				      rule->path);
	fd = sysbpf_obj_get(rule->path);
	if (fd < 0)
		return cgbpf_error_at(err, errno, file, rule->line,
				      "pinned %s is not a pinned BPF object: %m", rule->path);
	r = bpf_fd_kind(fd, kind, sizeof(kind));
	if (r < 0)
		return cgbpf_error_at(err, r, file, rule->line,
				      "pinned %s: cannot tell its kind: %s", rule->path,
				      errno_text(r));
	/* A map's info would fill the program's and its type pass for one (8, 9, ...). */
	if (strcmp(kind, "bpf-prog") != 0)
		return cgbpf_error_at(err, EINVAL, file, rule->line,
				      "pinned %s is a %s, not a program", rule->path,
				      strcmp(kind, "bpf-map") ? kind : "map");
	if (sysbpf_obj_get_info_by_fd(fd, &info, &info_len) < 0)
		return cgbpf_error_at(err, errno, file, rule->line, "pinned %s: %m", rule->path);
	if (info.type != hook_prog_types[hook])
		return cgbpf_error_at(err, EINVAL, file, rule->line,
				      "pinned %s is not a program for hook %s (program type %u)",
				      rule->path, hook_name(hook), info.type);
	if (asprintf(&w->ident, "%u:%s", info.id, rule->path) < 0) {
		w->ident = NULL;
		return -ENOMEM;
	}
	w->what = strdup(rule->path);
	return w->what ? 0 : -ENOMEM;
}

/* "2,3,7": the policy lines of a filter's rules, which its shared image does not hold. */
static int rule_lines(const struct rule *const *rules, size_t n, char **out)
{
	char *s = malloc(n * 11 + 1), *p = s;

	if (!s)
		return -ENOMEM;
	*p = '\0';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%u", i ? "," : "", rules[i]->line);
	*out = s;
	return 0;
}

/* The built-in filter of @hook compiled from @rules, with what status and the ledger show. */
static int want_filter(enum cgbpf_hook hook, const struct rule *const *rules, size_t n,
		       const char *policy_file, struct want_set *ws, struct cgbpf_error *err)
{
	struct want_attach w = { .hook = hook, .kind = ATT_FILTER };
	int r;

	w.line = rules[0]->line;
	r = filter_compile(hook, rules, n, policy_file, &w.img, err);
	if (r == 0 && !(w.ident = strdup(filter_image_id(w.img))))
		r = -ENOMEM;
	if (r == 0 && asprintf(&w.what, "%zu %srule%s", n, hook_is_early(hook) ? "egress " : "",
			       n == 1 ? "" : "s") < 0) {
		w.what = NULL;
		r = -ENOMEM;
	}
	if (r == 0)
		r = rule_lines(rules, n, &w.lines);
	if (r < 0) {
		want_free(&w);
		return r;
	}
	return want_push(ws, &w);
}

int want_set_build(const struct resolved_policy *rp, const char *policy_file, struct want_set *out,
		   struct cgbpf_error *err)
{
	const struct hook_plan *egress = &rp->hook[HOOK_EGRESS];
	struct want_set ws = { 0 };
	int r = 0;

	for (int h = 0; h < HOOK_COUNT && r == 0; h++) {
		const struct hook_plan *plan = &rp->hook[h];

		if (plan->none)
			continue;
		if (plan->n_filter)
			r = want_filter((enum cgbpf_hook)h, plan->filter, plan->n_filter,
					policy_file, &ws, err);
		for (size_t i = 0; i < plan->n_programs && r == 0; i++) {
			const struct rule *rule = plan->programs[i];
			struct want_attach w = {
				.hook = (enum cgbpf_hook)h,
				.kind = rule->action == ACT_PROGRAM ? ATT_PROGRAM : ATT_PINNED,
				.line = rule->line,
				.path = rule->path,
				.prog_name = rule->prog_name,
			};

			if (w.kind == ATT_PROGRAM)
				r = want_program(rule, policy_file, &w, err);
			else
				r = want_pinned(rule, (enum cgbpf_hook)h, policy_file, &w, err);
			if (r < 0)
				want_free(&w);
			else
				r = want_push(&ws, &w);
		}
	}
	/*
	 * The egress rules' early verdict, after every other program of those
	 * hooks, so that it judges the address an administrator's own connect4
	 * program may have rewritten.
	 */
	if (r == 0 && !egress->none && filter_early_useful(egress->filter, egress->n_filter))
		for (int h = 0; h < HOOK_COUNT && r == 0; h++)
			if (hook_is_early((enum cgbpf_hook)h))
				r = want_filter((enum cgbpf_hook)h, egress->filter,
						egress->n_filter, policy_file, &ws, err);
	if (r < 0) {
		want_set_free(&ws);
		return r == -ENOMEM ? cgbpf_error_set(err, r, "out of memory") : r;
	}
	*out = ws;
	return 0;
}

static bool is_bpffs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == BPF_FS_MAGIC;
}

/* An existing directory of ours on bpffs: root's and nobody else's. */
static int bpffs_dir_check(const char *dir, const struct stat *st, struct cgbpf_error *err)
{
	if (!S_ISDIR(st->st_mode) || st->st_uid != 0 || (st->st_mode & 077))
		return cgbpf_error_set(
			err, EPERM,
			"%s refused: must be a root-only directory (uid %u, mode %04o)%s", dir,
			st->st_uid, st->st_mode & 07777,
			st->st_uid ? "; someone else created it: remove it" : "");
	return 0;
}

/*
 * The directory fd and name for an *at call on @path: @path below @at's
 * directory from its fd, or else the whole path (AT_FDCWD).
 */
static int at_fd(struct bpffs_at at, const char *path, const char **name)
{
	const char *rel = at.fd >= 0 ? layout_below(at.dir, path) : NULL;

	*name = rel ? rel : path;
	return rel ? at.fd : AT_FDCWD;
}

/* Made by mkdir as root, 0700: nothing to check. Else someone's: check it. */
static int bpffs_mkdir_or_check(struct bpffs_at at, const char *dir, bool *created,
				struct cgbpf_error *err)
{
	const char *name;
	int fd = at_fd(at, dir, &name);
	struct stat st;

	*created = mkdirat(fd, name, 0700) == 0;
	if (*created)
		return 0;
	if (errno != EEXIST)
		return cgbpf_error_set(err, errno, "cannot create %s: %m", dir);
	/* The directory that mkdirat found, not one the whole path might walk to. */
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cgbpf_error_set(err, errno, "cannot stat %s: %m", dir);
	return bpffs_dir_check(dir, &st, err);
}

/* Usually there already (the shared directory): looked at first, made only when missing. */
int bpffs_mkdir(const char *dir, struct cgbpf_error *err)
{
	struct stat st;
	bool created;

	if (lstat(dir, &st) == 0)
		return bpffs_dir_check(dir, &st, err);
	if (errno != ENOENT)
		return cgbpf_error_set(err, errno, "cannot stat %s: %m", dir);
	return bpffs_mkdir_or_check(BPFFS_AT_NONE, dir, &created, err);
}

/* Usually new (a user's pin directory): made first, looked at only when it was there. */
int bpffs_mkdir_new(struct bpffs_at at, const char *dir, bool *created, struct cgbpf_error *err)
{
	return bpffs_mkdir_or_check(at, dir, created, err);
}

/*
 * A directory above our pins, on bpffs: whoever owns it, or may write it
 * without the sticky bit, can rename our directories away and plant their own
 * (a bpffs mounted 1777 by someone else, a directory a user made first).
 */
static int bpffs_parent_check(const char *bpffs, const char *dir, struct cgbpf_error *err)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return cgbpf_error_set(err, errno, "bpffs=%s: cannot stat %s: %m", bpffs, dir);
	if (!S_ISDIR(st.st_mode))
		return cgbpf_error_set(err, ENOTDIR, "bpffs=%s refused: %s is not a directory",
				       bpffs, dir);
	if (st.st_uid != 0)
		return cgbpf_error_set(
			err, EPERM,
			"bpffs=%s refused: %s is owned by uid %u, not root; its owner "
			"could replace what is pinned below it",
			bpffs, dir, st.st_uid);
	if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))
		return cgbpf_error_set(
			err, EPERM,
			"bpffs=%s refused: %s is writable by group or others without "
			"the sticky bit (mode %04o)",
			bpffs, dir, st.st_mode & 07777);
	return 0;
}

int bpffs_ensure(const char *dir, struct cgbpf_error *err)
{
	char path[4096];
	size_t n = strlen(dir);

	/* As systemd does at boot, so that pins survive this process. */
	if (!is_bpffs("/sys/fs/bpf") &&
	    mount("bpf", "/sys/fs/bpf", "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=700") < 0)
		return cgbpf_error_set(err, errno, "cannot mount bpffs at /sys/fs/bpf: %m");
	if (n >= sizeof(path))
		return cgbpf_error_set(err, ENAMETOOLONG, "bpffs path too long");
	memcpy(path, dir, n + 1);
	/* mkdir -p, the components below the mount only. */
	for (char *p = path + 1;; p++) {
		bool last = *p == '\0';
		struct stat st;

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (stat(path, &st) < 0) {
			if (!is_bpffs(path) && errno == ENOENT) {
				char parent[4096];

				snprintf(parent, sizeof(parent), "%s", path);
				*strrchr(parent, '/') = '\0';
				if (!is_bpffs(parent[0] ? parent : "/"))
					return cgbpf_error_set(err, ENOTDIR,
							       "bpffs=%s: %s is not on a BPF file "
							       "system",
							       dir, path);
			}
			if (mkdir(path, 0700) < 0 && errno != EEXIST)
				return cgbpf_error_set(err, errno, "cannot create %s: %m", path);
		}
		if (last)
			break;
		/* Checked before anything is made inside it. */
		if (is_bpffs(path)) {
			int r = bpffs_parent_check(dir, path, err);

			if (r < 0)
				return r;
		}
		*p = '/';
	}
	if (!is_bpffs(dir))
		return cgbpf_error_set(err, ENOTDIR, "bpffs=%s is not on a BPF file system", dir);
	return bpffs_mkdir(dir, err);
}

int bpffs_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		char p[LAYOUT_PATH_MAX];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (layout_join(p, dir, e->d_name) < 0)
			r = -ENAMETOOLONG;
		else if (unlink(p) < 0 && errno != ENOENT)
			r = -errno;
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

/* A program from a `program` rule: cached as <shared>/program-<sha>-<name>/prog. */
static int obj_get_at(struct bpffs_at at, const char *path)
{
	return sysbpf_obj_get_at(at.fd, at.fd >= 0 ? layout_below(at.dir, path) : NULL, path);
}

static int program_get_shared(const struct want_attach *w, const char *dir, struct bpffs_at at,
			      const char *policy_file, int *prog_fd, struct cgbpf_error *err)
{
	const struct cgbpf_loader *loader;
	char pin[LAYOUT_PATH_MAX];
	int fd, r;

	if (layout_join(pin, dir, LAYOUT_PROG_PIN) < 0)
		return cgbpf_error_set(err, ENAMETOOLONG, "bpffs path too long");
	fd = obj_get_at(at, pin);
	if (fd >= 0) {
		*prog_fd = fd;
		return 0;
	}
	loader = cgbpf_loader_get(err);
	if (!loader)
		return -ENOEXEC;
	r = loader->program_load(w, policy_file, &fd, err);
	if (r < 0)
		return r;
	r = bpffs_mkdir(dir, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (sysbpf_obj_pin(fd, pin) < 0) {
		r = cgbpf_error_set(err, errno, "cannot pin %s: %m", pin);
		close(fd);
		rmdir(dir);
		return r;
	}
	*prog_fd = fd;
	return 0;
}

int attach_get_prog(const struct want_attach *w, const struct cgbpf_settings *s, struct bpffs_at at,
		    const char *policy_file, int *prog_fd, struct cgbpf_error *err)
{
	char dir[LAYOUT_PATH_MAX], pin[LAYOUT_PATH_MAX];
	int fd;

	if (w->kind == ATT_PINNED) {
		fd = sysbpf_obj_get(w->path);
		if (fd < 0)
			return cgbpf_error_at(err, errno, policy_file, w->line, "pinned %s: %m",
					      w->path);
		*prog_fd = fd;
		return 0;
	}
	if (layout_shared_entry(dir, s, w->kind, w->ident) < 0)
		return cgbpf_error_set(err, ENAMETOOLONG, "bpffs path too long");
	if (w->kind != ATT_FILTER)
		return program_get_shared(w, dir, at, policy_file, prog_fd, err);
	/*
	 * The program is pinned last, in a directory named by the image id (engine
	 * version, hook, tables): found there, it is this image, complete. One
	 * call; filter_get_shared checks the instance and loads it otherwise.
	 */
	if (layout_join(pin, dir, LAYOUT_PROG_PIN) == 0) {
		fd = obj_get_at(at, pin);
		if (fd >= 0) {
			*prog_fd = fd;
			return 0;
		}
	}
	return filter_get_shared(w->img, dir, prog_fd, err);
}

int attach_link_pin(int prog_fd, int cg_fd, enum cgbpf_hook hook, struct bpffs_at at,
		    const char *pin, struct cgbpf_error *err)
{
	_cleanup_close_ int link = -1;

	if (fault_hit("attach"))
		return cgbpf_error_set(err, EIO, "cannot attach to hook %s: injected fault",
				       hook_name(hook));
	/* A bpf_link has multi semantics and cannot be detached without its fd. */
	link = sysbpf_link_create(prog_fd, cg_fd, hook_attach_types[hook]);
	if (link < 0)
		return cgbpf_error_set(err, errno, "cannot attach to hook %s: %m", hook_name(hook));
	if (sysbpf_obj_pin_at(link, at.fd, layout_below(at.dir, pin), pin) < 0) {
		int r = cgbpf_error_set(err, errno, "cannot pin link %s: %m", pin);

		sysbpf_link_detach(link);
		return r;
	}
	return 0;
}

int attach_link_cgroup(const char *pin, uint64_t *cgroup_id)
{
	_cleanup_close_ int fd = sysbpf_obj_get(pin);
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (sysbpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	if (info.type != BPF_LINK_TYPE_CGROUP)
		return -EINVAL;
	*cgroup_id = info.cgroup.cgroup_id;
	return 0;
}

bool attach_link_alive(const char *pin, uint64_t cgroup_id)
{
	uint64_t id;

	return attach_link_cgroup(pin, &id) == 0 && id == cgroup_id;
}

static int unlink_at(struct bpffs_at at, const char *path, int flags)
{
	const char *name;
	int fd = at_fd(at, path, &name);

	return unlinkat(fd, name, flags) < 0 && errno != ENOENT ? -errno : 0;
}

int attach_unlink(struct bpffs_at at, const char *pin)
{
	return unlink_at(at, pin, 0);
}

int attach_rmdir(struct bpffs_at at, const char *dir)
{
	return unlink_at(at, dir, AT_REMOVEDIR);
}

bool attach_exists(struct bpffs_at at, const char *path)
{
	const char *name;
	int fd = at_fd(at, path, &name);

	return faccessat(fd, name, F_OK, 0) == 0;
}

int attach_unpin(struct bpffs_at at, const char *pin)
{
	_cleanup_close_ int fd = obj_get_at(at, pin);

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Detach now even if someone else still holds a reference to the link. */
	sysbpf_link_detach(fd);
	return attach_unlink(at, pin);
}
