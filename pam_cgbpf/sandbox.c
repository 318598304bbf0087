// SPDX-License-Identifier: GPL-2.0-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "attach.h"
#include "cgroup.h"
#include "fault.h"
#include "filter_load.h"
#include "log.h"
#include "safe_file.h"
#include "sandbox.h"
#include "util.h"

int sandbox_init(struct sandbox *sb, const struct cgbpf_settings *s, uint32_t uid,
		 struct cgbpf_error *err)
{
	*sb = (struct sandbox){ .s = s, .uid = uid, .lf = LEDGER_FILE_INIT };
	if (layout_pin_dir(sb->pin_dir, s, uid) < 0 || layout_shared_dir(sb->shared_dir, s) < 0)
		return cgbpf_error_set(err, ENAMETOOLONG, "bpffs=%s: path too long", s->bpffs);
	return 0;
}

static void bpffs_fd_close(struct sandbox *sb)
{
	if (sb->have_bpffs_fd && sb->bpffs_fd >= 0)
		close(sb->bpffs_fd);
	sb->have_bpffs_fd = false;
}

/*
 * Only a directory on bpffs: before bpffs_ensure (a stale sandbox reclaimed at
 * open) it may be a plain directory that bpffs is then mounted over, and the
 * whole paths would see the mount where the fd would not.
 */
struct bpffs_at sandbox_bpffs(struct sandbox *sb)
{
	struct statfs sf;

	if (!sb->have_bpffs_fd) {
		sb->bpffs_fd = open(sb->s->bpffs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sb->bpffs_fd >= 0 &&
		    (fstatfs(sb->bpffs_fd, &sf) < 0 || sf.f_type != BPF_FS_MAGIC)) {
			close(sb->bpffs_fd);
			sb->bpffs_fd = -1;
		}
		sb->have_bpffs_fd = true;
	}
	return (struct bpffs_at){ .fd = sb->bpffs_fd, .dir = sb->s->bpffs };
}

/* Pin paths follow the bpffs in use: the caller's, or the one the sandbox was made with. */
static int sandbox_paths(struct sandbox *sb, struct cgbpf_error *err)
{
	bpffs_fd_close(sb);
	if (layout_pin_dir(sb->pin_dir, sb->s, sb->uid) < 0 ||
	    layout_shared_dir(sb->shared_dir, sb->s) < 0)
		return cgbpf_error_set(err, ENAMETOOLONG, "bpffs=%s: path too long", sb->s->bpffs);
	return 0;
}

/* The settings the ledger records replace the caller's; a ledger older than the record has none. */
static int sandbox_adopt_settings(struct sandbox *sb, struct cgbpf_error *err)
{
	sb->made = *sb->s;
	if (sb->l.config)
		sb->made.config = sb->l.config;
	if (sb->l.cgroup_root)
		sb->made.cgroup_root = sb->l.cgroup_root;
	if (sb->l.bpffs)
		sb->made.bpffs = sb->l.bpffs;
	sb->s = &sb->made;
	return sandbox_paths(sb, err);
}

int sandbox_lock_checked(struct sandbox *sb, const struct cgbpf_settings *s, uint32_t uid,
			 bool *exists, struct cgbpf_error *err)
{
	int r;

	*exists = false;
	r = sandbox_init(sb, s, uid, err);
	if (r < 0)
		return r;
	r = ledger_file_lock(s->state_dir, uid, &sb->lf, err);
	if (r == 0)
		r = ledger_file_read(&sb->lf, &sb->l, exists, err);
	if (r == 0 && *exists)
		r = sandbox_adopt_settings(sb, err);
	return r;
}

int sandbox_lock(struct sandbox *sb, const struct cgbpf_settings *s, uint32_t uid, bool *exists,
		 struct cgbpf_error *err)
{
	int r = state_dir_check(s->state_dir, err);

	if (r == -ENOENT)
		r = cgbpf_error_set(err, ENOENT, "cannot stat state_dir %s: %s", s->state_dir,
				    errno_text(-r));
	*exists = false;
	return r < 0 ? r : sandbox_lock_checked(sb, s, uid, exists, err);
}

int sandbox_record_settings(struct sandbox *sb, struct cgbpf_error *err)
{
	struct ledger *l = &sb->l;

	free(l->config);
	free(l->cgroup_root);
	free(l->bpffs);
	l->config = strdup(sb->s->config);
	l->cgroup_root = strdup(sb->s->cgroup_root);
	l->bpffs = strdup(sb->s->bpffs);
	return l->config && l->cgroup_root && l->bpffs ? 0 : cgbpf_oom(err);
}

bool sandbox_cgroup_replaced(const struct sandbox *sb)
{
	struct stat st;

	if (stat(sb->pl.cg_dir, &st) < 0)
		return errno == ENOENT;
	return (uint64_t)st.st_ino != sb->l.cgroup_id;
}

int sandbox_place_from_ledger(struct sandbox *sb, struct cgbpf_error *err)
{
	return placement_from_ledger(&sb->pl, sb->s, &sb->l, err);
}

void sandbox_done(struct sandbox *sb)
{
	bpffs_fd_close(sb);
	ledger_file_unlock(&sb->lf);
	ledger_clear(&sb->l);
	placement_clear(&sb->pl);
}

int sandbox_open_cgroup(struct sandbox *sb, struct cgbpf_error *err)
{
	struct stat st;
	int fd = open(sb->pl.cg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return cgbpf_error_set(err, errno, "cannot open cgroup %s: %m", sb->pl.cg_dir);
	if (fstat(fd, &st) < 0) {
		int r = cgbpf_error_set(err, errno, "cannot stat cgroup %s: %m", sb->pl.cg_dir);

		close(fd);
		return r;
	}
	/* The id bpf_skb_cgroup_id() returns is the cgroup directory's inode number. */
	sb->l.cgroup_id = (uint64_t)st.st_ino;
	return fd;
}

static bool policy_names_groups(const struct policy *policy)
{
	for (size_t i = 0; i < policy->n_rules; i++)
		if (policy->rules[i].who == WHO_GROUP)
			return true;
	return false;
}

int wanted_for_user(const struct cgbpf_settings *s, const char *user, struct wanted *w,
		    struct cgbpf_error *err)
{
	_cleanup_free_ char *buf = NULL;
	struct user_info ui;
	size_t len;
	int r;

	*w = (struct wanted){ 0 };
	r = safe_read_file_stat(s->config, POLICY_MAX_FILE_SIZE, &buf, &len, &w->policy_st, err);
	if (r < 0)
		return r;
	r = policy_parse(buf, len, s->config, &w->policy, err);
	if (r < 0)
		return r;
	r = policy_names_groups(w->policy) ? user_lookup(user, &w->rec, err)
					   : user_lookup_no_groups(user, &w->rec, err);
	if (r < 0)
		return r;
	ui = user_record_info(&w->rec);
	r = policy_resolve(w->policy, &ui, &w->rp, err);
	if (r < 0)
		return r;
	/* A policy that gives no sandbox wants nothing attached. */
	return want_set_build(&w->rp, s->config, &w->ws, err);
}

bool wanted_is_current(const struct cgbpf_settings *s, const struct wanted *w)
{
	const struct stat *a = &w->policy_st;
	struct stat b;

	if (stat(s->config, &b) < 0 || a->st_dev != b.st_dev || a->st_ino != b.st_ino ||
	    a->st_size != b.st_size || a->st_ctim.tv_sec != b.st_ctim.tv_sec ||
	    a->st_ctim.tv_nsec != b.st_ctim.tv_nsec || a->st_mtim.tv_sec != b.st_mtim.tv_sec ||
	    a->st_mtim.tv_nsec != b.st_mtim.tv_nsec)
		return false;
	for (size_t i = 0; i < w->ws.n; i++) {
		const struct want_attach *v = &w->ws.v[i];
		struct cgbpf_error ignored = { { 0 } };
		_cleanup_free_ char *obj = NULL;
		size_t len;

		if (v->kind != ATT_PROGRAM)
			continue;
		if (safe_read_file(v->path, OBJECT_MAX_SIZE, &obj, &len, &ignored) < 0 ||
		    len != v->obj_len || memcmp(obj, v->obj, len) != 0)
			return false;
	}
	return true;
}

void wanted_clear(struct wanted *w)
{
	want_set_free(&w->ws);
	resolved_policy_clear(&w->rp);
	user_record_clear(&w->rec);
	policy_free(w->policy);
	*w = (struct wanted){ 0 };
}

static bool want_matches(const struct want_attach *w, const struct ledger_attach *a)
{
	return w->hook == a->hook && w->kind == a->kind && !strcmp(w->ident, a->ident);
}

static int pin_path(const struct sandbox *sb, const char *link, char *buf)
{
	return layout_join(buf, sb->pin_dir, link);
}

/*
 * An attachment the ledger records but the kernel no longer has (a close
 * that died half-way through a teardown, a cgroup made anew) is stale too,
 * and is attached again: the ledger alone is never trusted.
 */
static void mark_stale(const struct sandbox *sb, const struct want_set *ws,
		       struct sandbox_change *c)
{
	for (size_t j = 0; j < c->n_old; j++) {
		char pin[LAYOUT_PATH_MAX];

		c->stale[j] = true;
		if (pin_path(sb, sb->l.att[j].link, pin) < 0 ||
		    !attach_link_alive(pin, sb->l.cgroup_id))
			continue;
		for (size_t i = 0; i < ws->n; i++)
			if (want_matches(&ws->v[i], &sb->l.att[j]))
				c->stale[j] = false;
	}
}

static bool have_already(const struct sandbox *sb, const struct sandbox_change *c,
			 const struct want_attach *w)
{
	for (size_t j = 0; j < c->n_old; j++)
		if (!c->stale[j] && want_matches(w, &sb->l.att[j]))
			return true;
	return false;
}

/*
 * The early verdict must run after every administrator program of its hook
 * (it judges the rewritten address): a program new on a connect or sendmsg
 * hook makes that hook's filter stale, so it is attached again after the new
 * program, and the old one detached only then.
 */
static void restack_early(const struct sandbox *sb, const struct want_set *ws,
			  struct sandbox_change *c)
{
	for (size_t i = 0; i < ws->n; i++) {
		const struct want_attach *w = &ws->v[i];

		if (!hook_is_early(w->hook) || w->kind == ATT_FILTER || have_already(sb, c, w))
			continue;
		for (size_t j = 0; j < c->n_old; j++)
			if (sb->l.att[j].hook == w->hook && sb->l.att[j].kind == ATT_FILTER)
				c->stale[j] = true;
	}
}

static int remember_pin(struct sandbox_change *c, const char *pin, struct cgbpf_error *err)
{
	char **np = realloc(c->new_pins, (c->n_new + 1) * sizeof(*np));

	if (np) {
		c->new_pins = np;
		np[c->n_new] = strdup(pin);
	}
	if (!np || !np[c->n_new]) {
		attach_unpin(BPFFS_AT_NONE, pin);
		return cgbpf_oom(err);
	}
	c->n_new++;
	return 0;
}

/* Attaches one wanted program and records it. The caller holds the global lock. */
static int attach_one(struct sandbox *sb, const struct want_attach *w, int cg_fd,
		      struct sandbox_change *c, struct cgbpf_error *err)
{
	struct ledger_attach a = { .hook = w->hook, .kind = w->kind };
	char name[64], pin[LAYOUT_PATH_MAX];
	int prog_fd = -1, r;

	/* A stray pin stays until the new links are in (sandbox_unpin_strays): skip its name. */
	do {
		if (layout_link_name(name, sizeof(name), w->hook, sb->l.next_link++) < 0 ||
		    pin_path(sb, name, pin) < 0)
			return cgbpf_error_set(err, ENAMETOOLONG, "bpffs=%s: path too long",
					       sb->s->bpffs);
	} while (!sb->pins_empty && attach_exists(sandbox_bpffs(sb), pin));
	r = attach_get_prog(w, sb->s, sandbox_bpffs(sb), sb->s->config, &prog_fd, err);
	if (r < 0)
		return r;
	r = attach_link_pin(prog_fd, cg_fd, w->hook, sandbox_bpffs(sb), pin, err);
	close(prog_fd);
	if (r < 0)
		return r;
	r = remember_pin(c, pin, err);
	if (r < 0)
		return r;
	a.ident = w->ident;
	a.link = name;
	a.what = w->what;
	a.lines = w->lines;
	r = ledger_add_attach(&sb->l, &a);
	return r < 0 ? cgbpf_oom(err) : 0;
}

int sandbox_apply_locked(struct sandbox *sb, const struct want_set *ws, int cg_fd,
			 struct sandbox_change *c, struct cgbpf_error *err)
{
	int r = 0;

	*c = (struct sandbox_change){ .n_old = sb->l.n_att };
	c->stale = calloc(c->n_old + 1, sizeof(*c->stale));
	if (!c->stale)
		return cgbpf_oom(err);
	mark_stale(sb, ws, c);
	restack_early(sb, ws, c);
	for (size_t i = 0; i < ws->n && r == 0; i++)
		if (!have_already(sb, c, &ws->v[i]))
			r = attach_one(sb, &ws->v[i], cg_fd, c, err);
	return r;
}

int sandbox_apply(struct sandbox *sb, const struct want_set *ws, int cg_fd,
		  struct sandbox_change *c, struct cgbpf_error *err)
{
	_cleanup_close_ int gfd = state_lock_global(sb->s->state_dir, err);
	int r;

	if (gfd < 0)
		return gfd;
	r = bpffs_mkdir(sb->shared_dir, err);
	return r < 0 ? r : sandbox_apply_locked(sb, ws, cg_fd, c, err);
}

bool sandbox_change_any(const struct sandbox_change *c)
{
	bool any = c->n_new > 0;

	for (size_t j = 0; j < c->n_old; j++)
		any |= c->stale[j];
	return any;
}

/* Unlinks one attachment's pin, whose cgroup is gone (not dropping it from the ledger). */
static void unpin_one(struct sandbox *sb, const struct ledger_attach *a)
{
	char pin[LAYOUT_PATH_MAX];
	int r = pin_path(sb, a->link, pin);

	if (r == 0)
		r = attach_unlink(sandbox_bpffs(sb), pin);
	if (r < 0)
		cgbpf_log(LOG_WARNING, "cannot remove %s: %s", pin, errno_text(r));
}

/* Detaches one attachment of the ledger (not dropping it from the ledger). */
static void detach_one(struct sandbox *sb, const struct ledger_attach *a)
{
	char pin[LAYOUT_PATH_MAX];
	int r = pin_path(sb, a->link, pin);

	if (r == 0)
		r = attach_unpin(sandbox_bpffs(sb), pin);
	if (r < 0)
		cgbpf_log(LOG_WARNING, "cannot detach %s/%s: %s", sb->pin_dir, a->link,
			  errno_text(r));
}

int sandbox_commit(struct sandbox *sb, struct sandbox_change *c, struct cgbpf_error *err)
{
	struct ledger view = sb->l;
	_cleanup_free_ struct ledger_attach *keep = calloc(sb->l.n_att + 1, sizeof(*keep));
	size_t k = 0;
	int r;

	if (!keep)
		return cgbpf_oom(err);
	for (size_t j = 0; j < sb->l.n_att; j++)
		if (j >= c->n_old || !c->stale[j])
			keep[k++] = sb->l.att[j];
	view.att = keep;
	view.n_att = k;
	/* A failed write leaves the old attachments in place. */
	r = fault_hit("ledger") ? cgbpf_error_set(err, EIO, "cannot write ledger: injected fault")
				: ledger_file_write(&sb->lf, &view, err);
	if (r < 0)
		return r;
	for (size_t j = c->n_old; j-- > 0;) {
		if (!c->stale[j])
			continue;
		detach_one(sb, &sb->l.att[j]);
		ledger_remove_attach(&sb->l, j);
	}
	return 0;
}

void sandbox_change_undo(struct sandbox_change *c)
{
	for (size_t i = 0; i < c->n_new; i++)
		attach_unpin(BPFFS_AT_NONE, c->new_pins[i]);
	sandbox_change_done(c);
}

void sandbox_change_done(struct sandbox_change *c)
{
	for (size_t i = 0; i < c->n_new; i++)
		free(c->new_pins[i]);
	free(c->new_pins);
	free(c->stale);
	*c = (struct sandbox_change){ 0 };
}

int session_liveness(const struct ledger_session *ses)
{
	uint64_t start;
	int r = proc_start_time(ses->pid, &start);

	/* Only "no such process" means gone: EMFILE and the like say nothing about it. */
	if (r == -ENOENT || r == -ESRCH)
		return 0;
	if (r < 0)
		return r;
	return start == ses->start_time;
}

bool session_is_live(const struct ledger_session *ses)
{
	return session_liveness(ses) != 0;
}

int sandbox_reclaim_stale(struct ledger *l, struct cgbpf_error *err)
{
	int n = 0, r;

	for (size_t i = l->n_ses; i-- > 0;) {
		r = session_liveness(&l->ses[i]);
		if (r < 0)
			return cgbpf_error_set(err, r,
					       "cannot tell whether process %d of uid %" PRIu32
					       " is alive: %s",
					       l->ses[i].pid, l->uid, errno_text(r));
		if (r > 0)
			continue;
		cgbpf_log(LOG_NOTICE, "reclaiming stale session of uid %" PRIu32 " (pid %d, %s)",
			  l->uid, l->ses[i].pid, l->ses[i].service ? l->ses[i].service : "?");
		ledger_remove_session(l, i);
		n++;
	}
	return n;
}

int ledger_boot_check(const struct ledger *l, bool *this_boot, struct cgbpf_error *err)
{
	char id[64];
	int r = boot_id(id, sizeof(id));

	if (r < 0)
		return cgbpf_error_set(err, r, "cannot read the boot id: %s", errno_text(r));
	*this_boot = l->boot_id && !strcmp(id, l->boot_id);
	return 0;
}

/*
 * Detaches everything and removes the pins, the cgroup and the ledger. An
 * empty cgroup of ours goes first: nothing can enter a removed cgroup, and
 * the kernel releases what was attached to it with it, so its pins are only
 * unlinked (no lookup and detach of each link); if it cannot go, nothing is
 * detached and the sandbox stays whole for the next close or gc. A cgroup
 * that stays (logind's slice) has each link detached.
 */
static int sandbox_teardown(struct sandbox *sb, struct cgbpf_error *err)
{
	bool gone = sb->pl.ops->removes_cgroup;
	int r;

	if (gone && !sb->cg_removed) {
		r = sb->pl.ops->remove(&sb->pl);
		if (r < 0)
			return cgbpf_error_set(err, r, "cannot remove cgroup %s: %s", sb->pl.cg_dir,
					       errno_text(r));
	}
	for (size_t j = 0; j < sb->l.n_att; j++)
		if (gone)
			unpin_one(sb, &sb->l.att[j]);
		else
			detach_one(sb, &sb->l.att[j]);
	/* No fd opened for this alone: a sandbox without links has nothing else below bpffs. */
	r = attach_rmdir(sb->l.n_att ? sandbox_bpffs(sb) : BPFFS_AT_NONE, sb->pin_dir);
	if (r < 0)
		cgbpf_log(LOG_WARNING, "cannot remove %s: %s", sb->pin_dir, errno_text(r));
	if (!gone) {
		r = sb->pl.ops->remove(&sb->pl);
		if (r < 0)
			return cgbpf_error_set(err, r, "cannot remove cgroup %s: %s", sb->pl.cg_dir,
					       errno_text(r));
	}
	r = ledger_file_remove(&sb->lf);
	if (r < 0)
		return cgbpf_error_set(err, r, "cannot remove ledger %s: %s", sb->lf.path,
				       errno_text(r));
	return 0;
}

void sandbox_forget_replaced(struct sandbox *sb)
{
	cgbpf_log(LOG_NOTICE,
		  "the cgroup %s of uid %" PRIu32 " is gone or was made anew (cgroup id %" PRIu64
		  " recorded): reclaiming its stale sandbox, %zu session%s",
		  sb->pl.cg_dir, sb->uid, sb->l.cgroup_id, sb->l.n_ses,
		  sb->l.n_ses == 1 ? "" : "s");
	/* The kernel detached these links when the cgroup went: only the pins are left. */
	while (sb->l.n_att > 0) {
		detach_one(sb, &sb->l.att[sb->l.n_att - 1]);
		ledger_remove_attach(&sb->l, sb->l.n_att - 1);
	}
	while (sb->l.n_ses > 0)
		ledger_remove_session(&sb->l, sb->l.n_ses - 1);
}

int sandbox_reclaim_replaced(struct sandbox *sb, struct cgbpf_error *err)
{
	sandbox_forget_replaced(sb);
	return sandbox_teardown(sb, err);
}

/* How many processes keep the sandbox; kills them first when asked to. */
static int processes_left(struct sandbox *sb, bool kill)
{
	int n = sb->pl.ops->settle(&sb->pl, SETTLE_TIMEOUT_MS);

	if (n > 0 && kill) {
		n = sb->pl.ops->kill_left(&sb->pl, KILL_TIMEOUT_MS);
		if (n == -ETIMEDOUT)
			cgbpf_log(LOG_ERR, "processes of uid %" PRIu32 " survived SIGKILL in %s",
				  sb->uid, sb->pl.cg_dir);
	}
	return n;
}

int sandbox_release(struct sandbox *sb, bool on_close, bool dirty, bool *removed,
		    struct cgbpf_error *err)
{
	int n = 0;

	*removed = false;
	/*
	 * An own cgroup that nobody is in goes at once: rmdir is the kernel's own
	 * test of emptiness, and nothing can enter a removed cgroup. Only when it
	 * is busy (EBUSY) are its processes read, waited for or killed.
	 */
	if (sb->l.n_ses == 0 && sb->pl.ops->removes_cgroup)
		sb->cg_removed = sb->pl.ops->remove(&sb->pl) == 0;
	if (sb->l.n_ses == 0 && !sb->cg_removed)
		n = processes_left(sb, on_close && sb->s->on_logout == ON_LOGOUT_KILL);
	if (on_close && n < 0 && n != -ENOENT)
		/* Not knowing whether processes are left, keep their filter. */
		cgbpf_log(LOG_WARNING, "cannot tell whether %s is empty (%s); the sandbox stays",
			  sb->pl.cg_dir, errno_text(n));
	else if (on_close && n > 0)
		/* on_logout=keep: they stay sandboxed until they exit. */
		cgbpf_log(LOG_INFO,
			  "last session of uid %" PRIu32 " closed; %s keeps running "
			  "processes sandboxed",
			  sb->uid, sb->pl.cg_dir);
	if (sb->l.n_ses > 0 || n > 0 || (n < 0 && n != -ENOENT))
		return dirty ? ledger_file_write(&sb->lf, &sb->l, err) : 0;
	*removed = true;
	return sandbox_teardown(sb, err);
}

void sandbox_describe_hooks(const struct ledger *l, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t j = 0; j < l->n_att && off < size; j++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s:%s(%s)", j ? " " : "",
					hook_name(l->att[j].hook), attach_kind_name(l->att[j].kind),
					l->att[j].what ? l->att[j].what : "");
	if (!l->n_att)
		snprintf(buf, size, "none");
}

int sandbox_reload(const struct cgbpf_settings *s, uint32_t uid, const char *only_config,
		   enum reload_outcome *out, struct cgbpf_error *err)
{
	_cleanup_sandbox_ struct sandbox sb = { .lf = LEDGER_FILE_INIT };
	_cleanup_(wanted_clear) struct wanted w = { 0 };
	struct sandbox_change c = { 0 };
	_cleanup_close_ int cg_fd = -1;
	bool exists = false, changed;
	int r;

	*out = RELOAD_UNCHANGED;
	r = sandbox_lock(&sb, s, uid, &exists, err);
	if (r < 0 || !exists)
		return r;
	if (only_config && strcmp(only_config, sb.s->config)) {
		*out = RELOAD_OTHER_FILE;
		return 0;
	}
	r = sandbox_place_from_ledger(&sb, err);
	if (r == 0 && sandbox_cgroup_replaced(&sb)) {
		*out = RELOAD_RECLAIMED;
		return sandbox_reclaim_replaced(&sb, err);
	}
	if (r == 0)
		r = wanted_for_user(sb.s, sb.l.user, &w, err);
	if (r < 0)
		return r;
	cg_fd = sandbox_open_cgroup(&sb, err);
	if (cg_fd < 0)
		return cg_fd;
	r = sandbox_apply(&sb, &w.ws, cg_fd, &c, err);
	changed = r == 0 && sandbox_change_any(&c);
	if (changed)
		r = sandbox_commit(&sb, &c, err);
	if (r < 0)
		sandbox_change_undo(&c);
	else if (changed)
		*out = RELOAD_UPDATED;
	sandbox_change_done(&c);
	return r;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int sandbox_list(const struct cgbpf_settings *s, uint32_t **uids, size_t *n)
{
	DIR *d = opendir(s->state_dir);
	struct dirent *e;
	uint32_t *v = NULL, uid;
	size_t cnt = 0;

	*uids = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		uint32_t *nv;

		if (!layout_parse_ledger(e->d_name, &uid))
			continue;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			closedir(d);
			return -ENOMEM;
		}
		v = nv;
		v[cnt++] = uid;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_u32);
	*uids = v;
	*n = cnt;
	return 0;
}

int sandbox_read(const struct cgbpf_settings *s, uint32_t uid, struct ledger *out,
		 struct cgbpf_error *err)
{
	_cleanup_sandbox_ struct sandbox sb = { .lf = LEDGER_FILE_INIT };
	bool exists = false;
	int r;

	r = sandbox_lock(&sb, s, uid, &exists, err);
	if (r == 0 && !exists)
		r = -ENOENT;
	if (r == 0) {
		*out = sb.l;
		sb.l = (struct ledger){ 0 };
	}
	return r;
}

void sandbox_unpin_strays(struct sandbox *sb)
{
	DIR *d = opendir(sb->pin_dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char pin[LAYOUT_PATH_MAX];
		bool known = e->d_name[0] == '.';

		for (size_t j = 0; j < sb->l.n_att && !known; j++)
			known = !strcmp(sb->l.att[j].link, e->d_name);
		if (known || pin_path(sb, e->d_name, pin) < 0)
			continue;
		cgbpf_log(LOG_NOTICE, "removing %s, which no ledger records", pin);
		attach_unpin(sandbox_bpffs(sb), pin);
	}
	closedir(d);
}
