// SPDX-License-Identifier: GPL-2.0-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cgroup.h"
#include "fault.h"
#include "filter_load.h"
#include "ledger_file.h"
#include "log.h"
#include "policy.h"
#include "resolve.h"
#include "safe_file.h"
#include "session.h"
#include "userdb.h"
#include "util.h"

#define KILL_TIMEOUT_MS	  5000
#define SETTLE_TIMEOUT_MS 500
#define ANCHOR_NAME	  "anchor"

/* Where one user's sandbox lives. */
struct sandbox {
	const struct cgbpf_settings *s;
	uint32_t uid;
	char mount[4096];      /* cgroup v2 mount point */
	char cg_rel[4096];     /* <cgroup_root>/user-<UID> */
	char cg_dir[8200];     /* mount + cg_rel */
	char pin_dir[4200];    /* <bpffs>/user-<UID> */
	char shared_dir[4200]; /* <bpffs>/shared */
};

static int sandbox_init(struct sandbox *sb, const struct cgbpf_settings *s, uint32_t uid,
			struct cgbpf_error *err)
{
	int r;

	sb->s = s;
	sb->uid = uid;
	r = cgroup2_mount_point(sb->mount, sizeof(sb->mount), err);
	if (r < 0)
		return r;
	snprintf(sb->cg_rel, sizeof(sb->cg_rel), "%s/user-%" PRIu32, s->cgroup_root, uid);
	snprintf(sb->cg_dir, sizeof(sb->cg_dir), "%s/%s", sb->mount, sb->cg_rel);
	snprintf(sb->pin_dir, sizeof(sb->pin_dir), "%s/user-%" PRIu32, s->bpffs, uid);
	snprintf(sb->shared_dir, sizeof(sb->shared_dir), "%s/shared", s->bpffs);
	return 0;
}

int sandbox_cgroup_dir(const struct cgbpf_settings *s, uint32_t uid, char *buf, size_t size,
		       struct cgbpf_error *err)
{
	char mount[4096];
	int r = cgroup2_mount_point(mount, sizeof(mount), err);

	if (r < 0)
		return r;
	if ((size_t)snprintf(buf, size, "%s/%s/user-%" PRIu32, mount, s->cgroup_root, uid) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int sandbox_pin_path(const struct cgbpf_settings *s, uint32_t uid, const char *link, char *buf,
		     size_t size)
{
	if ((size_t)snprintf(buf, size, "%s/user-%" PRIu32 "/%s", s->bpffs, uid, link) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int sandbox_shared_dir(const struct cgbpf_settings *s, char *buf, size_t size)
{
	if ((size_t)snprintf(buf, size, "%s/shared", s->bpffs) >= size)
		return -ENAMETOOLONG;
	return 0;
}

static void pin_path(const struct sandbox *sb, const char *link, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", sb->pin_dir, link);
}

bool session_is_live(const struct ledger_session *ses)
{
	uint64_t start;

	return proc_start_time(ses->pid, &start) == 0 && start == ses->start_time;
}

/*
 * Opens the user's cgroup for attaching and reads its id (the key of the
 * filters' counters and what a live link must point at) from the same fd.
 */
static int sandbox_open_cgroup(const struct sandbox *sb, uint64_t *id, struct cgbpf_error *err)
{
	struct stat st;
	int fd = open(sb->cg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return cgbpf_error_set(err, errno, "cannot open cgroup %s: %m", sb->cg_dir);
	if (fstat(fd, &st) < 0) {
		int r = cgbpf_error_set(err, errno, "cannot stat cgroup %s: %m", sb->cg_dir);

		close(fd);
		return r;
	}
	/* The id bpf_skb_cgroup_id() returns is the cgroup directory's inode number. */
	*id = (uint64_t)st.st_ino;
	return fd;
}

/* Drops sessions whose process is gone (crash, SIGKILL); returns how many. */
static int reclaim_stale(struct ledger *l)
{
	int n = 0;

	for (size_t i = l->n_ses; i-- > 0;) {
		if (session_is_live(&l->ses[i]))
			continue;
		cgbpf_log(LOG_NOTICE, "reclaiming stale session of uid %" PRIu32 " (pid %d, %s)",
			  l->uid, l->ses[i].pid, l->ses[i].service ? l->ses[i].service : "?");
		ledger_remove_session(l, i);
		n++;
	}
	return n;
}

/* A ledger from an earlier boot describes cgroups and pins that no longer exist. */
static bool ledger_from_this_boot(const struct ledger *l)
{
	char id[64];

	return boot_id(id, sizeof(id)) == 0 && l->boot_id && !strcmp(id, l->boot_id);
}

static bool policy_names_groups(const struct policy *policy)
{
	for (size_t i = 0; i < policy->n_rules; i++)
		if (policy->rules[i].who == WHO_GROUP)
			return true;
	return false;
}

/* Loads the policy and resolves it for @user; *user_out and *policy own what rp points into. */
static int resolve_user(const struct cgbpf_settings *s, const char *user, struct policy **policy,
			struct user_record *rec, struct resolved_policy *rp,
			struct cgbpf_error *err)
{
	_cleanup_free_ char *buf = NULL;
	struct user_info ui;
	size_t len;
	int r;

	r = safe_read_file(s->config, POLICY_MAX_FILE_SIZE, &buf, &len, err);
	if (r < 0)
		return r;
	r = policy_parse(buf, len, s->config, policy, err);
	if (r < 0)
		return r;
	r = policy_names_groups(*policy) ? user_lookup(user, rec, err)
					 : user_lookup_no_groups(user, rec, err);
	if (r < 0)
		goto fail;
	ui = user_record_info(rec);
	r = policy_resolve(*policy, &ui, rp, err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	user_record_clear(rec);
	policy_free(*policy);
	*policy = NULL;
	return r;
}

static bool want_matches(const struct want_attach *w, const struct ledger_attach *a)
{
	return w->hook == a->hook && w->kind == a->kind && !strcmp(w->ident, a->ident);
}

/*
 * The anchor: an allow-all program on every hook, attached to an empty cgroup
 * and never detached by a logout. The kernel switches a cgroup-BPF hook on
 * machine-wide at the first attachment and off at the last, at a cost of
 * hundreds of microseconds each; the anchor keeps every login from paying it.
 */
static int anchor_ensure(const struct sandbox *sb, struct cgbpf_error *err)
{
	char cg[8200], dir[4200], pin[4300];
	_cleanup_close_ int cg_fd = -1;
	bool created;
	int r;

	snprintf(dir, sizeof(dir), "%s/" ANCHOR_NAME, sb->s->bpffs);
	snprintf(pin, sizeof(pin), "%s/%s", dir, hook_name(HOOK_SOCK_CREATE));
	if (access(pin, F_OK) == 0)
		return 0;
	r = bpffs_mkdir(dir, err);
	if (r < 0)
		return r;
	snprintf(cg, sizeof(cg), "%s/" ANCHOR_NAME, sb->s->cgroup_root);
	r = cgroup_make(sb->mount, cg, &created, err);
	if (r < 0)
		return r;
	snprintf(cg, sizeof(cg), "%s/%s/" ANCHOR_NAME, sb->mount, sb->s->cgroup_root);
	cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return cgbpf_error_set(err, errno, "cannot open cgroup %s: %m", cg);
	/* sock_create last: its pin is the mark that the anchor is complete. */
	for (int h = 0; h < HOOK_COUNT; h++) {
		struct filter_image *img = NULL;
		char sdir[4300];
		int prog_fd = -1;

		snprintf(pin, sizeof(pin), "%s/%s", dir, hook_name((enum cgbpf_hook)h));
		if (access(pin, F_OK) == 0)
			continue;
		r = filter_compile((enum cgbpf_hook)h, NULL, 0, "(anchor)", &img, err);
		if (r == 0)
			r = shared_entry_dir(sb->shared_dir, ATT_FILTER, filter_image_id(img), sdir,
					     sizeof(sdir));
		if (r == 0)
			r = filter_get_shared(img, sdir, &prog_fd, err);
		if (r == 0)
			r = attach_link_pin(prog_fd, cg_fd, (enum cgbpf_hook)h, pin, err);
		if (prog_fd >= 0)
			close(prog_fd);
		filter_image_free(img);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Attachments made by this call, to be undone if a later step fails. */
struct new_links {
	char **pins;
	size_t n;
};

static void new_links_undo(struct new_links *nl)
{
	for (size_t i = 0; i < nl->n; i++) {
		attach_unpin(nl->pins[i]);
		free(nl->pins[i]);
	}
	free(nl->pins);
	*nl = (struct new_links){ 0 };
}

static void new_links_forget(struct new_links *nl)
{
	for (size_t i = 0; i < nl->n; i++)
		free(nl->pins[i]);
	free(nl->pins);
	*nl = (struct new_links){ 0 };
}

/*
 * Makes @l's attachments what @ws wants: attaches the missing ones (recorded
 * in @l and @nl) and marks in @stale the old ones to detach once the new ones
 * are in place, so there is no moment in which traffic is unfiltered.
 */
static int sandbox_attach_wanted(const struct sandbox *sb, struct ledger *l,
				 const struct want_set *ws, int cg_fd, struct new_links *nl,
				 bool *stale, struct cgbpf_error *err)
{
	const char *file = sb->s->config;
	size_t n_old = l->n_att;
	int r = 0, gfd;

	/*
	 * An attachment the ledger records but the kernel no longer has (a close
	 * that died half-way through a teardown, a cgroup made anew) is stale
	 * too, and is attached again: the ledger alone is never trusted.
	 */
	for (size_t j = 0; j < n_old; j++) {
		char pin[4300];

		stale[j] = true;
		pin_path(sb, l->att[j].link, pin, sizeof(pin));
		if (!attach_link_alive(pin, l->cgroup_id))
			continue;
		for (size_t i = 0; i < ws->n; i++)
			if (want_matches(&ws->v[i], &l->att[j]))
				stale[j] = false;
	}
	gfd = state_lock_global(sb->s->state_dir, err);
	if (gfd < 0)
		return gfd;
	r = bpffs_mkdir(sb->shared_dir, err);
	for (size_t i = 0; i < ws->n && r == 0; i++) {
		const struct want_attach *w = &ws->v[i];
		struct ledger_attach a = { .hook = w->hook, .kind = w->kind };
		char name[64], pin[4300], **np;
		bool have = false;
		int prog_fd = -1;

		for (size_t j = 0; j < n_old; j++)
			have |= !stale[j] && want_matches(w, &l->att[j]);
		if (have)
			continue;
		snprintf(name, sizeof(name), "%s-%" PRIu32, hook_name(w->hook), l->next_link++);
		pin_path(sb, name, pin, sizeof(pin));
		r = attach_get_prog(w, sb->shared_dir, file, &prog_fd, err);
		if (r < 0)
			break;
		r = attach_link_pin(prog_fd, cg_fd, w->hook, pin, err);
		close(prog_fd);
		if (r < 0)
			break;
		np = realloc(nl->pins, (nl->n + 1) * sizeof(*np));
		if (np) {
			nl->pins = np;
			nl->pins[nl->n] = strdup(pin);
		}
		if (!np || !nl->pins[nl->n]) {
			attach_unpin(pin);
			r = cgbpf_error_set(err, ENOMEM, "out of memory");
			break;
		}
		nl->n++;
		a.ident = w->ident;
		a.link = name;
		a.what = w->what;
		a.lines = w->lines;
		r = ledger_add_attach(l, &a);
		if (r < 0)
			r = cgbpf_error_set(err, r, "out of memory");
	}
	close(gfd);
	return r;
}

/*
 * Detaches links pinned in the user's directory that the ledger does not
 * record (an open that died between attaching and writing the ledger), so
 * that their names can be used again and nothing unrecorded stays attached.
 */
static void unpin_strays(const struct sandbox *sb, const struct ledger *l)
{
	DIR *d = opendir(sb->pin_dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char pin[4500];
		bool known = e->d_name[0] == '.';

		for (size_t j = 0; j < l->n_att && !known; j++)
			known = !strcmp(l->att[j].link, e->d_name);
		if (known)
			continue;
		pin_path(sb, e->d_name, pin, sizeof(pin));
		cgbpf_log(LOG_NOTICE, "removing %s, which no ledger records", pin);
		attach_unpin(pin);
	}
	closedir(d);
}

/* Forgets this cgroup's counters in a shared filter it no longer uses. */
static void forget_counters(const struct sandbox *sb, const struct ledger *l,
			    const struct ledger_attach *a)
{
	char dir[4300];

	if (a->kind != ATT_FILTER ||
	    shared_entry_dir(sb->shared_dir, a->kind, a->ident, dir, sizeof(dir)) < 0)
		return;
	filter_forget_cgroup(dir, l->cgroup_id);
}

/* Detaches the attachments marked stale and drops them from the ledger. */
static void detach_stale(const struct sandbox *sb, struct ledger *l, const bool *stale,
			 size_t n_old)
{
	for (size_t j = n_old; j-- > 0;) {
		char pin[4300];
		int r;

		if (!stale[j])
			continue;
		pin_path(sb, l->att[j].link, pin, sizeof(pin));
		r = attach_unpin(pin);
		if (r < 0)
			cgbpf_log(LOG_WARNING, "cannot detach %s: %s", pin, strerror(-r));
		forget_counters(sb, l, &l->att[j]);
		ledger_remove_attach(l, j);
	}
}

/*
 * Records @l as it will be once the attachments marked in @stale are gone,
 * and only then detaches them: a failed write leaves the old ones in place.
 */
static int ledger_commit_swap(const struct sandbox *sb, struct ledger_file *lf, struct ledger *l,
			      const bool *stale, size_t n_old, struct cgbpf_error *err)
{
	struct ledger view = *l;
	struct ledger_attach *keep = calloc(l->n_att + 1, sizeof(*keep));
	size_t k = 0;
	int r;

	if (!keep)
		return cgbpf_error_set(err, ENOMEM, "out of memory");
	for (size_t j = 0; j < l->n_att; j++)
		if (j >= n_old || !stale[j])
			keep[k++] = l->att[j];
	view.att = keep;
	view.n_att = k;
	r = fault_hit("ledger") ? cgbpf_error_set(err, EIO, "cannot write ledger: injected fault")
				: ledger_file_write(lf, &view, err);
	free(keep);
	if (r == 0)
		detach_stale(sb, l, stale, n_old);
	return r;
}

/* Detaches everything and removes the pins, the cgroup and the ledger. */
static int sandbox_teardown(const struct sandbox *sb, struct ledger *l, struct ledger_file *lf,
			    struct cgbpf_error *err)
{
	int r;

	for (size_t j = 0; j < l->n_att; j++) {
		char pin[4300];

		pin_path(sb, l->att[j].link, pin, sizeof(pin));
		r = attach_unpin(pin);
		if (r < 0)
			cgbpf_log(LOG_WARNING, "cannot detach %s: %s", pin, strerror(-r));
		forget_counters(sb, l, &l->att[j]);
	}
	if (rmdir(sb->pin_dir) < 0 && errno != ENOENT)
		cgbpf_log(LOG_WARNING, "cannot remove %s: %m", sb->pin_dir);
	r = cgroup_remove(sb->cg_dir);
	if (r < 0) {
		errno = -r;
		return cgbpf_error_set(err, r, "cannot remove cgroup %s: %m", sb->cg_dir);
	}
	r = ledger_file_remove(lf);
	if (r < 0) {
		errno = -r;
		return cgbpf_error_set(err, r, "cannot remove ledger %s: %m", lf->path);
	}
	return 0;
}

/* The hooks of a ledger, for the log: "egress:filter(3 rules) sock_create:program(x.o:f)". */
static void describe_hooks(const struct ledger *l, char *buf, size_t size)
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

/* Where a closing process goes back to: its origin, or the nearest ancestor that still exists. */
static void move_back(const struct sandbox *sb, pid_t pid, const char *origin)
{
	char dir[8200], *slash;
	struct cgbpf_error err = { { 0 } };

	snprintf(dir, sizeof(dir), "%s%s", sb->mount, origin && origin[0] == '/' ? origin : "/");
	for (;;) {
		if (access(dir, F_OK) == 0 && cgroup_move(dir, pid, &err) == 0)
			return;
		slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < strlen(sb->mount))
			break;
		*slash = '\0';
	}
	cgbpf_log(LOG_WARNING, "cannot move process %d back out of %s: %s", (int)pid, sb->cg_dir,
		  err.msg);
}

static void fresh_ledger(struct ledger *l, const struct sandbox *sb, const char *user)
{
	char id[64] = "";

	ledger_clear(l);
	l->uid = sb->uid;
	l->user = strdup(user);
	boot_id(id, sizeof(id));
	l->boot_id = strdup(id);
	l->cgroup = strdup(sb->cg_rel);
}

int session_open(const struct cgbpf_settings *s, const struct session_info *si, bool *sandboxed,
		 struct session_key *key, struct cgbpf_error *err)
{
	struct policy *policy = NULL;
	struct user_record rec = { 0 };
	struct resolved_policy rp = { 0 };
	struct want_set ws = { 0 };
	struct sandbox sb;
	struct ledger_file lf = LEDGER_FILE_INIT;
	struct ledger l = { 0 };
	struct new_links nl = { 0 };
	struct ledger_session ses = { 0 };
	_cleanup_free_ bool *stale = NULL;
	_cleanup_close_ int cg_fd = -1;
	bool exists = false, cg_created = false, moved = false, pin_dir_created = false;
	char origin[4096], hooks[1024];
	size_t n_old;
	int r;

	*sandboxed = false;
	r = resolve_user(s, si->user, &policy, &rec, &rp, err);
	if (r < 0)
		return r;
	if (!resolved_policy_sandboxes(&rp)) {
		cgbpf_log(LOG_DEBUG, "no sandbox for user %s in %s", si->user, s->config);
		goto out;
	}
	/* Everything that can be checked without touching the system, first. */
	r = want_set_build(&rp, s->config, &ws, err);
	if (r < 0)
		goto out;
	r = sandbox_init(&sb, s, rec.uid, err);
	if (r < 0)
		goto out;
	r = proc_start_time(si->pid, &ses.start_time);
	if (r < 0) {
		r = cgbpf_error_set(err, r, "cannot read the start time of process %d", si->pid);
		goto out;
	}
	r = cgroup_of_pid(si->pid, origin, sizeof(origin));
	if (r < 0) {
		r = cgbpf_error_set(err, r, "cannot read the cgroup of process %d", si->pid);
		goto out;
	}
	r = state_dir_ensure(s->state_dir, err);
	if (r < 0)
		goto out;
	r = ledger_file_lock(s->state_dir, rec.uid, &lf, err);
	if (r < 0)
		goto out;
	r = ledger_file_read(&lf, &l, &exists, err);
	if (r < 0)
		goto out;
	if (!exists || !ledger_from_this_boot(&l)) {
		fresh_ledger(&l, &sb, rec.name);
		if (!l.user || !l.boot_id || !l.cgroup) {
			r = cgbpf_error_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
	reclaim_stale(&l);

	/* bpffs and the anchor are machine-wide: set them up under the global lock. */
	{
		int gfd = state_lock_global(s->state_dir, err);

		if (gfd < 0) {
			r = gfd;
			goto out;
		}
		r = bpffs_ensure(s->bpffs, err);
		if (r == 0)
			r = bpffs_mkdir(sb.shared_dir, err);
		if (r == 0)
			r = anchor_ensure(&sb, err);
		close(gfd);
		if (r < 0)
			goto out;
	}
	r = cgroup_make(sb.mount, sb.cg_rel, &cg_created, err);
	if (r < 0)
		goto out;
	cg_fd = sandbox_open_cgroup(&sb, &l.cgroup_id, err);
	if (cg_fd < 0) {
		r = cg_fd;
		goto rollback;
	}
	pin_dir_created = access(sb.pin_dir, F_OK) != 0;
	r = bpffs_mkdir(sb.pin_dir, err);
	if (r < 0)
		goto rollback;

	unpin_strays(&sb, &l);
	n_old = l.n_att;
	stale = calloc(n_old + 1, sizeof(*stale));
	if (!stale) {
		r = cgbpf_error_set(err, ENOMEM, "out of memory");
		goto rollback;
	}
	r = sandbox_attach_wanted(&sb, &l, &ws, cg_fd, &nl, stale, err);
	if (r < 0)
		goto rollback;

	if (strcmp(origin, "/") && !strncmp(origin + 1, sb.cg_rel, strlen(sb.cg_rel)) &&
	    origin[1 + strlen(sb.cg_rel)] == '\0') {
		/* Already inside (su from within a session): nothing to move. */
	} else {
		if (fault_hit("move")) {
			r = cgbpf_error_set(err, EIO, "cannot move process: injected fault");
			goto rollback;
		}
		r = cgroup_move(sb.cg_dir, si->pid, err);
		if (r < 0)
			goto rollback;
		moved = true;
	}

	ses.pid = si->pid;
	ses.opened = (int64_t)time(NULL);
	ses.origin = origin;
	ses.service = (char *)si->service;
	ses.tty = (char *)si->tty;
	ses.rhost = (char *)si->rhost;
	r = ledger_add_session(&l, &ses);
	if (r < 0) {
		r = cgbpf_error_set(err, r, "out of memory");
		goto rollback;
	}
	r = ledger_commit_swap(&sb, &lf, &l, stale, n_old, err);
	if (r < 0)
		goto rollback;
	new_links_forget(&nl);

	describe_hooks(&l, hooks, sizeof(hooks));
	cgbpf_log(LOG_INFO,
		  "session opened for user %s (uid %" PRIu32 ") by %s: cgroup /%s, hooks %s, "
		  "%zu session%s",
		  rec.name, rec.uid, si->service ? si->service : "?", sb.cg_rel, hooks, l.n_ses,
		  l.n_ses == 1 ? "" : "s");
	key->pid = ses.pid;
	key->start_time = ses.start_time;
	key->uid = rec.uid;
	*sandboxed = true;
	r = 0;
	goto out;

rollback:
	if (moved)
		move_back(&sb, si->pid, origin);
	new_links_undo(&nl);
	/* rmdir only succeeds on what is empty again, so nothing older is touched. */
	if (pin_dir_created)
		rmdir(sb.pin_dir);
	if (cg_created)
		cgroup_remove(sb.cg_dir);
out:
	ledger_file_unlock(&lf);
	ledger_clear(&l);
	want_set_free(&ws);
	resolved_policy_clear(&rp);
	user_record_clear(&rec);
	policy_free(policy);
	return r;
}

/* After the sessions changed: keep the sandbox, or remove it with the last one. */
static int sandbox_settle(const struct sandbox *sb, struct ledger *l, struct ledger_file *lf,
			  bool *removed, struct cgbpf_error *err)
{
	int n;

	*removed = false;
	if (l->n_ses > 0)
		return ledger_file_write(lf, l, err);
	n = cgroup_settle(sb->cg_dir, SETTLE_TIMEOUT_MS);
	if (n > 0 && sb->s->on_logout == ON_LOGOUT_KILL) {
		n = cgroup_kill_all(sb->cg_dir, KILL_TIMEOUT_MS);
		if (n == -ETIMEDOUT)
			cgbpf_log(LOG_ERR, "processes of uid %" PRIu32 " survived SIGKILL in %s",
				  sb->uid, sb->cg_dir);
	}
	if (n < 0 && n != -ENOENT) {
		/* Not knowing whether processes are left, keep their filter. */
		cgbpf_log(LOG_WARNING, "cannot tell whether %s is empty (%s); the sandbox stays",
			  sb->cg_dir, strerror(-n));
		return ledger_file_write(lf, l, err);
	}
	if (n > 0) {
		/* on_logout=keep: they stay sandboxed until they exit. */
		cgbpf_log(LOG_INFO,
			  "last session of uid %" PRIu32 " closed; %s keeps running "
			  "processes sandboxed",
			  sb->uid, sb->cg_dir);
		return ledger_file_write(lf, l, err);
	}
	*removed = true;
	return sandbox_teardown(sb, l, lf, err);
}

int session_close(const struct cgbpf_settings *s, const struct session_info *si,
		  const struct session_key *key, bool *had_sandbox, struct cgbpf_error *err)
{
	struct user_record rec = { 0 };
	struct sandbox sb;
	struct ledger_file lf = LEDGER_FILE_INIT;
	struct ledger l = { 0 };
	struct session_key own;
	char cg[4096], hooks[1024];
	bool exists = false, removed = false;
	long idx;
	int r;

	*had_sandbox = false;
	/* A close in the process that opened has the uid already; others look it up. */
	if (key) {
		rec.uid = key->uid;
		rec.name = strdup(si->user);
		if (!rec.name)
			return cgbpf_error_set(err, ENOMEM, "out of memory");
	} else {
		r = user_lookup_no_groups(si->user, &rec, err);
		if (r < 0)
			return r;
	}
	r = sandbox_init(&sb, s, rec.uid, err);
	if (r < 0)
		goto out;
	if (access(s->state_dir, F_OK) != 0)
		goto out; /* nothing was ever opened with this state_dir */
	r = ledger_file_lock(s->state_dir, rec.uid, &lf, err);
	if (r < 0)
		goto out;
	r = ledger_file_read(&lf, &l, &exists, err);
	if (r < 0 || !exists)
		goto out;
	*had_sandbox = true;
	if (!ledger_from_this_boot(&l)) {
		cgbpf_log(LOG_NOTICE, "removing the ledger of uid %" PRIu32 " from an earlier boot",
			  rec.uid);
		r = ledger_file_remove(&lf);
		goto out;
	}
	if (!key) {
		own.pid = si->pid;
		own.uid = rec.uid;
		if (proc_start_time(si->pid, &own.start_time) < 0)
			own.start_time = 0;
		key = &own;
	}
	idx = ledger_find_session(&l, key->pid, key->start_time);
	/* Only a recorded session's process is moved: others never came from us. */
	if (idx >= 0 && cgroup_of_pid(si->pid, cg, sizeof(cg)) == 0 && cg[0] == '/' &&
	    !strcmp(cg + 1, sb.cg_rel))
		move_back(&sb, si->pid, l.ses[idx].origin);
	if (idx >= 0)
		ledger_remove_session(&l, (size_t)idx);
	reclaim_stale(&l);
	r = sandbox_settle(&sb, &l, &lf, &removed, err);
	if (r < 0)
		goto out;
	describe_hooks(&l, hooks, sizeof(hooks));
	cgbpf_log(LOG_INFO,
		  "session closed for user %s (uid %" PRIu32 ") by %s: cgroup /%s, hooks %s, "
		  "%zu session%s left%s",
		  rec.name, rec.uid, si->service ? si->service : "?", sb.cg_rel, hooks, l.n_ses,
		  l.n_ses == 1 ? "" : "s", removed ? ", sandbox removed" : "");
out:
	ledger_file_unlock(&lf);
	ledger_clear(&l);
	user_record_clear(&rec);
	return r;
}

/* Paths, lock and ledger of @uid's sandbox, for gc, reload and status. */
static int sandbox_lock(const struct cgbpf_settings *s, uint32_t uid, struct sandbox *sb,
			struct ledger_file *lf, struct ledger *l, bool *exists,
			struct cgbpf_error *err)
{
	int r;

	*exists = false;
	r = sandbox_init(sb, s, uid, err);
	if (r < 0)
		return r;
	r = ledger_file_lock(s->state_dir, uid, lf, err);
	if (r < 0)
		return r;
	return ledger_file_read(lf, l, exists, err);
}

int sandbox_gc(const struct cgbpf_settings *s, uint32_t uid, enum gc_outcome *out, int *n_stale,
	       struct cgbpf_error *err)
{
	struct sandbox sb;
	struct ledger_file lf = LEDGER_FILE_INIT;
	struct ledger l = { 0 };
	bool exists = false, removed = false;
	int r, n;

	*out = GC_KEPT;
	*n_stale = 0;
	r = sandbox_lock(s, uid, &sb, &lf, &l, &exists, err);
	if (r < 0 || !exists)
		goto out;
	if (!ledger_from_this_boot(&l)) {
		r = ledger_file_remove(&lf);
		*out = GC_REMOVED;
		goto out;
	}
	*n_stale = reclaim_stale(&l);
	if (l.n_ses > 0) {
		if (*n_stale)
			r = ledger_file_write(&lf, &l, err);
		goto out;
	}
	/* gc never kills: processes left behind keep their sandbox. */
	n = cgroup_settle(sb.cg_dir, SETTLE_TIMEOUT_MS);
	if (n > 0 || (n < 0 && n != -ENOENT)) {
		if (*n_stale)
			r = ledger_file_write(&lf, &l, err);
		goto out;
	}
	r = sandbox_teardown(&sb, &l, &lf, err);
	removed = r == 0;
	if (removed)
		*out = GC_REMOVED;
out:
	ledger_file_unlock(&lf);
	ledger_clear(&l);
	return r;
}

int sandbox_reload(const struct cgbpf_settings *s, uint32_t uid, bool *changed,
		   struct cgbpf_error *err)
{
	struct policy *policy = NULL;
	struct user_record rec = { 0 };
	struct resolved_policy rp = { 0 };
	struct want_set ws = { 0 };
	struct sandbox sb;
	struct ledger_file lf = LEDGER_FILE_INIT;
	struct ledger l = { 0 };
	struct new_links nl = { 0 };
	_cleanup_free_ bool *stale = NULL;
	_cleanup_close_ int cg_fd = -1;
	bool exists = false;
	size_t n_old;
	int r;

	*changed = false;
	r = sandbox_lock(s, uid, &sb, &lf, &l, &exists, err);
	if (r < 0 || !exists)
		goto out;
	r = resolve_user(s, l.user, &policy, &rec, &rp, err);
	if (r < 0)
		goto out;
	/* A policy that no longer sandboxes a live user keeps nothing attached. */
	r = want_set_build(&rp, s->config, &ws, err);
	if (r < 0)
		goto out;
	cg_fd = sandbox_open_cgroup(&sb, &l.cgroup_id, err);
	if (cg_fd < 0) {
		r = cg_fd;
		goto out;
	}
	n_old = l.n_att;
	stale = calloc(n_old + 1, sizeof(*stale));
	if (!stale) {
		r = cgbpf_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	r = sandbox_attach_wanted(&sb, &l, &ws, cg_fd, &nl, stale, err);
	if (r < 0) {
		new_links_undo(&nl);
		goto out;
	}
	*changed = nl.n > 0;
	for (size_t j = 0; j < n_old; j++)
		*changed |= stale[j];
	if (*changed) {
		r = ledger_commit_swap(&sb, &lf, &l, stale, n_old, err);
		if (r < 0) {
			new_links_undo(&nl);
			goto out;
		}
	}
	new_links_forget(&nl);
out:
	ledger_file_unlock(&lf);
	ledger_clear(&l);
	want_set_free(&ws);
	resolved_policy_clear(&rp);
	user_record_clear(&rec);
	policy_free(policy);
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
	uint32_t *v = NULL;
	size_t cnt = 0;

	*uids = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		unsigned long uid;
		char tail[16];
		uint32_t *nv;

		if (sscanf(e->d_name, "user-%lu%15s", &uid, tail) != 2 || strcmp(tail, ".ledger"))
			continue;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			closedir(d);
			return -ENOMEM;
		}
		v = nv;
		v[cnt++] = (uint32_t)uid;
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
	struct ledger_file lf = LEDGER_FILE_INIT;
	struct sandbox sb;
	bool exists = false;
	int r;

	r = sandbox_lock(s, uid, &sb, &lf, out, &exists, err);
	ledger_file_unlock(&lf);
	if (r == 0 && !exists)
		r = -ENOENT;
	return r;
}
