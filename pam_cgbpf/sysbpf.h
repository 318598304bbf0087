/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CGBPF_SYSBPF_H
#define CGBPF_SYSBPF_H

/*
 * Thin bpf(2) wrappers for the session path, so that the module does not need libbpf to
 * open or close a session whose programs are already pinned. Each returns an fd or 0 on
 * success, and on failure a negative errno with errno set to the same value (the convention
 * of libbpf 1.x, so that callers written for it keep working).
 */
#include <stdint.h>

#include <linux/bpf.h>

int sysbpf_obj_get(const char *path);
int sysbpf_obj_pin(int fd, const char *path);
/*
 * The same for @path, which is @rel below the directory of which @dirfd is an open fd (O_PATH
 * will do): resolved from @dirfd on kernels that can (BPF_F_PATH_FD, 6.5+), which skips the
 * walk down to that directory; by the whole @path otherwise, or when @dirfd is negative or
 * @rel is NULL.
 */
int sysbpf_obj_get_at(int dirfd, const char *rel, const char *path);
int sysbpf_obj_pin_at(int fd, int dirfd, const char *rel, const char *path);
int sysbpf_link_create(int prog_fd, int target_fd, enum bpf_attach_type type);
int sysbpf_link_detach(int link_fd);
int sysbpf_obj_get_info_by_fd(int fd, void *info, uint32_t *info_len);
int sysbpf_map_lookup_elem(int fd, const void *key, void *value);
int sysbpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags);
int sysbpf_map_delete_elem(int fd, const void *key);
int sysbpf_map_freeze(int fd);
int sysbpf_prog_get_fd_by_id(uint32_t id);
int sysbpf_link_get_fd_by_id(uint32_t id);
int sysbpf_link_get_next_id(uint32_t start, uint32_t *next);
/* The number of possible CPUs (/sys/devices/system/cpu/possible), or a negative errno. */
int sysbpf_num_possible_cpus(void);

#endif
