// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sysbpf.h"

#define ptr_to_u64(p) ((uint64_t)(uintptr_t)(p))

static int sys_bpf(int cmd, union bpf_attr *attr, unsigned int size)
{
	long r = syscall(__NR_bpf, cmd, attr, size);

	return r < 0 ? -errno : (int)r;
}

/*
 * An fd that the kernel returns: never 0-2, which a PAM application with its
 * standard streams closed would later write to (as libbpf's ensure_good_fd).
 */
static int good_fd(int fd)
{
	int nfd, e;

	if (fd < 0 || fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	e = errno;
	close(fd);
	if (nfd < 0) {
		errno = e;
		return -e;
	}
	return nfd;
}

/* The size of attr up to and including one field: what the kernel reads for that command. */
#define attr_size(field) (offsetof(union bpf_attr, field) + sizeof(((union bpf_attr *)0)->field))

int sysbpf_obj_get(const char *path)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.pathname = ptr_to_u64(path);
	return good_fd(sys_bpf(BPF_OBJ_GET, &a, attr_size(file_flags)));
}

/* Weak: tests/unit/test_verdict.c interposes it to make the Nth pin fail. */
__attribute__((weak)) int sysbpf_obj_pin(int fd, const char *path)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.pathname = ptr_to_u64(path);
	a.bpf_fd = (uint32_t)fd;
	return sys_bpf(BPF_OBJ_PIN, &a, attr_size(file_flags));
}

/*
 * BPF_F_PATH_FD (Linux 6.5): OBJ_GET and OBJ_PIN resolve a relative path
 * from a directory fd, as openat does. Defined here, since Debian 12's
 * headers (6.1) have neither the flag nor the field.
 */
#define SYSBPF_F_PATH_FD (1U << 14)

struct obj_attr_at {
	uint64_t pathname;
	uint32_t bpf_fd;
	uint32_t file_flags;
	int32_t path_fd;
};

/* Whether the kernel takes BPF_F_PATH_FD: 0 not known yet, 1 yes, -1 no. */
static int path_fd_ok;

static int obj_at(int cmd, int fd, int dirfd, const char *rel)
{
	struct obj_attr_at a = { .pathname = ptr_to_u64(rel),
				 .bpf_fd = (uint32_t)fd,
				 .file_flags = SYSBPF_F_PATH_FD,
				 .path_fd = dirfd };
	long r = syscall(__NR_bpf, cmd, &a,
			 offsetof(struct obj_attr_at, path_fd) + sizeof(a.path_fd));

	return r < 0 ? -errno : (int)r;
}

/*
 * Where the kernel may take BPF_F_PATH_FD, from the directory fd. Success, or
 * an error that only the path's resolution gives, proves that it does; an
 * LSM, seccomp or memory error proves nothing and is only passed on. An
 * EINVAL is always tried again by the whole path: a kernel without the flag
 * answers that (and is then known), where a real EINVAL fails both ways.
 */
static bool path_fd_usable(int dirfd, const char *rel)
{
	return dirfd >= 0 && rel && __atomic_load_n(&path_fd_ok, __ATOMIC_RELAXED) >= 0;
}

static bool path_fd_answered(int r)
{
	if (r == -EINVAL)
		return false;
	if (r >= 0 || r == -ENOENT || r == -EEXIST || r == -ENOTDIR || r == -ELOOP ||
	    r == -ENAMETOOLONG)
		__atomic_store_n(&path_fd_ok, 1, __ATOMIC_RELAXED);
	return true;
}

static int path_fd_fallen_back(int r)
{
	if (r != -EINVAL)
		__atomic_store_n(&path_fd_ok, -1, __ATOMIC_RELAXED);
	return r;
}

int sysbpf_obj_get_at(int dirfd, const char *rel, const char *path)
{
	int r;

	if (!path_fd_usable(dirfd, rel))
		return sysbpf_obj_get(path);
	r = good_fd(obj_at(BPF_OBJ_GET, 0, dirfd, rel));
	if (path_fd_answered(r))
		return r;
	return path_fd_fallen_back(sysbpf_obj_get(path));
}

int sysbpf_obj_pin_at(int fd, int dirfd, const char *rel, const char *path)
{
	int r;

	if (!path_fd_usable(dirfd, rel))
		return sysbpf_obj_pin(fd, path);
	r = obj_at(BPF_OBJ_PIN, fd, dirfd, rel);
	if (path_fd_answered(r))
		return r;
	return path_fd_fallen_back(sysbpf_obj_pin(fd, path));
}

int sysbpf_link_create(int prog_fd, int target_fd, enum bpf_attach_type type)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog_fd;
	a.link_create.target_fd = (uint32_t)target_fd;
	a.link_create.attach_type = type;
	return good_fd(sys_bpf(BPF_LINK_CREATE, &a, attr_size(link_create.flags)));
}

int sysbpf_link_detach(int link_fd)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.link_detach.link_fd = (uint32_t)link_fd;
	return sys_bpf(BPF_LINK_DETACH, &a, attr_size(link_detach));
}

int sysbpf_obj_get_info_by_fd(int fd, void *info, uint32_t *info_len)
{
	union bpf_attr a;
	int r;

	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = *info_len;
	a.info.info = ptr_to_u64(info);
	r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, attr_size(info));
	if (r == 0)
		*info_len = a.info.info_len;
	return r;
}

static int map_elem(int cmd, int fd, const void *key, const void *value, uint64_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = ptr_to_u64(key);
	a.value = ptr_to_u64(value);
	a.flags = flags;
	return sys_bpf(cmd, &a, attr_size(flags));
}

int sysbpf_map_lookup_elem(int fd, const void *key, void *value)
{
	return map_elem(BPF_MAP_LOOKUP_ELEM, fd, key, value, 0);
}

int sysbpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)
{
	return map_elem(BPF_MAP_UPDATE_ELEM, fd, key, value, flags);
}

int sysbpf_map_delete_elem(int fd, const void *key)
{
	return map_elem(BPF_MAP_DELETE_ELEM, fd, key, NULL, 0);
}

int sysbpf_map_freeze(int fd)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	return sys_bpf(BPF_MAP_FREEZE, &a, attr_size(map_fd));
}

static int get_fd_by_id(int cmd, uint32_t id)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_id = id; /* prog_id, map_id and link_id share one place in the union */
	return good_fd(sys_bpf(cmd, &a, attr_size(open_flags)));
}

int sysbpf_prog_get_fd_by_id(uint32_t id)
{
	return get_fd_by_id(BPF_PROG_GET_FD_BY_ID, id);
}

int sysbpf_link_get_fd_by_id(uint32_t id)
{
	return get_fd_by_id(BPF_LINK_GET_FD_BY_ID, id);
}

int sysbpf_link_get_next_id(uint32_t start, uint32_t *next)
{
	union bpf_attr a;
	int r;

	memset(&a, 0, sizeof(a));
	a.start_id = start;
	r = sys_bpf(BPF_LINK_GET_NEXT_ID, &a, attr_size(open_flags));
	if (r == 0)
		*next = a.next_id;
	return r;
}

/* "0-3,5,7-9": the count of CPUs the ranges name, as libbpf_num_possible_cpus parses it. */
static int count_cpu_ranges(const char *s)
{
	int n = 0;

	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b = a;

		if (end == s || a < 0)
			return -EINVAL;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a)
				return -EINVAL;
			s = end;
		}
		n += (int)(b - a + 1);
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -EINVAL;
	}
	return n > 0 ? n : -EINVAL;
}

int sysbpf_num_possible_cpus(void)
{
	static int cached;
	char buf[256];
	ssize_t len;
	int fd, n = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (n > 0)
		return n;
	fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	n = len < 0 ? -errno : 0;
	close(fd);
	if (n < 0)
		return n;
	buf[len] = '\0';
	n = count_cpu_ranges(buf);
	if (n > 0)
		__atomic_store_n(&cached, n, __ATOMIC_RELAXED);
	return n;
}
