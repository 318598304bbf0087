// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdbool.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "userdb.h"
#include "util.h"

#define MAX_GROUPS 65536

static int fill_groups(struct user_record *u, gid_t gid)
{
	_cleanup_free_ gid_t *gids = NULL;
	int n = 64;

	for (;;) {
		int want = n;
		gid_t *g = realloc(gids, (size_t)n * sizeof(*g));

		if (!g)
			return -ENOMEM;
		gids = g;
		if (getgrouplist(u->name, gid, gids, &want) >= 0) {
			n = want;
			break;
		}
		if (want <= n || want > MAX_GROUPS)
			return -E2BIG;
		n = want;
	}
	u->groups = calloc((size_t)n, sizeof(*u->groups));
	if (!u->groups)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct group gr, *res = NULL;
		char buf[16384];

		/* A gid without a name cannot be named by a policy, so it is not needed. */
		if (getgrgid_r(gids[i], &gr, buf, sizeof(buf), &res) != 0 || !res)
			continue;
		u->groups[u->n_groups] = strdup(gr.gr_name);
		if (!u->groups[u->n_groups])
			return -ENOMEM;
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
		return -ENOMEM;
	u.uid = pw->pw_uid;
	u.gid = pw->pw_gid;
	if (groups)
		r = fill_groups(&u, pw->pw_gid);
	if (r < 0) {
		user_record_clear(&u);
		return cgbpf_error_set(err, r, "cannot list the groups of user %s", pw->pw_name);
	}
	*out = u;
	return 0;
}

static int lookup_name(const char *name, bool groups, struct user_record *out,
		       struct cgbpf_error *err)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int r;

	r = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (r != 0)
		return cgbpf_error_set(err, r, "cannot look up user %s: %s", name, strerror(r));
	if (!res)
		return cgbpf_error_set(err, ENOENT, "no such user: %s", name);
	return from_passwd(res, groups, out, err);
}

int user_lookup(const char *name, struct user_record *out, struct cgbpf_error *err)
{
	return lookup_name(name, true, out, err);
}

int user_lookup_no_groups(const char *name, struct user_record *out, struct cgbpf_error *err)
{
	return lookup_name(name, false, out, err);
}

int user_lookup_uid(uint32_t uid, struct user_record *out, struct cgbpf_error *err)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int r;

	r = getpwuid_r(uid, &pw, buf, sizeof(buf), &res);
	if (r != 0)
		return cgbpf_error_set(err, r, "cannot look up uid %u: %s", uid, strerror(r));
	if (!res)
		return cgbpf_error_set(err, ENOENT, "no user with uid %u", uid);
	return from_passwd(res, true, out, err);
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
