// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Opening and closing a session: each a row of named phases. What a sandbox
 * is and how it is applied lives in sandbox.c; which cgroup it is, in
 * placement.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cgroup.h"
#include "fault.h"
#include "gc.h"
#include "log.h"
#include "sandbox.h"
#include "session.h"
#include "util.h"

/* Everything an open holds, and what it has done so far (for the rollback). */
struct opening {
	const struct cgbpf_settings *s;
	const struct session_info *si;
	struct wanted w;
	struct sandbox sb;
	struct sandbox_change c;
	struct ledger_session ses;
	char origin[LAYOUT_PATH_MAX];
	int cg_fd;
	bool cg_created, pin_dir_created, moved;
};

/* Everything that can be checked without touching the system, first. */
static int open_prepare(struct opening *o, struct cgbpf_error *err)
{
	const struct session_info *si = o->si;
	int r;

	r = sandbox_init(&o->sb, o->s, o->w.rec.uid, err);
	if (r < 0)
		return r;
	r = cgroup_of_pid(si->pid, o->origin, sizeof(o->origin));
	if (r < 0)
		return cgbpf_error_set(err, r, "cannot read the cgroup of process %d: %s", si->pid,
				       errno_text(r));
	/* Where the process is decides the placement, and is where it goes back at close. */
	r = placement_for_session(&o->sb.pl, o->s, o->w.rec.uid, o->origin, err);
	if (r < 0)
		return r;
	r = proc_start_time(si->pid, &o->ses.start_time);
	if (r < 0)
		return cgbpf_error_set(err, r, "cannot read the start time of process %d", si->pid);
	return 0;
}

static int fresh_ledger(struct sandbox *sb, const char *user, struct cgbpf_error *err)
{
	struct ledger *l = &sb->l;
	char id[64] = "";
	int r;

	ledger_clear(l);
	r = boot_id(id, sizeof(id));
	if (r < 0)
		return cgbpf_error_set(err, r, "cannot read the boot id: %s", errno_text(r));
	l->uid = sb->uid;
	l->placement = sb->pl.kind;
	l->user = strdup(user);
	l->boot_id = strdup(id);
	l->cgroup = strdup(sb->pl.cg_rel);
	if (!l->user || !l->boot_id || !l->cgroup)
		return cgbpf_oom(err);
	return sandbox_record_settings(sb, err);
}

/* The user's ledger under its lock: a fresh one when none is left from this boot. */
static int open_lock(struct opening *o, struct cgbpf_error *err)
{
	bool exists = false, this_boot = false;
	int r;

	r = state_dir_ensure(o->s->state_dir, err);
	if (r == 0)
		r = ledger_file_lock(o->s->state_dir, o->sb.uid, &o->sb.lf, err);
	if (r == 0)
		r = ledger_file_read(&o->sb.lf, &o->sb.l, &exists, err);
	if (r == 0 && exists)
		r = ledger_boot_check(&o->sb.l, &this_boot, err);
	if (r < 0)
		return r;
	if (exists && this_boot) {
		/* One sandbox, one set of settings: never a second service's rules over the
		   first's. */
		r = ledger_check_settings(&o->sb.l, o->s, o->sb.pl.kind, err);
		if (r < 0)
			return r;
		/* A ledger written before the settings were recorded gets them now. */
		if (!o->sb.l.config) {
			r = sandbox_record_settings(&o->sb, err);
			if (r < 0)
				return r;
		}
		if (sandbox_cgroup_replaced(&o->sb)) {
			/* systemd removed the slice and made it anew: the old sandbox is stale. */
			sandbox_forget_replaced(&o->sb);
			exists = false;
		}
	} else {
		exists = false;
	}
	if (!exists) {
		r = fresh_ledger(&o->sb, o->w.rec.name, err);
		if (r < 0)
			return r;
	}
	r = sandbox_reclaim_stale(&o->sb.l, err);
	return r < 0 ? r : 0;
}

/*
 * The policy was read before the lock: a `cgbpfctl reload` may have applied a
 * newer one since. Read it again under the lock if anything changed, so that
 * this login never puts old rules back.
 */
static int open_recheck(struct opening *o, struct cgbpf_error *err)
{
	int r;

	if (wanted_is_current(o->s, &o->w))
		return 0;
	cgbpf_log(LOG_DEBUG, "%s changed while user %s was waiting: reading it again", o->s->config,
		  o->si->user);
	wanted_clear(&o->w);
	r = wanted_for_user(o->s, o->si->user, &o->w, err);
	if (r == 0 && o->w.rec.uid != o->sb.uid)
		return cgbpf_error_set(err, ESTALE,
				       "user %s changed uid (%" PRIu32 ", now %" PRIu32
				       ") during the login",
				       o->si->user, o->sb.uid, o->w.rec.uid);
	return r;
}

/*
 * bpffs, the shared directory and the anchor are machine-wide, and set up once:
 * a complete anchor means that bpffs was made ready before. Under the global lock.
 */
static int open_machine(struct opening *o, struct cgbpf_error *err)
{
	int r;

	if (anchor_complete(o->s))
		return bpffs_mkdir(o->sb.shared_dir, err);
	r = bpffs_ensure(o->s->bpffs, err);
	if (r == 0)
		r = bpffs_mkdir(o->sb.shared_dir, err);
	/* The anchor is a cgroup of ours: none where the sandbox lives in systemd's tree. */
	if (r == 0 && o->sb.pl.ops->anchored)
		r = anchor_ensure(o->s, o->sb.pl.mount, err);
	return r;
}

/*
 * The cgroup and the pins, then the filters, then the process: never
 * unfiltered. One hold of the global lock from the machine-wide set-up to the
 * last attachment.
 */
static int open_apply(struct opening *o, struct cgbpf_error *err)
{
	struct sandbox *sb = &o->sb;
	_cleanup_close_ int gfd = state_lock_global(o->s->state_dir, err);
	int r;

	if (gfd < 0)
		return gfd;
	fault_pause("global");
	r = open_machine(o, err);
	if (r == 0)
		r = sb->pl.ops->prepare(&sb->pl, &o->cg_created, err);
	if (r < 0)
		return r;
	o->cg_fd = sandbox_open_cgroup(sb, err);
	if (o->cg_fd < 0)
		return o->cg_fd;
	r = bpffs_mkdir_new(sandbox_bpffs(sb), sb->pin_dir, &o->pin_dir_created, err);
	/* A new directory has no stray pins whose names the new links must skip. */
	sb->pins_empty = o->pin_dir_created;
	if (r < 0)
		return r;
	r = sandbox_apply_locked(sb, &o->w.ws, o->cg_fd, &o->c, err);
	if (r < 0)
		return r;
	close(take_fd(&gfd));
	return sb->pl.ops->enter(&sb->pl, o->si->pid, o->origin, &o->moved, err);
}

/* Records the session; the ledger write is what makes the open happen. */
static int open_commit(struct opening *o, struct cgbpf_error *err)
{
	const struct session_info *si = o->si;
	struct ledger *l = &o->sb.l;
	char hooks[1024];
	int r;

	o->ses.pid = si->pid;
	o->ses.opened = (int64_t)time(NULL);
	o->ses.origin = o->origin;
	o->ses.service = (char *)si->service;
	o->ses.tty = (char *)si->tty;
	o->ses.rhost = (char *)si->rhost;
	r = ledger_add_session(l, &o->ses);
	if (r < 0)
		return cgbpf_oom(err);
	r = sandbox_commit(&o->sb, &o->c, err);
	if (r < 0)
		return r;
	/*
	 * Only now, with the new links in and recorded: never a moment unfiltered.
	 * A pin directory made by this open holds no strays.
	 */
	if (!o->pin_dir_created)
		sandbox_unpin_strays(&o->sb);
	sandbox_describe_hooks(l, hooks, sizeof(hooks));
	cgbpf_log(LOG_INFO,
		  "session opened for user %s (uid %" PRIu32 ") by %s: cgroup /%s, hooks %s, "
		  "%zu session%s",
		  o->w.rec.name, o->sb.uid, si->service ? si->service : "?", o->sb.pl.cg_rel, hooks,
		  l->n_ses, l->n_ses == 1 ? "" : "s");
	return 0;
}

/* Undoes what open_apply did; rmdir only succeeds on what is empty again. */
static void open_rollback(struct opening *o)
{
	struct placement *pl = &o->sb.pl;

	if (o->moved)
		pl->ops->leave(pl, o->si->pid, o->origin);
	sandbox_change_undo(&o->c);
	if (o->pin_dir_created)
		rmdir(o->sb.pin_dir);
	if (o->cg_created)
		pl->ops->remove(pl);
}

static void opening_done(struct opening *o)
{
	sandbox_change_done(&o->c);
	if (o->cg_fd >= 0)
		close(o->cg_fd);
	sandbox_done(&o->sb);
	wanted_clear(&o->w);
}

int session_open(const struct cgbpf_settings *s, const struct session_info *si, bool *sandboxed,
		 struct session_key *key, struct cgbpf_error *err)
{
	_cleanup_(opening_done) struct opening o = {
		.s = s, .si = si, .sb = { .lf = LEDGER_FILE_INIT }, .cg_fd = -1
	};
	int r;

	*sandboxed = false;
	r = wanted_for_user(s, si->user, &o.w, err);
	if (r < 0)
		return r;
	if (!resolved_policy_sandboxes(&o.w.rp)) {
		cgbpf_log(LOG_DEBUG, "no sandbox for user %s in %s", si->user, s->config);
		return 0;
	}
	fault_pause("policy_read");
	r = open_prepare(&o, err);
	if (r == 0)
		r = open_lock(&o, err);
	if (r == 0)
		r = open_recheck(&o, err);
	if (r < 0)
		return r;
	if (!resolved_policy_sandboxes(&o.w.rp)) {
		cgbpf_log(LOG_DEBUG, "no sandbox for user %s in %s", si->user, s->config);
		return 0;
	}
	r = open_apply(&o, err);
	if (r == 0)
		r = open_commit(&o, err);
	if (r < 0) {
		open_rollback(&o);
		return r;
	}
	*key = (struct session_key){ .pid = o.ses.pid,
				     .start_time = o.ses.start_time,
				     .uid = o.sb.uid };
	*sandboxed = true;
	return 0;
}

/* The uid: a close in the process that opened has it already; others look it up. */
static int close_prepare(const struct session_info *si, const struct session_key *key,
			 struct user_record *rec, struct cgbpf_error *err)
{
	if (!key)
		return user_lookup_no_groups(si->user, rec, err);
	rec->uid = key->uid;
	rec->name = strdup(si->user);
	return rec->name ? 0 : cgbpf_oom(err);
}

/* The ledger under its lock; *live is false when there is nothing to close. */
static int close_lock(const struct cgbpf_settings *s, struct sandbox *sb, uint32_t uid,
		      bool *exists, bool *live, struct cgbpf_error *err)
{
	bool this_boot = false;
	int r;

	*exists = *live = false;
	r = state_dir_check(s->state_dir, err);
	if (r == -ENOENT)
		return sandbox_init(sb, s, uid, err); /* nothing was ever opened here */
	if (r == 0)
		r = sandbox_lock_checked(sb, s, uid, exists, err);
	if (r == 0 && *exists)
		r = ledger_boot_check(&sb->l, &this_boot, err);
	if (r < 0 || !*exists)
		return r;
	if (!this_boot) {
		cgbpf_log(LOG_NOTICE, "removing the ledger of uid %" PRIu32 " from an earlier boot",
			  uid);
		return ledger_file_remove(&sb->lf);
	}
	r = sandbox_place_from_ledger(sb, err);
	if (r < 0)
		return r;
	/* The slice went (and maybe came back): its links are defunct, nothing is left to close. */
	if (sandbox_cgroup_replaced(sb))
		return sandbox_reclaim_replaced(sb, err);
	*live = true;
	return 0;
}

/* Drops the session of @key, moving its process out if it is still inside. */
static int close_apply(struct sandbox *sb, const struct session_info *si,
		       const struct session_key *key, struct cgbpf_error *err)
{
	char cg[LAYOUT_PATH_MAX];
	uint64_t start = 0;
	long idx;
	int r;

	if (key) {
		idx = ledger_find_session(&sb->l, key->pid, key->start_time);
	} else {
		r = proc_start_time(si->pid, &start);
		if (r < 0)
			return cgbpf_error_set(err, r,
					       "cannot read the start time of process %d: %s",
					       si->pid, errno_text(r));
		idx = ledger_find_session(&sb->l, si->pid, start);
	}
	/* Only a recorded session's process is moved: others never came from us. */
	if (idx >= 0 && cgroup_of_pid(si->pid, cg, sizeof(cg)) == 0 && placement_holds(&sb->pl, cg))
		sb->pl.ops->leave(&sb->pl, si->pid, sb->l.ses[idx].origin);
	if (idx >= 0)
		ledger_remove_session(&sb->l, (size_t)idx);
	r = sandbox_reclaim_stale(&sb->l, err);
	return r < 0 ? r : 0;
}

int session_close(const struct cgbpf_settings *s, const struct session_info *si,
		  const struct session_key *key, bool *had_sandbox, struct cgbpf_error *err)
{
	_cleanup_(user_record_clear) struct user_record rec = { 0 };
	_cleanup_sandbox_ struct sandbox sb = { .lf = LEDGER_FILE_INIT };
	char hooks[1024];
	bool live = false, removed = false;
	int r;

	*had_sandbox = false;
	r = close_prepare(si, key, &rec, err);
	if (r == 0)
		r = close_lock(s, &sb, rec.uid, had_sandbox, &live, err);
	if (r < 0 || !live)
		return r;
	r = close_apply(&sb, si, key, err);
	if (r < 0)
		return r;
	r = sandbox_release(&sb, true, true, &removed, err);
	if (r < 0)
		return r;
	sandbox_describe_hooks(&sb.l, hooks, sizeof(hooks));
	cgbpf_log(LOG_INFO,
		  "session closed for user %s (uid %" PRIu32 ") by %s: cgroup /%s, hooks %s, "
		  "%zu session%s left%s",
		  rec.name, rec.uid, si->service ? si->service : "?", sb.pl.cg_rel, hooks,
		  sb.l.n_ses, sb.l.n_ses == 1 ? "" : "s", removed ? ", sandbox removed" : "");
	return 0;
}
