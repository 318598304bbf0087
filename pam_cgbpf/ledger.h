/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session ledger: one file per sandboxed user under state_dir, recording
 * the sandbox (cgroup, attachments) and every session sharing it.
 *
 * The encoding is pure code (ledger_encode/ledger_decode); the file I/O and
 * locking are in ledger_file.c.
 */
#ifndef CGBPF_LEDGER_H
#define CGBPF_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "error.h"
#include "policy.h"

enum attach_kind {
	ATT_FILTER,  /* the built-in filter; ident = filter image id */
	ATT_PROGRAM, /* program PATH[:NAME]; ident = sha256 of the object + ":" + program name */
	ATT_PINNED,  /* pinned PATH; ident = PATH */
};

const char *attach_kind_name(enum attach_kind kind);

struct ledger_attach {
	enum cgbpf_hook hook;
	enum attach_kind kind;
	char *ident;
	char *link;  /* name of the pinned link in the user's pin directory (layout.h) */
	char *what;  /* for people: "3 rules", a path, "prog:name" */
	char *lines; /* ATT_FILTER: the policy line of each rule, "2,3,7"; else NULL */
};

struct ledger_session {
	int32_t pid;
	uint64_t start_time; /* of pid, in clock ticks since boot */
	int64_t opened;	     /* wall clock, seconds */
	char *origin;	     /* cgroup the process came from, relative to the mount */
	char *service, *tty, *rhost;
};

struct ledger {
	uint32_t uid;
	char *user;
	char *boot_id;
	char *cgroup; /* relative to the cgroup v2 mount */
	uint64_t cgroup_id;
	enum placement_kind placement; /* OWN or SYSTEMD once decoded */
	/* The settings that made the sandbox; NULL in a ledger older than this record. */
	char *config, *cgroup_root, *bpffs;
	uint32_t next_link; /* serial for link pin names */
	struct ledger_attach *att;
	size_t n_att;
	struct ledger_session *ses;
	size_t n_ses;
};

/* Text, one record a line; fields are %-escaped so any string survives. */
int ledger_encode(const struct ledger *l, char **buf, size_t *len);

/* Accepts only what ledger_encode writes; errors name the line. */
int ledger_decode(const char *buf, size_t len, struct ledger *out, struct cgbpf_error *err);

/* Frees everything and zeroes; accepts a zeroed ledger. */
void ledger_clear(struct ledger *l);

int ledger_add_session(struct ledger *l, const struct ledger_session *s);
void ledger_remove_session(struct ledger *l, size_t idx);
int ledger_add_attach(struct ledger *l, const struct ledger_attach *a);
void ledger_remove_attach(struct ledger *l, size_t idx);

/*
 * One sandbox, one set of settings: -EBUSY, naming the live sandbox's settings
 * and @s's where they differ, when @l was made with another placement, policy
 * file, cgroup_root or bpffs than a session with @s and @kind would use.
 */
int ledger_check_settings(const struct ledger *l, const struct cgbpf_settings *s,
			  enum placement_kind kind, struct cgbpf_error *err);

/* Index of the session of (pid, start), or -1. */
long ledger_find_session(const struct ledger *l, int32_t pid, uint64_t start_time);

#endif
