// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement_choice.h"

int proc_cgroup_v2_path(const char *text, size_t len, char *buf, size_t size)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		/* "0::" is the unified hierarchy; v1 lines have a controller name in between. */
		if (n >= 3 && !memcmp(p, "0::", 3)) {
			if (n - 3 >= size)
				return -ENAMETOOLONG;
			memcpy(buf, p + 3, n - 3);
			buf[n - 3] = '\0';
			return 0;
		}
		p += n + 1;
	}
	return -ENOENT;
}

/* A decimal uid without sign, leading zeros or overflow: "user-0001.slice" is not logind's. */
static bool parse_uid(const char *s, size_t n, uint32_t *uid)
{
	uint64_t v = 0;

	if (n == 0 || n > 10 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*uid = (uint32_t)v;
	return true;
}

/* Whether [s, s+n) is PREFIX<middle>SUFFIX; sets the middle. */
static bool split_name(const char *s, size_t n, const char *prefix, const char *suffix,
		       const char **mid, size_t *mid_len)
{
	size_t lp = strlen(prefix), ls = strlen(suffix);

	if (n <= lp + ls || strncmp(s, prefix, lp) || strncmp(s + n - ls, suffix, ls))
		return false;
	*mid = s + lp;
	*mid_len = n - lp - ls;
	return true;
}

/* logind's session ids are audit session ids ("74") or "c1", "c2"...: alphanumeric. */
static bool session_id_ok(const char *s, size_t n)
{
	if (n == 0 || n >= sizeof(((struct logind_where *)0)->session))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

bool logind_is_session_scope(const char *name)
{
	const char *mid;
	size_t n;

	return split_name(name, strlen(name), "session-", ".scope", &mid, &n) &&
	       session_id_ok(mid, n);
}

void logind_classify(const char *cg, uint32_t uid, struct logind_where *w)
{
	const char *scope, *slice, *parent, *mid;
	size_t n_scope, n_slice, n_parent, n;
	uint32_t owner;

	*w = (struct logind_where){ .seat = LOGIND_NO_SCOPE };
	/* The last three components must be user.slice/user-<UID>.slice/session-<ID>.scope. */
	if (cg[0] != '/')
		return;
	scope = strrchr(cg, '/');
	n_scope = strlen(scope + 1);
	if (scope == cg)
		return;
	slice = scope - 1;
	while (slice > cg && *slice != '/')
		slice--;
	n_slice = (size_t)(scope - slice - 1);
	if (slice == cg)
		return;
	parent = slice - 1;
	while (parent > cg && *parent != '/')
		parent--;
	n_parent = (size_t)(slice - parent - 1);
	if (n_parent != strlen("user.slice") || strncmp(parent + 1, "user.slice", n_parent))
		return;
	if (!split_name(scope + 1, n_scope, "session-", ".scope", &mid, &n) ||
	    !session_id_ok(mid, n))
		return;
	memcpy(w->session, mid, n);
	w->session[n] = '\0';
	if (!split_name(slice + 1, n_slice, "user-", ".slice", &mid, &n) ||
	    !parse_uid(mid, n, &owner) || (size_t)(scope - cg - 1) >= sizeof(w->slice_rel)) {
		w->session[0] = '\0';
		return;
	}
	memcpy(w->slice_rel, cg + 1, (size_t)(scope - cg - 1));
	w->slice_rel[scope - cg - 1] = '\0';
	w->scope_uid = owner;
	w->seat = owner == uid ? LOGIND_USER_SCOPE : LOGIND_OTHER_SCOPE;
}

int logind_slice_name(uint32_t uid, char *buf, size_t size)
{
	if ((size_t)snprintf(buf, size, "user-%" PRIu32 ".slice", uid) >= size)
		return -ENAMETOOLONG;
	return 0;
}

const char *placement_kind_name(enum placement_kind kind)
{
	switch (kind) {
	case PLACEMENT_OWN:
		return "own";
	case PLACEMENT_SYSTEMD:
		return "systemd";
	case PLACEMENT_AUTO:
		break;
	}
	return "auto";
}

#define AFTER_PAM_SYSTEMD                                                                          \
	"put pam_cgbpf after pam_systemd (after @include common-session), or set placement=own"

int placement_choose(enum placement_kind setting, bool systemd_running,
		     const struct logind_where *w, const char *user, const char *cg,
		     enum placement_kind *out, struct cgbpf_error *err)
{
	switch (setting) {
	case PLACEMENT_OWN:
		*out = PLACEMENT_OWN;
		return 0;
	case PLACEMENT_SYSTEMD:
		if (w->seat == LOGIND_USER_SCOPE) {
			*out = PLACEMENT_SYSTEMD;
			return 0;
		}
		return cgbpf_error_set(err, EPERM,
				       "placement=systemd: the session of %s is not in a logind "
				       "session scope of its own (cgroup %s%s): " AFTER_PAM_SYSTEMD,
				       user, cg,
				       systemd_running ? "" : ", and systemd is not running");
	case PLACEMENT_AUTO:
		break;
	}
	if (!systemd_running) {
		*out = PLACEMENT_OWN;
		return 0;
	}
	switch (w->seat) {
	case LOGIND_USER_SCOPE:
		*out = PLACEMENT_SYSTEMD;
		return 0;
	case LOGIND_OTHER_SCOPE:
		/* su from another user's session: logind makes no new session, only this tree
		 * moves. */
		*out = PLACEMENT_OWN;
		return 0;
	case LOGIND_NO_SCOPE:
		break;
	}
	return cgbpf_error_set(
		err, EPERM,
		"placement=auto: systemd runs this host but the session of %s is not "
		"in a logind session scope (cgroup %s): " AFTER_PAM_SYSTEMD,
		user, cg);
}
