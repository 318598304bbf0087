/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading a file that decides what a session may do (the policy, the BPF
 * objects it names) only when nobody but root could have written it
 * (pam_cgbpf.conf(5), SAFETY).
 */
#ifndef CGBPF_SAFE_FILE_H
#define CGBPF_SAFE_FILE_H

#include <stddef.h>
#include <sys/stat.h>

#include "error.h"

/*
 * Reads the whole of @path, an absolute path, if it is a regular file owned by
 * root, not writable by group or others, at most @max_size bytes, and every
 * directory from it up to / is owned by root and not writable by group or
 * others unless sticky. No symbolic link is followed anywhere in the path, and
 * the checks apply to the very file that is read.
 *
 * On success returns 0, *buf owns the contents followed by a NUL that *len
 * does not count. On failure returns a negative errno (-EPERM when the file is
 * refused as unsafe, -EFBIG when too large, -EINVAL for a relative path,
 * -EAGAIN when the file changed while it was read (the size fstat gave is
 * not what was read: never a half-written prefix), or what open/read said), sets *buf to NULL and
 * *len to 0 and fills @err with a message that names @path.
 */
int safe_read_file(const char *path, size_t max_size, char **buf, size_t *len,
		   struct cgbpf_error *err);

/* The same, with the fstat of the very file that was read in *st. */
int safe_read_file_stat(const char *path, size_t max_size, char **buf, size_t *len, struct stat *st,
			struct cgbpf_error *err);

#endif
