/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What `cgbpfctl status` shows about one live sandbox: the ledger, the
 * processes in its cgroup, and for every attachment what the kernel says
 * about the pinned link and, for the built-in filter, its counters.
 * Collecting reads the kernel's state and changes nothing; printing is pure.
 */
#ifndef CGBPF_STATUS_H
#define CGBPF_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "args.h"
#include "error.h"
#include "filter_load.h"
#include "ledger.h"

/* One rule of a loaded built-in filter, as its "rules" map records it. */
struct status_rule {
	uint32_t line; /* policy line when the program was loaded */
	bool allow;
	uint64_t hits;
};

struct status_attach {
	const struct ledger_attach *att; /* points into status.l */
	char *pin;			 /* absolute path of the pinned link */
	char *error;			 /* why the link could not be read, or NULL */
	uint32_t link_id, prog_id;
	uint64_t link_cgroup_id; /* 0: the link is defunct */
	char prog_name[16];	 /* BPF_OBJ_NAME_LEN */
	/* ATT_FILTER only. */
	bool has_counters;
	char *counters_error;
	uint64_t pass_pkts, pass_bytes, drop_pkts, drop_bytes;
	struct status_rule *rules;
	size_t n_rules;
};

struct sandbox_status {
	struct ledger l;
	bool *live; /* per session in l.ses */
	size_t n_live;
	char *cgroup_dir; /* absolute */
	bool cgroup_exists;
	bool slice; /* placement=systemd: cgroup_dir is logind's user-<UID>.slice */
	pid_t *pids;
	size_t n_pids;
	struct status_attach *att; /* one per l.att, same order */
};

/* Reads @uid's ledger and what the kernel says about its sandbox. */
int sandbox_status_collect(const struct cgbpf_settings *s, uint32_t uid, struct sandbox_status *out,
			   struct cgbpf_error *err);
/* Accepts a zeroed value. */
void sandbox_status_clear(struct sandbox_status *st);

/* A sandbox nobody uses any more: `cgbpfctl gc` would remove it. */
bool sandbox_status_reclaimable(const struct sandbox_status *st);

/* The terminal form: one block per sandbox. Control characters are never printed raw. */
void status_print_text(FILE *f, const struct sandbox_status *st);

/* A sandbox that could not be read, for the JSON document's "errors". */
struct status_failure {
	uint32_t uid;
	const char *message;
};

/* The whole `status --json` document (keys documented in cgbpfctl(8)). */
void status_print_json(FILE *f, const struct sandbox_status *v, size_t n,
		       const struct status_failure *fail, size_t n_fail);

/*
 * Appends @s as a JSON string, quotes included: '"', '\\' and control
 * characters escaped, invalid UTF-8 replaced by U+FFFD so the document always
 * parses. NULL is written as null.
 */
void json_put_string(FILE *f, const char *s);

/*
 * The same escaping into a malloc'd, quoted, NUL-terminated string (for the
 * tests); NULL when out of memory.
 */
char *json_escape(const char *s);

/* Writes @s with control characters and invalid UTF-8 as "\xNN", so a hostile
 * string (a remote host name, a tty) cannot drive the terminal. */
void term_put_string(FILE *f, const char *s);

#endif
