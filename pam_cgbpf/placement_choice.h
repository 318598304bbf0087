/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rules of INTERFACE.md §4a as pure code: where a caller sits under
 * logind (from /proc/PID/cgroup), and which placement a new session gets.
 * No file system, no PAM, no libbpf: unit-tested in tests/unit.
 */
#ifndef CGBPF_PLACEMENT_CHOICE_H
#define CGBPF_PLACEMENT_CHOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "error.h"

/* Where a process sits, as far as logind is concerned. */
enum logind_seat {
	LOGIND_NO_SCOPE,    /* not in a logind session scope */
	LOGIND_USER_SCOPE,  /* in a session-<ID>.scope of the PAM user's user-<UID>.slice */
	LOGIND_OTHER_SCOPE, /* in a session scope of another user (su from bob's session) */
};

struct logind_where {
	enum logind_seat seat;
	uint32_t scope_uid;  /* owner of the scope's slice (USER and OTHER) */
	char session[64];    /* the session id, "74" in session-74.scope */
	char slice_rel[512]; /* the scope's user-<UID>.slice relative to the mount, no '/' */
};

/*
 * The cgroup v2 path ("0::PATH") in the text of /proc/PID/cgroup, which on a
 * hybrid host also lists the v1 hierarchies. -ENOENT when there is none.
 */
int proc_cgroup_v2_path(const char *text, size_t len, char *buf, size_t size);

/*
 * Classifies a cgroup v2 path as /proc shows it ("/user.slice/user-1000.slice/
 * session-3.scope") for the PAM user @uid. Only a process directly in a
 * session scope counts: user@<UID>.service and anything below a scope do not.
 */
void logind_classify(const char *cg, uint32_t uid, struct logind_where *w);

/* The name of @uid's slice directory, "user-<UID>.slice". */
int logind_slice_name(uint32_t uid, char *buf, size_t size);

/* Whether @name is a session scope directory, "session-<ID>.scope". */
bool logind_is_session_scope(const char *name);

/*
 * The placement of a new session (OWN or SYSTEMD in *out) from placement=,
 * whether systemd runs the host (/run/systemd/system), and where the caller
 * sits. A session that can be neither is refused; the message names the
 * user, the caller's cgroup @cg and says to put pam_cgbpf after pam_systemd.
 */
int placement_choose(enum placement_kind setting, bool systemd_running,
		     const struct logind_where *w, const char *user, const char *cg,
		     enum placement_kind *out, struct cgbpf_error *err);

/* "own", "systemd", "auto". */
const char *placement_kind_name(enum placement_kind kind);

#endif
