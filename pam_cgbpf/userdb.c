// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NSS lookups never fail open (INTERFACE.md §4): a buffer too small is grown,
 * and any other error refuses, since a group that cannot be read might be the
 * very one a policy's @group line names.
 */
#include <errno.h>
#include <stdbool.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "userdb.h"
#include "util.h"

#define MAX_GROUPS 65536
/* One /etc/group line with thousands of members needs far more than 16 KiB. */
#define LOOKUP_BUF_START 16384
#define LOOKUP_BUF_MAX	 (64u << 20)

/*
 * Grows *buf for the next try of a getXXX_r lookup: to LOOKUP_BUF_START at
 * first, then twice the size. Returns 0, ENOMEM, or ERANGE past the limit.
 */
static int lookup_buf_grow(char **buf, size_t *size)
{
	size_t want = *size ? *size * 2 : LOOKUP_BUF_START;
	char *nb;

	if (want > LOOKUP_BUF_MAX)
		return ERANGE;
	nb = realloc(*buf, want);
	if (!nb)
		return ENOMEM;
	*buf = nb;
	*size = want;
	return 0;
}

static int group_name(gid_t gid, char **name, struct cgbpf_error *err)
{
	_cleanup_free_ char *buf = NULL;
	struct group gr, *res = NULL;
	size_t size = 0;
	int r;

	*name = NULL;
	do {
		r = lookup_buf_grow(&buf, &size);
		if (r == 0)
			r = getgrgid_r(gid, &gr, buf, size, &res);
	} while (r == ERANGE && size < LOOKUP_BUF_MAX);
	if (r != 0)
		return cgbpf_error_set(err, r, "cannot look up group %u: %s", (unsigned int)gid,
				       errno_text(r));
	/* A gid without a name cannot be named by a policy, so it is not needed. */
	if (!res)
		return 0;
	*name = strdup(gr.gr_name);
	return *name ? 0 : cgbpf_error_set(err, ENOMEM, "out of memory");
}

static int fill_groups(struct user_record *u, gid_t gid, struct cgbpf_error *err)
{
	_cleanup_free_ gid_t *gids = NULL;
	int n = 64, r;

	for (;;) {
		int want = n;
		gid_t *g = realloc(gids, (size_t)n * sizeof(*g));

		if (!g)
			return cgbpf_error_set(err, ENOMEM, "out of memory");
		gids = g;
		if (getgrouplist(u->name, gid, gids, &want) >= 0) {
			n = want;
			break;
		}
		if (want <= n || want > MAX_GROUPS)
			return cgbpf_error_set(err, E2BIG, "user %s is in too many groups",
					       u->name);
		n = want;
	}
	u->groups = calloc((size_t)n, sizeof(*u->groups));
	if (!u->groups)
		return cgbpf_error_set(err, ENOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		r = group_name(gids[i], &u->groups[u->n_groups], err);
		if (r < 0)
			return r;
		if (u->groups[u->n_groups])
			u->n_groups++;
	}
	return 0;
}

static int from_passwd(const struct passwd *pw, bool groups, struct user_record *out,
		       struct cgbpf_error *err)
{
	struct user_record u = { 0 };
	int r = 0;

	u.name = strdup(pw->pw_name);
	if (!u.name)
		return cgbpf_error_set(err, ENOMEM, "out of memory");
	u.uid = pw->pw_uid;
	u.gid = pw->pw_gid;
	if (groups)
		r = fill_groups(&u, pw->pw_gid, err);
	if (r < 0) {
		char msg[CGBPF_ERROR_MAX];

		user_record_clear(&u);
		snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
		if (err)
			err->msg[0] = '\0';
		return cgbpf_error_set(err, r, "cannot list the groups of user %s: %s", pw->pw_name,
				       msg);
	}
	*out = u;
	return 0;
}

/* The passwd entry of @name, or of @uid when @name is NULL, buffers grown on ERANGE. */
static int lookup_passwd(const char *name, uint32_t uid, bool groups, struct user_record *out,
			 struct cgbpf_error *err)
{
	_cleanup_free_ char *buf = NULL;
	struct passwd pw, *res = NULL;
	size_t size = 0;
	int r;

	do {
		r = lookup_buf_grow(&buf, &size);
		if (r == 0)
			r = name ? getpwnam_r(name, &pw, buf, size, &res)
				 : getpwuid_r(uid, &pw, buf, size, &res);
	} while (r == ERANGE && size < LOOKUP_BUF_MAX);
	if (r != 0 && name)
		return cgbpf_error_set(err, r, "cannot look up user %s: %s", name, errno_text(r));
	if (r != 0)
		return cgbpf_error_set(err, r, "cannot look up uid %u: %s", uid, errno_text(r));
	if (!res && name)
		return cgbpf_error_set(err, ENOENT, "no such user: %s", name);
	if (!res)
		return cgbpf_error_set(err, ENOENT, "no user with uid %u", uid);
	return from_passwd(res, groups, out, err);
}

int user_lookup(const char *name, struct user_record *out, struct cgbpf_error *err)
{
	return lookup_passwd(name, 0, true, out, err);
}

int user_lookup_no_groups(const char *name, struct user_record *out, struct cgbpf_error *err)
{
	return lookup_passwd(name, 0, false, out, err);
}

int user_lookup_uid(uint32_t uid, struct user_record *out, struct cgbpf_error *err)
{
	return lookup_passwd(NULL, uid, true, out, err);
}

void user_record_clear(struct user_record *u)
{
	for (size_t i = 0; i < u->n_groups; i++)
		free(u->groups[i]);
	free(u->groups);
	free(u->name);
	*u = (struct user_record){ 0 };
}

struct user_info user_record_info(const struct user_record *u)
{
	return (struct user_info){
		.name = u->name,
		.uid = u->uid,
		.groups = (const char *const *)u->groups,
		.n_groups = u->n_groups,
	};
}
