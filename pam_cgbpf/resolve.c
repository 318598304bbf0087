// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Which rules of a policy apply to one user (pam_cgbpf.conf(5),
 * RESOLUTION). Each hook is decided on its own, by the most specific class of
 * lines that names it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"

static enum who_class rule_class(const struct rule *r, const struct user_info *user)
{
	size_t i;

	switch (r->who) {
	case WHO_USER:
		if (user->name && !strcmp(r->who_name, user->name))
			return CLASS_USER;
		break;
	case WHO_GROUP:
		for (i = 0; i < user->n_groups; i++)
			if (user->groups[i] && !strcmp(r->who_name, user->groups[i]))
				return CLASS_GROUP;
		break;
	case WHO_UID_RANGE:
		if (r->uid_lo <= user->uid && user->uid <= r->uid_hi)
			return CLASS_UID_RANGE;
		break;
	case WHO_ANY:
		return CLASS_ANY;
	}
	return CLASS_NONE;
}

static bool applies(const struct rule *r, enum cgbpf_hook hook, enum who_class cls,
		    const struct user_info *user)
{
	return (r->hooks & HOOK_BIT(hook)) && rule_class(r, user) == cls;
}

static int resolve_hook(const struct policy *policy, const struct user_info *user,
			enum cgbpf_hook hook, struct hook_plan *plan, struct cgbpf_error *err)
{
	const struct rule *first_none = NULL, *first_other = NULL, *r;
	enum who_class best = CLASS_COUNT, cls;
	size_t i, n_filter = 0, n_programs = 0;

	for (i = 0; i < policy->n_rules; i++) {
		if (!(policy->rules[i].hooks & HOOK_BIT(hook)))
			continue;
		cls = rule_class(&policy->rules[i], user);
		if (cls != CLASS_NONE && cls < best)
			best = cls;
	}
	if (best == CLASS_COUNT)
		return 0;
	plan->decided_by = best;

	for (i = 0; i < policy->n_rules; i++) {
		r = &policy->rules[i];
		if (!applies(r, hook, best, user))
			continue;
		if (r->action == ACT_NONE) {
			first_none = first_none ? first_none : r;
		} else {
			first_other = first_other ? first_other : r;
			if (r->action == ACT_PROGRAM || r->action == ACT_PINNED)
				n_programs++;
			else if (++n_filter > POLICY_MAX_RULES_PER_HOOK)
				return cgbpf_error_at(err, E2BIG, policy->file, r->line,
						      "more than %d allow/deny rules for hook %s",
						      POLICY_MAX_RULES_PER_HOOK, hook_name(hook));
		}
		/* Only reachable through several groups or ranges: the parser catches one token. */
		if (first_none && first_other)
			return cgbpf_error_at(err, EINVAL, policy->file, r->line,
					      "none mixed with other rules for hook %s (line %u)",
					      hook_name(hook),
					      r == first_none ? first_other->line
							      : first_none->line);
	}
	plan->none = first_none != NULL;

	if (n_filter) {
		plan->filter = calloc(n_filter, sizeof(*plan->filter));
		if (!plan->filter)
			return cgbpf_oom(err);
	}
	if (n_programs) {
		plan->programs = calloc(n_programs, sizeof(*plan->programs));
		if (!plan->programs)
			return cgbpf_oom(err);
	}
	for (i = 0; i < policy->n_rules; i++) {
		r = &policy->rules[i];
		if (!applies(r, hook, best, user) || r->action == ACT_NONE)
			continue;
		if (r->action == ACT_PROGRAM || r->action == ACT_PINNED)
			plan->programs[plan->n_programs++] = r;
		else
			plan->filter[plan->n_filter++] = r;
	}
	return 0;
}

int policy_resolve(const struct policy *policy, const struct user_info *user,
		   struct resolved_policy *out, struct cgbpf_error *err)
{
	int h, ret = 0;

	memset(out, 0, sizeof(*out));
	for (h = 0; h < HOOK_COUNT; h++)
		out->hook[h].decided_by = CLASS_NONE;
	for (h = 0; h < HOOK_COUNT && ret == 0; h++)
		ret = resolve_hook(policy, user, (enum cgbpf_hook)h, &out->hook[h], err);
	if (ret < 0)
		resolved_policy_clear(out);
	return ret;
}

void resolved_policy_clear(struct resolved_policy *rp)
{
	int h;

	for (h = 0; h < HOOK_COUNT; h++) {
		free(rp->hook[h].filter);
		free(rp->hook[h].programs);
		memset(&rp->hook[h], 0, sizeof(rp->hook[h]));
		rp->hook[h].decided_by = CLASS_NONE;
	}
}

bool resolved_policy_sandboxes(const struct resolved_policy *rp)
{
	int h;

	for (h = 0; h < HOOK_COUNT; h++)
		if (!rp->hook[h].none && (rp->hook[h].n_filter || rp->hook[h].n_programs))
			return true;
	return false;
}
