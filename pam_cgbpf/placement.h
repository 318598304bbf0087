/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which cgroup a user's sandbox lives in, and how sessions enter and leave it.
 * placement_own.c makes pam_cgbpf's own <cgroup_root>/user-<UID>; a second
 * placement is a second struct placement_ops, not an if in the callers.
 */
#ifndef CGBPF_PLACEMENT_H
#define CGBPF_PLACEMENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "args.h" /* enum placement_kind: AUTO only in settings */
#include "error.h"
#include "ledger.h"

/* Where one user's sandbox lives. */
struct placement {
	const struct placement_ops *ops;
	enum placement_kind kind; /* OWN or SYSTEMD, never AUTO */
	uint32_t uid;
	char *mount;  /* the cgroup2 mount point */
	char *cg_rel; /* sandbox cgroup relative to mount, no leading '/':
			 "pam_cgbpf/user-1000" or "user.slice/user-1000.slice" */
	char *cg_dir; /* mount + "/" + cg_rel */
};

struct placement_ops {
	const char *name; /* "own", "systemd" */
	/* Whether sandboxes here use the anchor cgroup (own: yes; systemd: no cgroup of ours). */
	bool anchored;
	/* Whether remove takes the sandbox cgroup away (own: yes; systemd: the slice stays). */
	bool removes_cgroup;
	/* Makes sure the sandbox cgroup exists (own: mkdir, root-owned; systemd: checks the
	   slice is there). *created: made by this call, so rollback removes it. */
	int (*prepare)(struct placement *p, bool *created, struct cgbpf_error *err);
	/* Puts @pid under the sandbox (own: moves it; systemd: nothing). *moved: undo needed. */
	int (*enter)(struct placement *p, pid_t pid, const char *origin, bool *moved,
		     struct cgbpf_error *err);
	/* Undoes enter at close or rollback (own: back to origin or its nearest ancestor). */
	void (*leave)(struct placement *p, pid_t pid, const char *origin);
	/* Processes left that keep the sandbox alive, after waiting up to timeout_ms for
	   exiting ones (own: the cgroup; systemd: the user's session-*.scope cgroups). */
	int (*settle)(struct placement *p, int timeout_ms);
	/* on_logout=kill: kills those processes, waits up to timeout_ms. */
	int (*kill_left)(struct placement *p, int timeout_ms);
	/* Removes what prepare created when the sandbox goes (own: rmdir; systemd: nothing). */
	int (*remove)(struct placement *p);
};

/*
 * Chooses the placement of a new session of @uid whose process is in cgroup
 * @cg (as /proc/PID/cgroup gives it; settings: placement=).
 */
int placement_for_session(struct placement *p, const struct cgbpf_settings *s, uint32_t uid,
			  const char *cg, struct cgbpf_error *err);
/* The placement of a live sandbox, from its ledger (close, gc, reload, status). */
int placement_from_ledger(struct placement *p, const struct cgbpf_settings *s,
			  const struct ledger *l, struct cgbpf_error *err);
void placement_clear(struct placement *p);

/* Whether @pid's cgroup (@cg, relative to the mount, with its leading '/') is the sandbox's. */
bool placement_holds(const struct placement *p, const char *cg);

/* For the implementations: fills mount, cg_rel and cg_dir. */
int placement_init(struct placement *p, const struct placement_ops *ops, enum placement_kind kind,
		   uint32_t uid, const char *cg_rel, struct cgbpf_error *err);
extern const struct placement_ops placement_own_ops;
extern const struct placement_ops placement_systemd_ops;

#endif
