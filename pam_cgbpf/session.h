/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Opening and closing sandboxed sessions (pam_cgbpf(8)). No PAM in here:
 * the edge (pam_edge.c) translates.
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

#endif
