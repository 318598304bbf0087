// SPDX-License-Identifier: GPL-2.0-or-later
/* placement=own: pam_cgbpf's own root-owned cgroup <cgroup_root>/user-<UID>. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "fault.h"
#include "layout.h"
#include "log.h"
#include "placement.h"

static int own_prepare(struct placement *p, bool *created, struct cgbpf_error *err)
{
	return cgroup_make(p->mount, p->cg_rel, created, err);
}

static int own_enter(struct placement *p, pid_t pid, const char *origin, bool *moved,
		     struct cgbpf_error *err)
{
	int r;

	*moved = false;
	if (placement_holds(p, origin))
		return 0; /* already inside (su from within a session) */
	if (fault_hit("move"))
		return cgbpf_error_set(err, EIO, "cannot move process: injected fault");
	r = cgroup_move(p->cg_dir, pid, err);
	*moved = r == 0;
	return r;
}

/* Back to the origin, or the nearest ancestor of it that still exists. */
static void own_leave(struct placement *p, pid_t pid, const char *origin)
{
	struct cgbpf_error err = { { 0 } };
	char dir[LAYOUT_PATH_MAX], *slash;
	size_t mlen = strlen(p->mount);

	if (layout_join(dir, p->mount, origin && origin[0] == '/' ? origin + 1 : "") < 0) {
		cgbpf_log(LOG_WARNING, "cannot move process %d back: origin path too long",
			  (int)pid);
		return;
	}
	for (;;) {
		/* A cgroup that is gone fails the move (ENOENT): then its parent. */
		if (cgroup_move(dir, pid, &err) == 0)
			return;
		slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < mlen)
			break;
		*slash = '\0';
	}
	cgbpf_log(LOG_WARNING, "cannot move process %d back out of %s: %s", (int)pid, p->cg_dir,
		  err.msg);
}

static int own_settle(struct placement *p, int timeout_ms)
{
	return cgroup_settle(p->cg_dir, timeout_ms);
}

static int own_kill_left(struct placement *p, int timeout_ms)
{
	return cgroup_kill_all(p->cg_dir, timeout_ms);
}

static int own_remove(struct placement *p)
{
	return cgroup_remove(p->cg_dir);
}

const struct placement_ops placement_own_ops = {
	.name = "own",
	.anchored = true,
	.removes_cgroup = true,
	.prepare = own_prepare,
	.enter = own_enter,
	.leave = own_leave,
	.settle = own_settle,
	.kill_left = own_kill_left,
	.remove = own_remove,
};
