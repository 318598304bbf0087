// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Reading root's files without trusting anybody else's (pam_cgbpf.conf(5),
 * SAFETY).
 *
 * The path is walked one component at a time from an fd on "/", and every
 * check is an fstat of an fd already open: what is checked is what is read,
 * whatever renames happen meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_file.h"
#include "util.h"

/* @dir is the first @dir_len bytes of @path, for messages. */
static int check_dir(int fd, const char *path, int dir_len, struct cgbpf_error *err)
{
	struct stat st;
	int e;

	if (fstat(fd, &st) < 0) {
		e = errno;
		return cgbpf_error_set(err, e, "%s: cannot stat %.*s: %s", path, dir_len, path,
				       errno_text(e));
	}
	if (!S_ISDIR(st.st_mode))
		return cgbpf_error_set(err, ENOTDIR, "%s: %.*s is not a directory", path, dir_len,
				       path);
	if (st.st_uid != 0)
		return cgbpf_error_set(err, EPERM,
				       "%s: refused: directory %.*s is owned by uid %u, not root",
				       path, dir_len, path, (unsigned int)st.st_uid);
	/* Sticky: others may create files here but not replace root's. */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return cgbpf_error_set(
			err, EPERM,
			"%s: refused: directory %.*s is writable by group or others (mode %04o)",
			path, dir_len, path, (unsigned int)(st.st_mode & 07777));
	return 0;
}

static int open_error(int dirfd, const char *name, const char *path, int prefix_len, int e,
		      struct cgbpf_error *err)
{
	struct stat st;

	/* O_NOFOLLOW says ELOOP (ENOTDIR with O_DIRECTORY): say why in words. */
	if ((e == ELOOP || e == ENOTDIR) && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return cgbpf_error_set(err, EPERM, "%s: refused: %.*s is a symbolic link", path,
				       prefix_len, path);
	if ((size_t)prefix_len == strlen(path))
		return cgbpf_error_set(err, e, "%s: %s", path, errno_text(e));
	return cgbpf_error_set(err, e, "%s: cannot open %.*s: %s", path, prefix_len, path,
			       errno_text(e));
}

static int check_file(int fd, const char *path, size_t max_size, struct stat *st,
		      struct cgbpf_error *err)
{
	int e;

	if (fstat(fd, st) < 0) {
		e = errno;
		return cgbpf_error_set(err, e, "%s: cannot stat: %s", path, errno_text(e));
	}
	if (!S_ISREG(st->st_mode))
		return cgbpf_error_set(err, EPERM, "%s: refused: not a regular file%s", path,
				       S_ISDIR(st->st_mode) ? " (a directory)" : "");
	if (st->st_uid != 0)
		return cgbpf_error_set(err, EPERM, "%s: refused: owned by uid %u, not root", path,
				       (unsigned int)st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return cgbpf_error_set(err, EPERM,
				       "%s: refused: writable by group or others (mode %04o)", path,
				       (unsigned int)(st->st_mode & 07777));
	if (st->st_size < 0 || (uintmax_t)st->st_size > max_size)
		return cgbpf_error_set(err, EFBIG, "%s: refused: too large (%jd bytes, limit %zu)",
				       path, (intmax_t)st->st_size, max_size);
	return 0;
}

int safe_read_file(const char *path, size_t max_size, char **buf, size_t *len,
		   struct cgbpf_error *err)
{
	struct stat st;

	return safe_read_file_stat(path, max_size, buf, len, &st, err);
}

/*
 * Walks @path from / with every directory checked as it is reached, and opens
 * the file at its end, checked too. Returns the file's fd, *st its fstat.
 */
static int open_checked(const char *path, size_t max_size, struct stat *st, struct cgbpf_error *err)
{
	_cleanup_free_ char *copy = NULL;
	char *name, *next, *save = NULL;
	int dirfd = -1, fd = -1, prefix_len, ret, e;

	if (!path || path[0] != '/')
		return cgbpf_error_set(err, EINVAL, "%s: refused: not an absolute path",
				       path ? path : "(null)");
	if (path[strlen(path) - 1] == '/')
		return cgbpf_error_set(err, EINVAL, "%s: refused: not a file name", path);
	copy = strdup(path);
	if (!copy)
		return cgbpf_error_set(err, ENOMEM, "%s: out of memory", path);

	dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		e = errno;
		return cgbpf_error_set(err, e, "%s: cannot open /: %s", path, errno_text(e));
	}
	ret = check_dir(dirfd, path, 1, err);
	if (ret < 0)
		goto out;

	for (name = strtok_r(copy, "/", &save);; name = next) {
		/* Each directory is checked as the walk reaches it; ".." would leave the chain. */
		if (!strcmp(name, ".") || !strcmp(name, "..")) {
			ret = cgbpf_error_set(err, EINVAL, "%s: refused: '.' or '..' in the path",
					      path);
			goto out;
		}
		prefix_len = (int)(name - copy + (ptrdiff_t)strlen(name));
		next = strtok_r(NULL, "/", &save);
		if (!next)
			break;
		fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			ret = open_error(dirfd, name, path, prefix_len, errno, err);
			goto out;
		}
		close(dirfd);
		dirfd = fd;
		fd = -1;
		ret = check_dir(dirfd, path, prefix_len, err);
		if (ret < 0)
			goto out;
	}

	/* O_NONBLOCK: a FIFO planted under the name must be refused, not waited on. */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = open_error(dirfd, name, path, prefix_len, errno, err);
		goto out;
	}
	ret = check_file(fd, path, max_size, st, err);
	if (ret < 0)
		goto out;
	ret = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return ret;
}

/*
 * Reads all of @fd, which fstat found to be st->st_size bytes. The whole file
 * or nothing: a file that shrank or grew while it was read (an in-place edit)
 * must never apply a half-written prefix.
 */
static int read_whole(int fd, const char *path, const struct stat *st, char **buf, size_t *len,
		      struct cgbpf_error *err)
{
	_cleanup_free_ char *data = malloc((size_t)st->st_size + 2);
	struct stat after;
	size_t got = 0;
	ssize_t n;
	int e;

	if (!data)
		return cgbpf_error_set(err, ENOMEM, "%s: out of memory", path);
	/* One byte more than fstat said: reading it means the file grew meanwhile. */
	while (got <= (size_t)st->st_size) {
		n = read(fd, data + got, (size_t)st->st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			return cgbpf_error_set(err, e, "%s: read: %s", path, errno_text(e));
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got != (size_t)st->st_size || fstat(fd, &after) < 0 || after.st_size != st->st_size ||
	    after.st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != st->st_mtim.tv_nsec)
		return cgbpf_error_set(err, EAGAIN,
				       "%s: refused: the file %s while it was read (%jd bytes when "
				       "opened); try again once it is written",
				       path,
				       got > (size_t)st->st_size   ? "grew"
				       : got < (size_t)st->st_size ? "shrank"
								   : "changed",
				       (intmax_t)st->st_size);
	data[got] = '\0';
	*buf = data;
	*len = got;
	data = NULL;
	return 0;
}

int safe_read_file_stat(const char *path, size_t max_size, char **buf, size_t *len,
			struct stat *stp, struct cgbpf_error *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	*buf = NULL;
	*len = 0;
	fd = open_checked(path, max_size, &st, err);
	if (fd < 0)
		return fd;
	r = read_whole(fd, path, &st, buf, len, err);
	if (r == 0)
		*stp = st;
	return r;
}
