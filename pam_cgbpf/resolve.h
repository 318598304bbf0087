/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which rules of a policy apply to one user, per hook (pam_cgbpf.conf(5),
 * RESOLUTION). Pure code: the caller looks the user up.
 */
#ifndef CGBPF_RESOLVE_H
#define CGBPF_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "policy.h"

struct user_info {
	const char *name;
	uint32_t uid;
	const char *const *groups; /* names of the primary and supplementary groups */
	size_t n_groups;
};

struct hook_plan {
	enum who_class decided_by;  /* CLASS_NONE: no line of any class names this hook */
	bool none;		    /* the deciding class says "none" */
	const struct rule **filter; /* allow/deny lines of the deciding class, file order */
	size_t n_filter;
	const struct rule **programs; /* program/pinned lines of the deciding class, file order */
	size_t n_programs;
};

/* Points into the policy it was resolved from, which must outlive it. */
struct resolved_policy {
	struct hook_plan hook[HOOK_COUNT];
};

/*
 * Fills @out. Errors that only show for this user (for example "none" mixed
 * with other lines of the deciding class through two groups) are reported as
 * "FILE:LINE: message" naming one of the lines involved, with -EINVAL.
 */
int policy_resolve(const struct policy *policy, const struct user_info *user,
		   struct resolved_policy *out, struct cgbpf_error *err);

/* Frees the arrays; accepts a zeroed or already cleared value. */
void resolved_policy_clear(struct resolved_policy *rp);

/* True when some hook has a filter rule or a program to attach. */
bool resolved_policy_sandboxes(const struct resolved_policy *rp);

#endif
