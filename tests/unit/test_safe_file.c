// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * safe_read_file: each way a file or a directory above it can be unsafe is
 * provoked in a scratch tree under /tmp (which needs root: chown), and the
 * tree is removed afterwards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_file.h"
#include "unit.h"

static char base[64]; /* the scratch directory, root-owned 0755 */
static int fds_at_start;

static const char *at(const char *rel)
{
	static char paths[8][512];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", base, rel);
	return p;
}

static void make_file(const char *path, const char *text, mode_t mode, uid_t uid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	CHECK(fchown(fd, uid, 0) == 0);
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

static void make_dir(const char *path, mode_t mode, uid_t uid)
{
	CHECK(mkdir(path, 0700) == 0);
	CHECK(chown(path, uid, 0) == 0);
	CHECK(chmod(path, mode) == 0);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Expects a refusal: @ret, *buf NULL, and a message naming @path that contains @needle. */
static void expect_refused(const char *path, size_t max, int ret, const char *needle)
{
	struct cgbpf_error err = { { 0 } };
	char *buf = (char *)&err;
	size_t len = 99;

	CHECK(safe_read_file(path, max, &buf, &len, &err) == ret);
	CHECK(buf == NULL && len == 0);
	CHECK(strncmp(err.msg, path, strlen(path)) == 0 && err.msg[strlen(path)] == ':');
	CHECK_STR_CONTAINS(err.msg, needle);
}

static void test_accepted(void)
{
	struct cgbpf_error err = { { 0 } };
	char *buf = NULL, path[512];
	size_t len = 0;

	make_file(at("ok.conf"), "* egress deny\n", 0644, 0);
	CHECK(safe_read_file(at("ok.conf"), 1024, &buf, &len, &err) == 0);
	CHECK(err.msg[0] == '\0');
	CHECK(len == 14 && buf && strcmp(buf, "* egress deny\n") == 0);
	free(buf);

	/* Exactly at the limit, read-only, and owned by another group: all fine. */
	CHECK(safe_read_file(at("ok.conf"), 14, &buf, &len, &err) == 0 && len == 14);
	free(buf);
	make_file(at("ro.conf"), "x", 0400, 0);
	CHECK(chown(at("ro.conf"), 0, 65534) == 0);
	CHECK(safe_read_file(at("ro.conf"), 1, &buf, &len, &err) == 0 && len == 1);
	free(buf);

	/* Empty: a zero-length buffer that is still NUL-terminated. */
	make_file(at("empty.conf"), "", 0600, 0);
	CHECK(safe_read_file(at("empty.conf"), 0, &buf, &len, &err) == 0);
	CHECK(len == 0 && buf && buf[0] == '\0');
	free(buf);

	/* Doubled slashes are just separators. */
	snprintf(path, sizeof(path), "/%s//ok.conf", base);
	CHECK(safe_read_file(path, 1024, &buf, &len, &err) == 0 && len == 14);
	free(buf);
}

/* A sticky world-writable directory (a /tmp) may hold root's file. */
static void test_sticky_dir(void)
{
	struct cgbpf_error err = { { 0 } };
	char *buf = NULL;
	size_t len = 0;

	make_dir(at("sticky"), 01777, 0);
	make_dir(at("sticky/x"), 0755, 0);
	make_file(at("sticky/x/p.conf"), "ok", 0644, 0);
	CHECK(safe_read_file(at("sticky/x/p.conf"), 100, &buf, &len, &err) == 0);
	CHECK(len == 2 && buf && strcmp(buf, "ok") == 0);
	if (err.msg[0])
		printf("  %s\n", err.msg);
	free(buf);
}

static void test_unsafe_file(void)
{
	char msg[256];

	make_file(at("gw.conf"), "x", 0664, 0);
	snprintf(msg, sizeof(msg), "%s: refused: writable by group or others (mode 0664)",
		 at("gw.conf"));
	expect_refused(at("gw.conf"), 100, -EPERM, msg);

	make_file(at("ow.conf"), "x", 0602, 0);
	expect_refused(at("ow.conf"), 100, -EPERM, "writable by group or others (mode 0602)");

	make_file(at("nobody.conf"), "x", 0644, 65534);
	snprintf(msg, sizeof(msg), "%s: refused: owned by uid 65534, not root", at("nobody.conf"));
	expect_refused(at("nobody.conf"), 100, -EPERM, msg);

	make_dir(at("adir"), 0755, 0);
	expect_refused(at("adir"), 100, -EPERM, "refused: not a regular file (a directory)");

	CHECK(mkfifo(at("fifo"), 0600) == 0);
	expect_refused(at("fifo"), 100, -EPERM, "refused: not a regular file");

	make_file(at("big.conf"), "0123456789", 0644, 0);
	expect_refused(at("big.conf"), 9, -EFBIG, "refused: too large (10 bytes, limit 9)");
}

static void test_unsafe_dirs(void)
{
	char msg[512];

	make_dir(at("user"), 0755, 1000);
	make_file(at("user/p.conf"), "x", 0644, 0);
	snprintf(msg, sizeof(msg), "%s: refused: directory %s is owned by uid 1000, not root",
		 at("user/p.conf"), at("user"));
	expect_refused(at("user/p.conf"), 100, -EPERM, msg);

	/* The unsafe directory is refused even deep above the file. */
	make_dir(at("user/sub"), 0755, 0);
	make_file(at("user/sub/p.conf"), "x", 0644, 0);
	snprintf(msg, sizeof(msg), "directory %s is owned by uid 1000", at("user"));
	expect_refused(at("user/sub/p.conf"), 100, -EPERM, msg);

	make_dir(at("ww"), 0777, 0);
	make_file(at("ww/p.conf"), "x", 0644, 0);
	snprintf(msg, sizeof(msg), "directory %s is writable by group or others (mode 0777)",
		 at("ww"));
	expect_refused(at("ww/p.conf"), 100, -EPERM, msg);

	make_dir(at("gw"), 0775, 0);
	make_file(at("gw/p.conf"), "x", 0644, 0);
	expect_refused(at("gw/p.conf"), 100, -EPERM, "writable by group or others (mode 0775)");
}

static void test_symlinks(void)
{
	char msg[512];

	make_file(at("target.conf"), "x", 0644, 0);
	CHECK(symlink(at("target.conf"), at("link.conf")) == 0);
	snprintf(msg, sizeof(msg), "%s: refused: %s is a symbolic link", at("link.conf"),
		 at("link.conf"));
	expect_refused(at("link.conf"), 100, -EPERM, msg);

	/* A link to a safe directory is still a link. */
	make_dir(at("real"), 0755, 0);
	make_file(at("real/p.conf"), "x", 0644, 0);
	CHECK(symlink("real", at("linkdir")) == 0);
	snprintf(msg, sizeof(msg), "refused: %s is a symbolic link", at("linkdir"));
	expect_refused(at("linkdir/p.conf"), 100, -EPERM, msg);

	/* Dangling links are links too, not missing files. */
	CHECK(symlink("/nonexistent", at("dangling")) == 0);
	expect_refused(at("dangling"), 100, -EPERM, "is a symbolic link");
}

static void test_open_errors(void)
{
	char msg[512];

	expect_refused(at("missing.conf"), 100, -ENOENT, "No such file or directory");
	snprintf(msg, sizeof(msg), "cannot open %s: No such file or directory", at("nodir"));
	expect_refused(at("nodir/p.conf"), 100, -ENOENT, msg);

	make_file(at("file"), "x", 0644, 0);
	expect_refused(at("file/p.conf"), 100, -ENOTDIR, "Not a directory");

	expect_refused("relative/p.conf", 100, -EINVAL, "refused: not an absolute path");
	expect_refused("", 100, -EINVAL, "refused: not an absolute path");
	expect_refused("/", 100, -EINVAL, "refused: not a file name");
	expect_refused(at("ok.conf/"), 100, -EINVAL, "refused: not a file name");
	expect_refused(at("real/../ok.conf"), 100, -EINVAL, "'.' or '..'");
	expect_refused(at("./ok.conf"), 100, -EINVAL, "'.' or '..'");
}

static int remove_tree(const char *path)
{
	struct dirent *e;
	struct stat st;
	char sub[1024];
	DIR *d;

	if (lstat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		remove_tree(sub);
	}
	closedir(d);
	return rmdir(path);
}

/* Every refusal above went through a different exit path; none may keep an fd. */
/*
 * The whole file or nothing. Kernel files give a size from fstat that is not
 * what a read returns, as a file edited in place while it is read would: a
 * sysfs attribute says 4096 bytes and holds a few (a short read), a procfs
 * sysctl says 0 and holds more (one that grew).
 */
static void test_whole_file(void)
{
	struct stat st;

	CHECK(stat("/sys/kernel/uevent_seqnum", &st) == 0 && st.st_size == 4096);
	expect_refused("/sys/kernel/uevent_seqnum", 1 << 20, -EAGAIN, "shrank while it was read");
	CHECK(stat("/proc/sys/kernel/ostype", &st) == 0 && st.st_size == 0);
	expect_refused("/proc/sys/kernel/ostype", 1 << 20, -EAGAIN, "grew while it was read");
}

static void test_no_fd_leak(void)
{
	CHECK(fds_at_start > 0 && count_fds() == fds_at_start);
}

static void test_cleanup(void)
{
	struct stat st;

	CHECK(remove_tree(base) == 0);
	CHECK(lstat(base, &st) < 0 && errno == ENOENT);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("SKIP: test_safe_file: needs root to chown test files\n");
		return 0;
	}
	strcpy(base, "/tmp/cgbpf-safe-file.XXXXXX");
	if (!mkdtemp(base) || chmod(base, 0755) < 0) {
		printf("FAIL: test_safe_file: cannot create a scratch directory\n");
		return 1;
	}
	fds_at_start = count_fds();

	RUN_TEST(test_accepted);
	RUN_TEST(test_sticky_dir);
	RUN_TEST(test_unsafe_file);
	RUN_TEST(test_unsafe_dirs);
	RUN_TEST(test_symlinks);
	RUN_TEST(test_open_errors);
	RUN_TEST(test_whole_file);
	RUN_TEST(test_no_fd_leak);
	RUN_TEST(test_cleanup);
	return UNIT_EXIT();
}
