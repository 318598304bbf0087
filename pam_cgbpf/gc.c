// SPDX-License-Identifier: GPL-2.0-or-later
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysbpf.h"

#include "attach.h"
#include "cgroup.h"
#include "filter_load.h"
#include "gc.h"
#include "layout.h"
#include "log.h"
#include "sandbox.h"
#include "util.h"

void gc_say(const struct gc_report *rep, const char *fmt, ...)
{
	char line[2 * LAYOUT_PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	rep->removed(rep->ctx, line);
}

int gc_done(const struct gc_report *rep, int r, const char *doing, const char *done,
	    const char *path)
{
	if (r < 0) {
		cgbpf_log(LOG_ERR, "cannot %s %s: %s", doing, path, errno_text(r));
		return 1;
	}
	if (done)
		gc_say(rep, "removed %s: %s", done, path);
	return 0;
}

static bool path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* What of a sandbox exists before gc, so that only what gc really removed is reported. */
struct gc_before {
	struct ledger l;
	bool *had_pin;
	bool had_cg;
	char cg[LAYOUT_PATH_MAX];
};

static void gc_before_clear(struct gc_before *b)
{
	ledger_clear(&b->l);
	free(b->had_pin);
}

static int gc_before_take(const struct cgbpf_settings *s, uint32_t uid, struct gc_before *b,
			  struct cgbpf_error *err)
{
	struct placement pl = { 0 };
	char pin[LAYOUT_PATH_MAX];
	int r = sandbox_read(s, uid, &b->l, err);

	if (r < 0)
		return r;
	if (placement_from_ledger(&pl, s, &b->l, err) == 0) {
		snprintf(b->cg, sizeof(b->cg), "%s", pl.cg_dir);
		b->had_cg = path_exists(b->cg);
	}
	placement_clear(&pl);
	b->had_pin = calloc(b->l.n_att + 1, sizeof(*b->had_pin));
	if (!b->had_pin)
		return cgbpf_oom(err);
	for (size_t j = 0; j < b->l.n_att; j++)
		b->had_pin[j] = layout_pin(pin, s, uid, b->l.att[j].link) == 0 && path_exists(pin);
	return 0;
}

/* Reclaims stale sessions of @uid and removes the sandbox if nothing is left. */
static int gc_one_sandbox(const struct cgbpf_settings *s, uint32_t uid, bool *removed, int *n_stale,
			  struct cgbpf_error *err)
{
	_cleanup_sandbox_ struct sandbox sb = { .lf = LEDGER_FILE_INIT };
	bool exists = false, this_boot = false;
	int r;

	*removed = false;
	*n_stale = 0;
	r = sandbox_lock(&sb, s, uid, &exists, err);
	if (r == 0 && exists)
		r = ledger_boot_check(&sb.l, &this_boot, err);
	if (r < 0 || !exists)
		return r;
	if (!this_boot) {
		*removed = true;
		return ledger_file_remove(&sb.lf);
	}
	r = sandbox_place_from_ledger(&sb, err);
	if (r < 0)
		return r;
	if (sandbox_cgroup_replaced(&sb)) {
		/* systemd removed the slice (and maybe made it anew): the sandbox is stale. */
		*n_stale = (int)sb.l.n_ses;
		r = sandbox_reclaim_replaced(&sb, err);
		*removed = r == 0;
		return r;
	}
	*n_stale = sandbox_reclaim_stale(&sb.l, err);
	if (*n_stale < 0)
		return *n_stale;
	/* gc never kills: processes left behind keep their sandbox. */
	r = sandbox_release(&sb, false, *n_stale > 0, removed, err);
	*removed &= r == 0;
	return r;
}

static void gc_report_removed(const struct cgbpf_settings *s, uint32_t uid,
			      const struct gc_before *b, const struct gc_report *rep)
{
	const char *user = b->l.user ? b->l.user : "?";
	char pin[LAYOUT_PATH_MAX], ledger[LAYOUT_PATH_MAX];

	for (size_t j = 0; j < b->l.n_att; j++)
		if (b->had_pin[j] && layout_pin(pin, s, uid, b->l.att[j].link) == 0 &&
		    !path_exists(pin))
			gc_say(rep, "removed link: %s (%s %s)", pin, hook_name(b->l.att[j].hook),
			       attach_kind_name(b->l.att[j].kind));
	if (b->had_cg && !path_exists(b->cg))
		gc_say(rep, "removed cgroup: %s", b->cg);
	if (layout_ledger(ledger, s->state_dir, uid) == 0)
		gc_say(rep, "removed sandbox: user %s (uid %" PRIu32 "), ledger %s", user, uid,
		       ledger);
}

/* One sandbox, reporting each thing that went away. */
static int gc_sandbox(const struct cgbpf_settings *s, uint32_t uid, const struct gc_report *rep)
{
	_cleanup_(gc_before_clear) struct gc_before b = { 0 };
	struct cgbpf_error err = { { 0 } };
	bool removed = false;
	int n_stale = 0, r;

	r = gc_before_take(s, uid, &b, &err);
	if (r == 0)
		r = gc_one_sandbox(s, uid, &removed, &n_stale, &err);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		cgbpf_log(LOG_ERR, "uid %" PRIu32 ": %s", uid, err.msg);
		return 1;
	}
	for (size_t i = 0; i < b.l.n_ses && n_stale > 0; i++) {
		if (session_is_live(&b.l.ses[i]))
			continue;
		gc_say(rep, "removed stale session: user %s (uid %" PRIu32 ") pid %d",
		       b.l.user ? b.l.user : "?", uid, b.l.ses[i].pid);
		n_stale--;
	}
	if (removed)
		gc_report_removed(s, uid, &b, rep);
	return 0;
}

/* A cgroup link whose cgroup is gone keeps its program loaded for nothing. */
static bool link_is_defunct(const char *pin)
{
	uint64_t id;

	return attach_link_cgroup(pin, &id) == 0 && id == 0;
}

/* Adds the uids of the user-<UID> entries in @dir to @v. */
static void collect_user_dirs(const char *dir, uint32_t **v, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		uint32_t uid, *nv;

		if (!layout_parse_user_dir(e->d_name, &uid))
			continue;
		nv = realloc(*v, (*n + 1) * sizeof(**v));
		if (!nv)
			break;
		*v = nv;
		(*v)[(*n)++] = uid;
	}
	closedir(d);
}

/* Defunct links go; in an @orphan sandbox every link goes. */
static int gc_user_pins(const char *pin_dir, bool orphan, const struct gc_report *rep)
{
	DIR *d = opendir(pin_dir);
	struct dirent *e;
	int failed = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char pin[LAYOUT_PATH_MAX];

		if (e->d_name[0] == '.' || layout_join(pin, pin_dir, e->d_name) < 0)
			continue;
		if (link_is_defunct(pin)) {
			if (unlink(pin) == 0)
				gc_say(rep, "removed defunct link: %s", pin);
			else
				failed = 1;
		} else if (orphan) {
			if (attach_unpin(BPFFS_AT_NONE, pin) == 0)
				gc_say(rep, "removed orphaned link: %s", pin);
			else
				failed = 1;
		}
	}
	closedir(d);
	return failed;
}

/*
 * Pins and cgroups of a uid under its ledger lock, so that no open or close
 * of that user runs meanwhile: defunct links go, and without a ledger an
 * empty sandbox left by a crash in the middle of an open goes entirely.
 */
static int gc_user_leftovers(const struct cgbpf_settings *s, const char *mount, uint32_t uid,
			     const struct gc_report *rep)
{
	_cleanup_sandbox_ struct sandbox sb = { .lf = LEDGER_FILE_INIT };
	struct cgbpf_error err = { { 0 } };
	char rel[LAYOUT_PATH_MAX], cg[LAYOUT_PATH_MAX];
	bool exists = false, orphan;
	int failed;

	/* Only placement=own makes user-<UID> cgroups under cgroup_root. */
	if (layout_user_cgroup(rel, s, uid) < 0 || layout_join(cg, mount, rel) < 0 ||
	    sandbox_lock(&sb, s, uid, &exists, &err) < 0) {
		cgbpf_log(LOG_ERR, "uid %" PRIu32 ": %s", uid,
			  err.msg[0] ? err.msg : "path too long");
		return 1;
	}
	orphan = !exists && (!path_exists(cg) || cgroup_count_procs(cg) == 0);
	failed = gc_user_pins(sb.pin_dir, orphan, rep);
	if (!exists && rmdir(sb.pin_dir) == 0)
		gc_say(rep, "removed pin directory: %s", sb.pin_dir);
	if (orphan && path_exists(cg)) {
		if (cgroup_remove(cg) == 0)
			gc_say(rep, "removed orphaned cgroup: %s", cg);
		else
			failed = 1;
	}
	return failed;
}

/* The ids of every program some bpf_link on this machine holds, sorted. */
static int used_prog_ids(uint32_t **ids, size_t *n)
{
	__u32 id = 0;

	*ids = NULL;
	*n = 0;
	while (sysbpf_link_get_next_id(id, &id) == 0) {
		struct bpf_link_info li;
		__u32 len = sizeof(li);
		_cleanup_close_ int fd = sysbpf_link_get_fd_by_id(id);
		uint32_t *nv;

		if (fd < 0) {
			if (errno == ENOENT)
				continue; /* went away meanwhile */
			return -errno;
		}
		memset(&li, 0, sizeof(li));
		if (sysbpf_obj_get_info_by_fd(fd, &li, &len) < 0)
			return -errno;
		nv = realloc(*ids, (*n + 1) * sizeof(**ids));
		if (!nv)
			return -ENOMEM;
		*ids = nv;
		(*ids)[(*n)++] = li.prog_id;
	}
	if (errno != ENOENT)
		return -errno;
	if (*n)
		qsort(*ids, *n, sizeof(**ids), u32_cmp);
	return 0;
}

/* Whether the shared entry @dir holds a program some link uses (or cannot be told). */
static bool shared_entry_used(const char *dir, const uint32_t *ids, size_t n_ids)
{
	char pin[LAYOUT_PATH_MAX];
	struct bpf_prog_info pi;
	__u32 len = sizeof(pi), id;
	int fd, r;

	if (layout_join(pin, dir, LAYOUT_PROG_PIN) < 0)
		return true;
	fd = sysbpf_obj_get(pin);
	if (fd < 0)
		return errno != ENOENT;
	memset(&pi, 0, sizeof(pi));
	r = sysbpf_obj_get_info_by_fd(fd, &pi, &len);
	close(fd);
	if (r < 0)
		return true;
	id = pi.id;
	return n_ids && bsearch(&id, ids, n_ids, sizeof(*ids), u32_cmp);
}

/* Shared programs no link uses any more. The caller holds the global lock. */
static int gc_shared(const struct cgbpf_settings *s, const struct gc_report *rep)
{
	_cleanup_free_ uint32_t *ids = NULL;
	char shared[LAYOUT_PATH_MAX], dir[LAYOUT_PATH_MAX];
	size_t n_ids;
	DIR *d;
	struct dirent *e;
	int failed = 0, r;

	if (layout_shared_dir(shared, s) < 0)
		return 1;
	d = opendir(shared);
	if (!d)
		return errno == ENOENT ? 0 : 1;
	r = used_prog_ids(&ids, &n_ids);
	if (r < 0) {
		closedir(d);
		cgbpf_log(LOG_ERR, "cannot list the bpf_links of this machine: %s", errno_text(r));
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || layout_join(dir, shared, e->d_name) < 0 ||
		    shared_entry_used(dir, ids, n_ids))
			continue;
		/* No program, or one no link holds: under the global lock nobody is about to. */
		r = layout_shared_is_filter(e->d_name) ? filter_unpin_shared(dir)
						       : bpffs_remove_dir(dir);
		failed |= gc_done(rep, r, "remove", "shared program", dir);
	}
	closedir(d);
	return failed;
}

/* Empty directories the module made, once nothing is left in them. */
static void gc_empty_dirs(const struct cgbpf_settings *s, const char *mount,
			  const struct gc_report *rep)
{
	char p[LAYOUT_PATH_MAX];

	if (layout_shared_dir(p, s) == 0 && rmdir(p) == 0)
		gc_say(rep, "removed directory: %s", p);
	if (rmdir(s->bpffs) == 0)
		gc_say(rep, "removed directory: %s", s->bpffs);
	if (layout_join(p, mount, s->cgroup_root) == 0 && path_exists(p) && cgroup_remove(p) == 0 &&
	    !path_exists(p))
		gc_say(rep, "removed cgroup: %s", p);
}

/* Every sandbox with a ledger, then the uids that have pins or a cgroup but maybe no ledger. */
static int gc_users(const struct cgbpf_settings *s, const char *mount, const struct gc_report *rep)
{
	_cleanup_free_ uint32_t *uids = NULL, *others = NULL;
	size_t n_uids = 0, n_others = 0;
	char cgroot[LAYOUT_PATH_MAX];
	int failed = 0, r;

	r = sandbox_list(s, &uids, &n_uids);
	if (r < 0) {
		cgbpf_log(LOG_ERR, "cannot list the sandboxes in %s: %s", s->state_dir,
			  errno_text(r));
		return -1;
	}
	for (size_t i = 0; i < n_uids; i++)
		failed |= gc_sandbox(s, uids[i], rep);
	collect_user_dirs(s->bpffs, &others, &n_others);
	if (layout_join(cgroot, mount, s->cgroup_root) == 0)
		collect_user_dirs(cgroot, &others, &n_others);
	if (n_others)
		qsort(others, n_others, sizeof(*others), u32_cmp);
	for (size_t i = 0; i < n_others; i++)
		if (i == 0 || others[i] != others[i - 1])
			failed |= gc_user_leftovers(s, mount, others[i], rep);
	return failed;
}

/* The shared cache and the anchor belong to everybody: under the global lock. */
static int gc_common(const struct cgbpf_settings *s, const char *mount, const struct gc_report *rep)
{
	_cleanup_free_ uint32_t *uids = NULL;
	struct cgbpf_error err = { { 0 } };
	size_t n_uids = 0;
	int failed = 0, gfd, r;

	gfd = state_lock_global(s->state_dir, &err);
	if (gfd < 0) {
		cgbpf_log(LOG_ERR, "%s", err.msg);
		return 1;
	}
	r = sandbox_list(s, &uids, &n_uids);
	if (r < 0) {
		cgbpf_log(LOG_ERR, "cannot list the sandboxes in %s: %s", s->state_dir,
			  errno_text(r));
		failed = 1;
	} else if (n_uids == 0) {
		failed |= anchor_remove(s, mount, rep);
	}
	failed |= gc_shared(s, rep);
	if (r == 0 && n_uids == 0 && !failed)
		gc_empty_dirs(s, mount, rep);
	close(gfd);
	return failed;
}

int gc_machine(const struct cgbpf_settings *s, const struct gc_report *rep)
{
	struct cgbpf_error err = { { 0 } };
	char mount[LAYOUT_PATH_MAX];
	int failed;

	if (!path_exists(s->state_dir) && !path_exists(s->bpffs))
		return 0; /* nothing was ever set up with these settings */
	if (cgroup2_mount_point(mount, sizeof(mount), &err) < 0 ||
	    state_dir_ensure(s->state_dir, &err) < 0) {
		cgbpf_log(LOG_ERR, "%s", err.msg);
		return 1;
	}
	failed = gc_users(s, mount, rep);
	if (failed < 0)
		return 1; /* without the list, the common part cannot tell what is unused */
	return failed | gc_common(s, mount, rep);
}
