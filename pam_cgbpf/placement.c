// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "layout.h"
#include "placement.h"
#include "util.h"

int placement_init(struct placement *p, const struct placement_ops *ops, enum placement_kind kind,
		   uint32_t uid, const char *cg_rel, struct cgbpf_error *err)
{
	char mount[LAYOUT_PATH_MAX], dir[LAYOUT_PATH_MAX];
	int r;

	*p = (struct placement){ .ops = ops, .kind = kind, .uid = uid };
	r = cgroup2_mount_point(mount, sizeof(mount), err);
	if (r < 0)
		return r;
	if (layout_join(dir, mount, cg_rel) < 0)
		return cgbpf_error_set(err, ENAMETOOLONG, "cgroup path %s/%s is too long", mount,
				       cg_rel);
	p->mount = strdup(mount);
	p->cg_rel = strdup(cg_rel);
	p->cg_dir = strdup(dir);
	if (!p->mount || !p->cg_rel || !p->cg_dir) {
		placement_clear(p);
		return cgbpf_oom(err);
	}
	return 0;
}

static int refuse_systemd(struct cgbpf_error *err)
{
	return cgbpf_error_set(err, EOPNOTSUPP, "placement=systemd is not supported yet");
}

static int placement_own(struct placement *p, const struct cgbpf_settings *s, uint32_t uid,
			 struct cgbpf_error *err)
{
	char rel[LAYOUT_PATH_MAX];

	if (layout_user_cgroup(rel, s, uid) < 0)
		return cgbpf_error_set(err, ENAMETOOLONG, "cgroup_root=%s: path too long",
				       s->cgroup_root);
	return placement_init(p, &placement_own_ops, PLACEMENT_OWN, uid, rel, err);
}

int placement_for_session(struct placement *p, const struct cgbpf_settings *s, uint32_t uid,
			  pid_t pid, struct cgbpf_error *err)
{
	(void)pid; /* auto: own, until a systemd placement exists */
	if (s->placement == PLACEMENT_SYSTEMD)
		return refuse_systemd(err);
	return placement_own(p, s, uid, err);
}

int placement_from_ledger(struct placement *p, const struct cgbpf_settings *s,
			  const struct ledger *l, struct cgbpf_error *err)
{
	if (l->placement == PLACEMENT_SYSTEMD)
		return refuse_systemd(err);
	return placement_own(p, s, l->uid, err);
}

void placement_clear(struct placement *p)
{
	free(p->mount);
	free(p->cg_rel);
	free(p->cg_dir);
	*p = (struct placement){ 0 };
}

bool placement_holds(const struct placement *p, const char *cg)
{
	return cg[0] == '/' && !strcmp(cg + 1, p->cg_rel);
}
