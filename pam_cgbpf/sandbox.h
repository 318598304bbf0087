/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One user's sandbox: its placement, its pins, its ledger under lock, and the
 * one way of making its attachments what the policy wants (open and reload).
 */
#ifndef CGBPF_SANDBOX_H
#define CGBPF_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "args.h"
#include "attach.h"
#include "error.h"
#include "layout.h"
#include "ledger.h"
#include "ledger_file.h"
#include "placement.h"
#include "policy.h"
#include "resolve.h"
#include "userdb.h"

#define SETTLE_TIMEOUT_MS 500
#define KILL_TIMEOUT_MS	  5000

struct sandbox {
	const struct cgbpf_settings *s; /* once the ledger is read: made, below */
	struct cgbpf_settings made;	/* the caller's, with the ledger's record of what made it */
	uint32_t uid;
	struct placement pl; /* set by sandbox_place_* */
	char pin_dir[LAYOUT_PATH_MAX];
	char shared_dir[LAYOUT_PATH_MAX];
	bool pins_empty; /* pin_dir was just made: no name in it is taken */
	bool cg_removed; /* the placement's cgroup was removed already (sandbox_release) */
	/* s->bpffs opened O_PATH at first use (sandbox_bpffs), or -1 if it would not open. */
	bool have_bpffs_fd;
	int bpffs_fd;
	struct ledger_file lf;
	struct ledger l;
};

/* Paths of @uid's sandbox; nothing locked or read yet. */
int sandbox_init(struct sandbox *sb, const struct cgbpf_settings *s, uint32_t uid,
		 struct cgbpf_error *err);
/*
 * sandbox_init, then the ledger's lock and contents. From then on the sandbox
 * is handled with the settings that made it (policy file, cgroup_root, bpffs),
 * whatever the caller's are: one sandbox, one set of settings.
 */
int sandbox_lock(struct sandbox *sb, const struct cgbpf_settings *s, uint32_t uid, bool *exists,
		 struct cgbpf_error *err);
/* sandbox_lock once the caller has checked state_dir (state_dir_check). */
int sandbox_lock_checked(struct sandbox *sb, const struct cgbpf_settings *s, uint32_t uid,
			 bool *exists, struct cgbpf_error *err);
/* Records @sb's settings in its ledger (a new sandbox). */
int sandbox_record_settings(struct sandbox *sb, struct cgbpf_error *err);
/* The placement the ledger records. */
int sandbox_place_from_ledger(struct sandbox *sb, struct cgbpf_error *err);
/* Where pins and the shared cache are found from: s->bpffs, opened once (whole paths if not). */
struct bpffs_at sandbox_bpffs(struct sandbox *sb);
/* Unlocks and frees; accepts a zeroed or half-made sandbox. */
void sandbox_done(struct sandbox *sb);
#define _cleanup_sandbox_ __attribute__((cleanup(sandbox_done)))

/*
 * Whether the sandbox's cgroup is gone or is another one than the ledger's
 * (systemd removed the slice and made it anew: a new cgroup id). Its links are
 * then defunct and the sandbox is stale. Not knowing (stat failed otherwise)
 * is no: the sandbox is kept.
 */
bool sandbox_cgroup_replaced(const struct sandbox *sb);
/* Unpins the links of a sandbox whose cgroup was replaced and drops its sessions (in memory). */
void sandbox_forget_replaced(struct sandbox *sb);
/* sandbox_forget_replaced, then removes the pins' directory and the ledger. */
int sandbox_reclaim_replaced(struct sandbox *sb, struct cgbpf_error *err);

/* Opens the sandbox cgroup and records its id (the filters' counter key) in the ledger. */
int sandbox_open_cgroup(struct sandbox *sb, struct cgbpf_error *err);

/* The policy for one user: what it is made of and what it wants attached. */
struct wanted {
	struct stat policy_st; /* of the file read, to tell whether it changed since */
	struct policy *policy;
	struct user_record rec;
	struct resolved_policy rp;
	struct want_set ws;
};
int wanted_for_user(const struct cgbpf_settings *s, const char *user, struct wanted *w,
		    struct cgbpf_error *err);
void wanted_clear(struct wanted *w);
/*
 * Whether @w is still what the files say: the policy file is the one read
 * (device, inode, size, change time) and every object a program rule named
 * still holds the bytes read. Called under the user's lock, so that a login
 * that read the files before a `cgbpfctl reload` never re-applies old rules.
 */
bool wanted_is_current(const struct cgbpf_settings *s, const struct wanted *w);

/* A change of attachments made by sandbox_apply, not yet committed. */
struct sandbox_change {
	char **new_pins; /* attached by this change, undone by sandbox_change_undo */
	size_t n_new;
	bool *stale; /* of the attachments before the change: to detach at commit */
	size_t n_old;
};

/*
 * Makes the sandbox's attachments what @ws wants: attaches the missing ones,
 * recording them in the ledger and @c, and marks the old ones to detach at
 * commit, so there is no moment in which traffic is unfiltered.
 */
int sandbox_apply(struct sandbox *sb, const struct want_set *ws, int cg_fd,
		  struct sandbox_change *c, struct cgbpf_error *err);
/* The same, for a caller that holds the global lock and has made the shared directory. */
int sandbox_apply_locked(struct sandbox *sb, const struct want_set *ws, int cg_fd,
			 struct sandbox_change *c, struct cgbpf_error *err);
bool sandbox_change_any(const struct sandbox_change *c);
/* Writes the ledger as it is without the stale attachments, then detaches them. */
int sandbox_commit(struct sandbox *sb, struct sandbox_change *c, struct cgbpf_error *err);
/* Detaches what the change attached (a failed open or reload). */
void sandbox_change_undo(struct sandbox_change *c);
/* Frees the change; what it attached stays. */
void sandbox_change_done(struct sandbox_change *c);

/*
 * Detaches links pinned in the user's directory that the ledger does not
 * record (an open that died between attaching and writing the ledger), so
 * that their names can be used again and nothing unrecorded stays attached.
 */
void sandbox_unpin_strays(struct sandbox *sb);

/*
 * Drops the sessions whose process is gone; returns how many. A process whose
 * state cannot be read (EMFILE...) is an error, never "gone" (INTERFACE.md §4).
 */
int sandbox_reclaim_stale(struct ledger *l, struct cgbpf_error *err);
/* 1 when a ledger session's process is still the one that opened it, 0 when gone, or -errno. */
int session_liveness(const struct ledger_session *ses);
/* The same for display: a process that cannot be read counts as live. */
bool session_is_live(const struct ledger_session *ses);
/*
 * A ledger from an earlier boot describes cgroups and pins that no longer
 * exist; a boot id that cannot be read is an error, never "another boot".
 */
int ledger_boot_check(const struct ledger *l, bool *this_boot, struct cgbpf_error *err);

/*
 * After the sessions changed: keeps the sandbox (writing the ledger when
 * @dirty), or removes it when no session and no process is left. @on_close:
 * on_logout=kill applies and what stays is logged; gc never kills.
 */
int sandbox_release(struct sandbox *sb, bool on_close, bool dirty, bool *removed,
		    struct cgbpf_error *err);

/* The hooks of a ledger, for the log: "egress:filter(3 rules) sock_create:program(x.o:f)". */
void sandbox_describe_hooks(const struct ledger *l, char *buf, size_t size);

/* What a reload did for one sandbox. */
enum reload_outcome {
	RELOAD_UNCHANGED,
	RELOAD_UPDATED,
	RELOAD_OTHER_FILE, /* @only_config given, and the sandbox was made from another file */
	RELOAD_RECLAIMED,  /* its cgroup was replaced: the stale sandbox was removed */
};

/*
 * Applies the sandbox's own policy file, as it is now, to the live sandbox of
 * @uid, gap-free. With @only_config, a sandbox made from another file is left
 * alone (*out RELOAD_OTHER_FILE).
 */
int sandbox_reload(const struct cgbpf_settings *s, uint32_t uid, const char *only_config,
		   enum reload_outcome *out, struct cgbpf_error *err);
/* Lists the uids that have a ledger in state_dir; *uids is malloc'd. */
int sandbox_list(const struct cgbpf_settings *s, uint32_t **uids, size_t *n);
/* Reads @uid's ledger under its lock (for status). -ENOENT when there is none. */
int sandbox_read(const struct cgbpf_settings *s, uint32_t uid, struct ledger *out,
		 struct cgbpf_error *err);

#endif
