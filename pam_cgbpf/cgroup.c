// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "cgroup.h"
#include "fault.h"
#include "layout.h"
#include "placement_choice.h"
#include "util.h"

static bool is_cgroup2(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static int mount_point_put(char *buf, size_t size, const char *mnt, struct cgbpf_error *err)
{
	if (snprintf(buf, size, "%s", mnt) >= (int)size)
		return cgbpf_error_set(err, ENAMETOOLONG, "cgroup2 mount point too long");
	return 0;
}

int cgroup2_mount_point(char *buf, size_t size, struct cgbpf_error *err)
{
	/* The usual places first: a statfs is far cheaper than reading mountinfo. */
	static const char *const usual[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	/*
	 * Which of them was cgroup2 last in this process (1 + index; 0: none yet):
	 * an open and its close, or sshd's next login, look there first, one statfs
	 * that proves it still is. Lock-free, so a child forked by a threaded
	 * application never waits for a lock another thread held.
	 */
	static int last;
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	int seen = __atomic_load_n(&last, __ATOMIC_RELAXED);
	size_t cap = 0;

	if (seen > 0 && seen <= 2 && is_cgroup2(usual[seen - 1]))
		return mount_point_put(buf, size, usual[seen - 1], err);
	for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]); i++)
		if (is_cgroup2(usual[i])) {
			__atomic_store_n(&last, (int)i + 1, __ATOMIC_RELAXED);
			return mount_point_put(buf, size, usual[i], err);
		}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return cgbpf_error_set(err, errno, "cannot read /proc/self/mountinfo: %m");
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char mnt[4096], *sep = strstr(line, " - ");

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		/* mountinfo escapes spaces as \040; a cgroup mount point with one is not supported.
		 */
		if (strchr(mnt, '\\'))
			continue;
		return mount_point_put(buf, size, mnt, err);
	}
	return cgbpf_error_set(err, ENOENT, "no cgroup v2 file system is mounted");
}

/* A cgroup directory that was there: root's 0755, or the user could move processes out. */
static int cgroup_dir_check(const char *path, const struct stat *st, struct cgbpf_error *err)
{
	if (!S_ISDIR(st->st_mode))
		return cgbpf_error_set(err, ENOTDIR, "cgroup %s is not a directory", path);
	if (st->st_uid != 0 || (st->st_mode & 022))
		return cgbpf_error_set(err, EPERM,
				       "cgroup %s is not root-owned 0755 (uid %u, mode %04o)", path,
				       st->st_uid, st->st_mode & 07777);
	return 0;
}

int cgroup_make(const char *mount, const char *rel, bool *created, struct cgbpf_error *err)
{
	char path[LAYOUT_PATH_MAX];
	struct stat st;
	int r;

	*created = false;
	if (layout_join(path, mount, rel) < 0)
		return cgbpf_error_set(err, ENAMETOOLONG, "cgroup path too long");
	for (char *p = path + strlen(mount) + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		/* A parent (cgroup_root) is there but on the first login: looked at first. */
		if (!last && lstat(path, &st) == 0) {
			r = cgroup_dir_check(path, &st, err);
		} else if (mkdir(path, 0755) == 0) {
			*created = last;
			r = 0;
		} else if (errno != EEXIST) {
			r = cgbpf_error_set(err, errno, "cannot create cgroup %s: %m", path);
		} else if (lstat(path, &st) < 0) {
			r = cgbpf_error_set(err, ENOTDIR, "cgroup %s is not a directory", path);
		} else {
			r = cgroup_dir_check(path, &st, err);
		}
		if (r < 0 || last)
			return r;
		*p = '/';
	}
}

static int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n, len = (ssize_t)strlen(data);
	int r = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, data, (size_t)len);
	if (n < 0)
		r = -errno;
	else if (n != len)
		r = -EIO;
	close(fd);
	return r;
}

int cgroup_move(const char *dir, pid_t pid, struct cgbpf_error *err)
{
	char path[4200], num[32];
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(num, sizeof(num), "%d", (int)pid);
	r = write_file(path, num);
	if (r < 0)
		return cgbpf_error_set(err, r, "cannot move process %d into %s: %s", (int)pid, dir,
				       errno_text(r));
	return 0;
}

int cgroup_of_pid(pid_t pid, char *buf, size_t size)
{
	char path[64], text[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0)
		return -errno;
	if ((size_t)n == sizeof(text))
		return -EFBIG; /* never cut: the v2 line is the last one */
	return proc_cgroup_v2_path(text, (size_t)n, buf, size);
}

int cgroup_count_procs(const char *dir)
{
	char path[4200];
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int n = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0)
		n++;
	return n;
}

/* PF_EXITING in /proc/PID/stat's flags (field 9): the task is in do_exit(). */
#define PROC_PF_EXITING 0x00000004u

/* True when @pid is gone, a zombie, or already exiting. */
bool proc_exiting(pid_t pid)
{
	char path[64], buf[1024], *p, state;
	unsigned long flags;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* After ')': state ppid pgrp session tty_nr tpgid flags */
	if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
		return false;
	return state == 'Z' || state == 'X' || (flags & PROC_PF_EXITING);
}

static void sleep_ms(long ms);

int cgroup_settle(const char *dir, int timeout_ms)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (int waited = 0;; waited += 5) {
		_cleanup_fclose_ FILE *f = fopen(path, "re");
		int pid, total = 0, live = 0;

		if (!f)
			return -errno;
		while (fscanf(f, "%d", &pid) == 1) {
			total++;
			if (!proc_exiting(pid))
				live++;
		}
		if (live > 0 || total == 0)
			return live;
		if (waited >= timeout_ms)
			return total;
		sleep_ms(5);
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int cgroup_kill_all(const char *dir, int timeout_ms)
{
	char path[4200];
	int n;

	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	for (int waited = 0;; waited += 10) {
		n = cgroup_count_procs(dir);
		if (n <= 0)
			return n;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		/* cgroup.kill (5.14+) also catches processes forked while we kill. */
		if (write_file(path, "1") < 0) {
			_cleanup_fclose_ FILE *f = NULL;
			int pid;

			snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
			f = fopen(path, "re");
			while (f && fscanf(f, "%d", &pid) == 1)
				kill(pid, SIGKILL);
			snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
		}
		sleep_ms(10);
	}
}

int cgroup_remove(const char *dir)
{
	if (rmdir(dir) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int proc_start_time(pid_t pid, uint64_t *start)
{
	char path[64], buf[1024], *p;
	unsigned long long v;
	ssize_t n;
	int fd;

	/* The tests' stand-in for running out of descriptors (EMFILE) at this very read. */
	if (fault_hit("start_time"))
		return -EMFILE;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	/* field 3 (state) is at p+2; start time is field 22, so skip 19 more fields. */
	p += 2;
	for (int i = 0; i < 19; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		p++;
	}
	if (sscanf(p, "%llu", &v) != 1)
		return -EIO;
	*start = v;
	return 0;
}

static char boot_id_cache[64];
static int boot_id_error;

static void boot_id_read(void)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		boot_id_error = -errno;
		return;
	}
	n = read(fd, boot_id_cache, sizeof(boot_id_cache) - 1);
	close(fd);
	if (n <= 0) {
		boot_id_error = -EIO;
		return;
	}
	boot_id_cache[n] = '\0';
	boot_id_cache[strcspn(boot_id_cache, "\n")] = '\0';
}

/* Read once per process: a boot id does not change while a process lives. */
int boot_id(char *buf, size_t size)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	if (fault_hit("boot_id"))
		return -EMFILE;
	pthread_once(&once, boot_id_read);
	if (boot_id_error)
		return boot_id_error;
	if (snprintf(buf, size, "%s", boot_id_cache) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

int cgroup2_favordynmods(const char *mount, bool *on)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return -errno;
	/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER-OPTIONS */
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok, *opts = NULL;
		int field = 0;
		bool ours = false, dash = false;

		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			field++;
			if (field == 5)
				ours = !strcmp(tok, mount);
			else if (!dash && field > 6 && !strcmp(tok, "-"))
				dash = true, field = 100;
			else if (dash && field == 101 && strcmp(tok, "cgroup2"))
				ours = false;
			else if (dash && field == 103)
				opts = tok;
		}
		if (ours && opts) {
			*on = strstr(opts, "favordynmods") != NULL;
			return 0;
		}
	}
	return -ENOENT;
}

int cgroup_move_cost_us(const char *mount, double *us)
{
	char rel[LAYOUT_PATH_MAX], dir[LAYOUT_PATH_MAX];
	struct timespec t0, t1;
	int r;

	r = cgroup_of_pid(getpid(), rel, sizeof(rel));
	if (r < 0)
		return r;
	if (snprintf(dir, sizeof(dir), "%s%s", mount, strcmp(rel, "/") ? rel : "") >=
	    (int)sizeof(dir))
		return -ENAMETOOLONG;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = cgroup_move(dir, getpid(), NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r < 0)
		return r;
	*us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
	return 0;
}
