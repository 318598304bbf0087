// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "layout.h"
#include "placement.h"
#include "placement_choice.h"
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

static int placement_own(struct placement *p, const struct cgbpf_settings *s, uint32_t uid,
			 struct cgbpf_error *err)
{
	char rel[LAYOUT_PATH_MAX];

	if (layout_user_cgroup(rel, s, uid) < 0)
		return cgbpf_error_set(err, ENAMETOOLONG, "cgroup_root=%s: path too long",
				       s->cgroup_root);
	return placement_init(p, &placement_own_ops, PLACEMENT_OWN, uid, rel, err);
}

/* sd_booted(): systemd creates this directory early at boot, and nothing else does. */
static bool systemd_runs(void)
{
	struct stat st;

	return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

int placement_for_session(struct placement *p, const struct cgbpf_settings *s, uint32_t uid,
			  const char *cg, struct cgbpf_error *err)
{
	char who[32];
	struct logind_where w;
	enum placement_kind kind;
	int r;

	if (s->placement == PLACEMENT_OWN)
		return placement_own(p, s, uid, err);
	logind_classify(cg, uid, &w);
	snprintf(who, sizeof(who), "uid %" PRIu32, uid);
	r = placement_choose(s->placement, systemd_runs(), &w, who, cg, &kind, err);
	if (r < 0)
		return r;
	if (kind == PLACEMENT_OWN)
		return placement_own(p, s, uid, err);
	return placement_init(p, &placement_systemd_ops, PLACEMENT_SYSTEMD, uid, w.slice_rel, err);
}

int placement_from_ledger(struct placement *p, const struct cgbpf_settings *s,
			  const struct ledger *l, struct cgbpf_error *err)
{
	(void)s; /* the cgroup is the one the sandbox was made in, whatever the settings now */
	if (l->placement == PLACEMENT_SYSTEMD)
		return placement_init(p, &placement_systemd_ops, PLACEMENT_SYSTEMD, l->uid,
				      l->cgroup, err);
	return placement_init(p, &placement_own_ops, PLACEMENT_OWN, l->uid, l->cgroup, err);
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
