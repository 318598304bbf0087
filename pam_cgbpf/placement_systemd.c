// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * placement=systemd: logind's user-<UID>.slice. Nothing is created, moved or
 * removed in the cgroup tree: the session stays in its session-<ID>.scope and
 * the links on the slice cover every scope and user@<UID>.service. What keeps
 * the sandbox alive after the last close is what is left in the session scopes.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "layout.h"
#include "placement.h"
#include "placement_choice.h"

static int systemd_prepare(struct placement *p, bool *created, struct cgbpf_error *err)
{
	struct stat st;

	*created = false;
	if (stat(p->cg_dir, &st) < 0)
		return cgbpf_error_set(err, errno, "logind's slice %s: %m", p->cg_dir);
	if (!S_ISDIR(st.st_mode))
		return cgbpf_error_set(err, ENOTDIR, "logind's slice %s is not a directory",
				       p->cg_dir);
	return 0;
}

static int systemd_enter(struct placement *p, pid_t pid, const char *origin, bool *moved,
			 struct cgbpf_error *err)
{
	(void)p, (void)pid, (void)origin, (void)err;
	*moved = false; /* the session stays in its scope, which is under the slice */
	return 0;
}

static void systemd_leave(struct placement *p, pid_t pid, const char *origin)
{
	(void)p, (void)pid, (void)origin;
}

/*
 * Visits every process in the slice's session scopes except this one (the PAM
 * caller closing its session sits in its scope until it exits). @visit returns
 * nonzero to count the process. Returns the count, or a negative errno.
 */
static int for_each_scope_pid(const struct placement *p, bool (*visit)(pid_t pid))
{
	DIR *d = opendir(p->cg_dir);
	struct dirent *e;
	pid_t self = getpid();
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		char scope[LAYOUT_PATH_MAX], path[LAYOUT_PATH_MAX];
		FILE *f;
		int pid;

		if (e->d_type != DT_DIR || !logind_is_session_scope(e->d_name) ||
		    layout_join(scope, p->cg_dir, e->d_name) < 0 ||
		    layout_join(path, scope, "cgroup.procs") < 0)
			continue;
		f = fopen(path, "re");
		if (!f) {
			if (errno == ENOENT)
				continue; /* a scope that systemd removed while we looked */
			n = -errno;
			break;
		}
		while (fscanf(f, "%d", &pid) == 1)
			if (pid != self && visit(pid))
				n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

static bool is_present(pid_t pid)
{
	(void)pid;
	return true;
}

static bool is_staying(pid_t pid)
{
	return !proc_exiting(pid);
}

static bool kill_it(pid_t pid)
{
	kill(pid, SIGKILL);
	return true;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int systemd_settle(struct placement *p, int timeout_ms)
{
	for (int waited = 0;; waited += 5) {
		int live = for_each_scope_pid(p, is_staying), total;

		if (live != 0)
			return live == -ENOENT ? 0 : live; /* a slice that is gone holds nobody */
		total = for_each_scope_pid(p, is_present);
		if (total <= 0 || waited >= timeout_ms)
			return total == -ENOENT ? 0 : total;
		sleep_ms(5);
	}
}

static int systemd_kill_left(struct placement *p, int timeout_ms)
{
	/* Not cgroup.kill: the scope of the closing session holds this very process. */
	for (int waited = 0;; waited += 10) {
		int n = for_each_scope_pid(p, is_present);

		if (n <= 0)
			return n == -ENOENT ? 0 : n;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		for_each_scope_pid(p, kill_it);
		sleep_ms(10);
	}
}

static int systemd_remove(struct placement *p)
{
	(void)p; /* the slice is logind's */
	return 0;
}

const struct placement_ops placement_systemd_ops = {
	.name = "systemd",
	.anchored = false,
	.removes_cgroup = false,
	.prepare = systemd_prepare,
	.enter = systemd_enter,
	.leave = systemd_leave,
	.settle = systemd_settle,
	.kill_left = systemd_kill_left,
	.remove = systemd_remove,
};
