// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"
#include "ledger_file.h"
#include "util.h"

#define LEDGER_MAX_SIZE (1u << 20)
/* The largest first ledger written in place: one page (the smallest page Linux has). */
#define LEDGER_FRESH_MAX 4096u

/*
 * How long to wait for a lock. A user can SIGSTOP their own su while it holds
 * one; then logins fail after this long instead of hanging for ever.
 */
#define LOCK_TIMEOUT_MS 30000

static int flock_wait(int fd)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 5 * 1000000L };

	for (int waited = 0; waited < LOCK_TIMEOUT_MS; waited += 5) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

int state_dir_check(const char *state_dir, struct cgbpf_error *err)
{
	struct stat st;

	if (lstat(state_dir, &st) < 0)
		return errno == ENOENT ? -ENOENT
				       : cgbpf_error_set(err, errno, "cannot stat state_dir %s: %m",
							 state_dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return cgbpf_error_set(
			err, EPERM,
			"state_dir %s refused: must be a directory owned by root and "
			"not writable by group or others",
			state_dir);
	return 0;
}

int state_dir_ensure(const char *state_dir, struct cgbpf_error *err)
{
	struct stat st;

	/* It exists but on the first login after boot: look before making it. */
	if (lstat(state_dir, &st) < 0) {
		if (errno != ENOENT)
			return cgbpf_error_set(err, errno, "cannot stat state_dir %s: %m",
					       state_dir);
		if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
			return cgbpf_error_set(err, errno, "cannot create state_dir %s: %m",
					       state_dir);
		if (lstat(state_dir, &st) < 0)
			return cgbpf_error_set(err, errno, "cannot stat state_dir %s: %m",
					       state_dir);
	}
	if (!S_ISDIR(st.st_mode))
		return cgbpf_error_set(err, ENOTDIR, "state_dir %s is not a directory", state_dir);
	if (st.st_uid != 0 || (st.st_mode & 022))
		return cgbpf_error_set(err, EPERM,
				       "state_dir %s refused: must be owned by root and not "
				       "writable by group or others (uid %u, mode %04o)",
				       state_dir, st.st_uid, st.st_mode & 07777);
	return 0;
}

int ledger_file_lock(const char *state_dir, uint32_t uid, struct ledger_file *lf,
		     struct cgbpf_error *err)
{
	struct stat a, b;

	int r;

	if (layout_ledger(lf->path, state_dir, uid) < 0)
		return cgbpf_error_set(err, ENAMETOOLONG, "state_dir path too long");
	for (;;) {
		_cleanup_close_ int fd =
			open(lf->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0)
			return cgbpf_error_set(err, errno, "cannot open ledger %s: %m", lf->path);
		r = flock_wait(fd);
		if (r < 0) {
			errno = -r;
			return cgbpf_error_set(err, r, "cannot lock ledger %s: %m", lf->path);
		}
		/* The holder before us may have removed the file: then lock the new one. */
		if (fstat(fd, &a) < 0)
			return cgbpf_error_set(err, errno, "cannot stat ledger %s: %m", lf->path);
		if (a.st_nlink == 0 || stat(lf->path, &b) < 0 || a.st_ino != b.st_ino ||
		    a.st_dev != b.st_dev)
			continue;
		if (!S_ISREG(a.st_mode) || a.st_uid != 0)
			return cgbpf_error_set(err, EPERM, "ledger %s is not a root-owned file",
					       lf->path);
		/* Nobody writes it but the holder of the lock: the size stays what it is. */
		lf->size = a.st_size;
		lf->fd = take_fd(&fd);
		return 0;
	}
}

int ledger_file_read(struct ledger_file *lf, struct ledger *l, bool *exists,
		     struct cgbpf_error *err)
{
	_cleanup_free_ char *buf = NULL;
	ssize_t n;
	int r;

	*exists = false;
	lf->fresh = lf->size == 0;
	if (lf->size == 0)
		return 0;
	if (lf->size > LEDGER_MAX_SIZE)
		return cgbpf_error_set(err, EFBIG, "ledger %s is too large", lf->path);
	buf = malloc((size_t)lf->size + 1);
	if (!buf)
		return cgbpf_oom(err);
	n = pread(lf->fd, buf, (size_t)lf->size, 0);
	if (n < 0)
		return cgbpf_error_set(err, errno, "cannot read ledger %s: %m", lf->path);
	if (n != lf->size)
		return cgbpf_error_set(err, EIO, "short read of ledger %s", lf->path);
	r = ledger_decode(buf, (size_t)n, l, err);
	if (r == -ENOMEM)
		return cgbpf_oom(err);
	if (r < 0)
		return cgbpf_error_context(err, r, "ledger %s is corrupt", lf->path);
	*exists = true;
	return 0;
}

/* Writes all of @len bytes; a write cut short (RLIMIT_FSIZE, a full disk) is an error. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Gives @tmp's file the name @path, atomically: @path always names a whole
 * ledger, the old or the new. An exchange and an unlink of what is then the
 * old file rather than a rename over it, because ext4 (the file system of
 * /run on hosts without a tmpfs there) forces the data of a file renamed over
 * another to disk (auto_da_alloc) and the last close of the old one waits for
 * that write: 0.1-0.2 ms a login, for a file that never needs to reach a disk.
 * Those waiting for the old file's lock see it unlinked (or @path naming
 * another inode) and retry, as after a rename.
 */
static int replace_file(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
		/* Now the old ledger; a leftover is removed by the next write. */
		unlink(tmp);
		return 0;
	}
	/* No exchange on this file system, or no old file to exchange with. */
	if (errno != EINVAL && errno != ENOENT && errno != ENOSYS && errno != EOPNOTSUPP)
		return -errno;
	return rename(tmp, path) < 0 ? -errno : 0;
}

/*
 * The first write of a ledger, into the empty file we made and hold locked:
 * no second file, no exchange, no unlink (on an ext4 /run each file made
 * costs 0.1-0.3 ms). Every reader takes the lock first, so none sees the
 * file half-written; a write of at most one page at offset 0 is copied whole
 * or not at all, so not even a writer killed in it leaves a torn ledger; and
 * a failed one is truncated back to empty, which reads as no ledger.
 */
static int write_fresh(struct ledger_file *lf, const char *buf, size_t len)
{
	ssize_t n = pwrite(lf->fd, buf, len, 0);
	int r = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;

	if (r < 0) {
		(void)!ftruncate(lf->fd, 0); /* best effort: r is what the caller needs */
		return r;
	}
	lf->fresh = false;
	lf->size = (off_t)len;
	return 0;
}

int ledger_file_write(struct ledger_file *lf, const struct ledger *l, struct cgbpf_error *err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	char tmp[sizeof(lf->path) + 8];
	size_t len;
	int r;

	r = ledger_encode(l, &buf, &len);
	if (r < 0)
		return cgbpf_error_set(err, r, "cannot encode ledger: out of memory");
	if (lf->fresh && len <= LEDGER_FRESH_MAX) {
		r = write_fresh(lf, buf, len);
		if (r < 0)
			return cgbpf_error_set(err, r, "cannot write ledger %s: %s", lf->path,
					       errno_text(r));
		return 0;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", lf->path) >= sizeof(tmp))
		return cgbpf_error_set(err, ENAMETOOLONG, "state_dir path too long");
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* A leftover is from a writer that died holding this user's lock, which we hold. */
		if (unlink(tmp) < 0 && errno != ENOENT)
			return cgbpf_error_set(err, errno, "cannot remove %s: %m", tmp);
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return cgbpf_error_set(err, errno, "cannot create %s: %m", tmp);
	/*
	 * Locked before it takes the name: a newcomer that opens the new file must
	 * wait for us, and those waiting on the old one see it unlinked and retry.
	 */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		r = -errno;
	else
		r = write_all(fd, buf, len);
	if (r == 0)
		r = replace_file(tmp, lf->path);
	if (r < 0) {
		unlink(tmp);
		return cgbpf_error_set(err, r, "cannot write ledger %s: %s", lf->path,
				       errno_text(r));
	}
	close(lf->fd);
	lf->fd = take_fd(&fd);
	lf->fresh = false;
	lf->size = (off_t)len;
	return 0;
}

int ledger_file_remove(struct ledger_file *lf)
{
	char tmp[sizeof(lf->path) + 8];

	if (unlink(lf->path) < 0 && errno != ENOENT)
		return -errno;
	lf->removed = true;
	/* What a writer that died half-way left behind. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", lf->path) < sizeof(tmp))
		unlink(tmp);
	return 0;
}

void ledger_file_unlock(struct ledger_file *lf)
{
	if (lf->fd < 0)
		return;
	/* Still under the lock, so still the file at lf->path. */
	if (lf->size == 0 && !lf->removed)
		unlink(lf->path);
	close(lf->fd);
	lf->fd = -1;
}

int state_lock_global(const char *state_dir, struct cgbpf_error *err)
{
	int fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r;

	if (fd < 0)
		return cgbpf_error_set(err, errno, "cannot open state_dir %s: %m", state_dir);
	r = flock_wait(fd);
	if (r < 0) {
		errno = -r;
		r = cgbpf_error_set(err, r, "cannot lock state_dir %s: %m", state_dir);
		close(fd);
		return r;
	}
	return fd;
}
