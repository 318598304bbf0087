/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Looking a user and their groups up through NSS, for policy resolution. */
#ifndef CGBPF_USERDB_H
#define CGBPF_USERDB_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "resolve.h"

struct user_record {
	char *name;
	uint32_t uid;
	uint32_t gid;
	char **groups; /* names of primary and supplementary groups that have one */
	size_t n_groups;
};

/* -ENOENT (with a message) when there is no such user. */
int user_lookup(const char *name, struct user_record *out, struct cgbpf_error *err);

/*
 * The same without the groups (n_groups is 0): an NSS group enumeration costs
 * more than the rest of a lookup, and a policy without @group lines never
 * needs it.
 */
int user_lookup_no_groups(const char *name, struct user_record *out, struct cgbpf_error *err);
int user_lookup_uid(uint32_t uid, struct user_record *out, struct cgbpf_error *err);
void user_record_clear(struct user_record *u);

/* A user_info view of @u for policy_resolve. */
struct user_info user_record_info(const struct user_record *u);

#endif
