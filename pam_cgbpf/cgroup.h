/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The per-user cgroup v2 directories and moving processes between them. */
#ifndef CGBPF_CGROUP_H
#define CGBPF_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Finds where cgroup v2 is mounted (it may be /sys/fs/cgroup or /sys/fs/cgroup/unified). */
int cgroup2_mount_point(char *buf, size_t size, struct cgbpf_error *err);

/*
 * Creates DIR (and missing parents below @mount), root-owned 0755, so that a
 * user can neither move processes nor create children there. *created tells
 * whether the last component was made by this call.
 */
int cgroup_make(const char *mount, const char *rel, bool *created, struct cgbpf_error *err);

/* Moves a whole process into DIR (writes cgroup.procs). */
int cgroup_move(const char *dir, pid_t pid, struct cgbpf_error *err);

/* The cgroup v2 path of @pid, relative to the mount ("/" for the root), from /proc/PID/cgroup. */
int cgroup_of_pid(pid_t pid, char *buf, size_t size);

/* True when @pid is gone, a zombie, or already in do_exit(). */
bool proc_exiting(pid_t pid);

/* How many processes live in DIR (0 when it is empty). */
int cgroup_count_procs(const char *dir);

/*
 * How many processes in DIR are not already on their way out, after waiting
 * up to @timeout_ms for exiting ones to leave the cgroup: sshd closes the PAM
 * session while its child may still be exiting in the user's cgroup, and such
 * a process is not one "left behind". 0 means DIR is empty.
 */
int cgroup_settle(const char *dir, int timeout_ms);

/* Kills every process in DIR and waits up to @timeout_ms for it to empty. */
int cgroup_kill_all(const char *dir, int timeout_ms);

/* rmdir, tolerating a directory that is already gone. */
int cgroup_remove(const char *dir);

/* Start time of @pid in clock ticks since boot (/proc/PID/stat field 22). */
int proc_start_time(pid_t pid, uint64_t *start);

/* The kernel's boot id, so that a ledger from an earlier boot is recognised as stale. */
int boot_id(char *buf, size_t size);

/* Whether the cgroup2 hierarchy mounted at @mount has favordynmods (from mountinfo). */
int cgroup2_favordynmods(const char *mount, bool *on);

/*
 * Microseconds that moving this process into the cgroup it is in takes: the
 * locking of every move, without changing anything.
 */
int cgroup_move_cost_us(const char *mount, double *us);

#endif
