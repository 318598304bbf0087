/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Opening and closing sandboxed sessions (INTERFACE.md §4), and the
 * per-sandbox operations cgbpfctl shares with the module (gc, reload).
 * No PAM in here: the edge translates.
 */
#ifndef CGBPF_SESSION_H
#define CGBPF_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "args.h"
#include "error.h"
#include "ledger.h"

struct session_info {
	const char *user;
	pid_t pid; /* the process that opens or closes */
	const char *service, *tty, *rhost;
};

/* Identifies one session in the ledger. */
struct session_key {
	int32_t pid;
	uint64_t start_time;
	uint32_t uid; /* of the user whose sandbox it is */
};

/*
 * Sandboxes the session of si->user. *sandboxed is false (and nothing is
 * touched) when the policy gives the user no sandbox. On error everything this
 * call did is undone. On success *key names the new session.
 */
int session_open(const struct cgbpf_settings *s, const struct session_info *si, bool *sandboxed,
		 struct session_key *key, struct cgbpf_error *err);

/*
 * Closes the session named by @key (NULL: the one opened by this process),
 * reclaims stale ones and removes the sandbox when the last one is gone.
 * *had_sandbox tells whether the user had a ledger at all.
 */
int session_close(const struct cgbpf_settings *s, const struct session_info *si,
		  const struct session_key *key, bool *had_sandbox, struct cgbpf_error *err);

/* What gc did for one user. */
enum gc_outcome {
	GC_KEPT,    /* live sessions or processes remain */
	GC_REMOVED, /* sandbox removed */
};

/* Reclaims stale sessions of @uid and removes the sandbox if nothing is left. */
int sandbox_gc(const struct cgbpf_settings *s, uint32_t uid, enum gc_outcome *out, int *n_stale,
	       struct cgbpf_error *err);

/* Applies the current policy to the live sandbox of @uid, gap-free. */
int sandbox_reload(const struct cgbpf_settings *s, uint32_t uid, bool *changed,
		   struct cgbpf_error *err);

/* Lists the uids that have a ledger in state_dir; *uids is malloc'd. */
int sandbox_list(const struct cgbpf_settings *s, uint32_t **uids, size_t *n);

/* Reads @uid's ledger under its lock (for status). -ENOENT when there is none. */
int sandbox_read(const struct cgbpf_settings *s, uint32_t uid, struct ledger *out,
		 struct cgbpf_error *err);

/* Whether a ledger session's process is still the one that opened it. */
bool session_is_live(const struct ledger_session *ses);

/* Absolute paths of a sandbox. */
int sandbox_cgroup_dir(const struct cgbpf_settings *s, uint32_t uid, char *buf, size_t size,
		       struct cgbpf_error *err);
int sandbox_pin_path(const struct cgbpf_settings *s, uint32_t uid, const char *link, char *buf,
		     size_t size);
int sandbox_shared_dir(const struct cgbpf_settings *s, char *buf, size_t size);

#endif
