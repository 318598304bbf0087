// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ledger file (root only: the state directory must be root's). A ledger
 * is replaced by an exchange with its new version and an unlink of the old
 * one: the path must always name a whole ledger, a writer's leftover must not
 * stop the next write, and those waiting for the lock must land on the file
 * that holds the ledger.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger.h"
#include "ledger_file.h"
#include "unit.h"

#define UID 424242

static char dir[] = "/tmp/cgbpf-ledger-file.XXXXXX";
static char path[256];

static struct ledger sample(uint32_t next_link, size_t n_sessions)
{
	struct ledger l = { 0 };
	struct ledger_session s = { .pid = 4242, .start_time = 1, .opened = 2, .origin = "/" };

	l.uid = UID;
	l.user = strdup("cgbpf-test");
	l.boot_id = strdup("boot");
	l.cgroup = strdup("pam_cgbpf/user-424242");
	l.cgroup_id = 7;
	l.next_link = next_link;
	for (size_t i = 0; i < n_sessions; i++) {
		s.pid = 5000 + (pid_t)i;
		ledger_add_session(&l, &s);
	}
	return l;
}

/* Whether the file at @path decodes as a ledger; *@n_ses its sessions. */
static int read_whole(size_t *n_ses)
{
	struct cgbpf_error err = { { 0 } };
	struct ledger l = { 0 };
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	r = ledger_decode(buf, (size_t)n, &l, &err);
	*n_ses = l.n_ses;
	ledger_clear(&l);
	return r;
}

static void test_replace_is_atomic(void)
{
	struct cgbpf_error err = { { 0 } };
	struct ledger_file lf = { .fd = -1 };
	int status = 0, bad = 0;
	pid_t reader;

	CHECK(ledger_file_lock(dir, UID, &lf, &err) == 0);
	{
		struct ledger l = sample(1, 1);

		CHECK(ledger_file_write(&lf, &l, &err) == 0);
		ledger_clear(&l);
	}
	/* A reader that opens the path over and over while the writer replaces it. */
	reader = fork();
	if (reader == 0) {
		for (int i = 0; i < 20000; i++) {
			size_t n = 0;

			if (read_whole(&n) < 0 || n < 1)
				_exit(1);
		}
		_exit(0);
	}
	CHECK(reader > 0);
	for (int i = 0; reader > 0 && i < 2000; i++) {
		struct ledger l = sample((uint32_t)i, 1 + (size_t)(i % 40));

		if (ledger_file_write(&lf, &l, &err) < 0)
			bad++;
		ledger_clear(&l);
	}
	CHECK(bad == 0);
	if (reader > 0) {
		CHECK(waitpid(reader, &status, 0) == reader);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	{
		char tmp[300];
		struct stat st;

		snprintf(tmp, sizeof(tmp), "%s.new", path);
		CHECK(stat(tmp, &st) < 0 && errno == ENOENT); /* the old file went */
		/* Our lock is on the file the path names. */
		CHECK(fstat(lf.fd, &st) == 0 && st.st_nlink == 1);
	}
	ledger_file_remove(&lf);
	ledger_file_unlock(&lf);
}

static void test_leftover_and_waiter(void)
{
	struct cgbpf_error err = { { 0 } };
	struct ledger_file lf = { .fd = -1 };
	char tmp[300];
	int pipefd[2], status = 0;
	size_t n = 0;
	pid_t waiter;

	/* What a writer that died half-way leaves: the next write goes through. */
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	CHECK(ledger_file_lock(dir, UID, &lf, &err) == 0);
	close(open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	{
		struct ledger l = sample(3, 2);

		CHECK(ledger_file_write(&lf, &l, &err) == 0);
		ledger_clear(&l);
	}
	CHECK(read_whole(&n) == 0 && n == 2);
	CHECK(access(tmp, F_OK) < 0);

	/* A waiter blocked on the lock gets it on the replaced ledger, and reads it whole. */
	CHECK(pipe(pipefd) == 0);
	waiter = fork();
	if (waiter == 0) {
		struct ledger_file w = { .fd = -1 };
		struct ledger l = { 0 };
		struct cgbpf_error e = { { 0 } };
		bool exists = false;
		char c = 'x';

		close(pipefd[0]);
		if (write(pipefd[1], &c, 1) != 1)
			_exit(3);
		close(lf.fd); /* the parent's, inherited: its lock is the parent's to drop */
		if (ledger_file_lock(dir, UID, &w, &e) < 0 ||
		    ledger_file_read(&w, &l, &exists, &e) < 0) {
			printf("  the waiter: %s\n", e.msg);
			_exit(1);
		}
		_exit(exists && l.n_ses == 5 && l.next_link == 9 ? 0 : 2);
	}
	if (waiter > 0) {
		char c;
		struct ledger l = sample(9, 5);

		close(pipefd[1]);
		CHECK(read(pipefd[0], &c, 1) == 1);
		usleep(100000); /* let it block on our lock (a missed race only makes it pass) */
		CHECK(ledger_file_write(&lf, &l, &err) == 0);
		ledger_clear(&l);
		ledger_file_unlock(&lf);
		CHECK(waitpid(waiter, &status, 0) == waiter);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			printf("  the waiter: status %#x\n", status);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(pipefd[0]);
	}
	CHECK(ledger_file_lock(dir, UID, &lf, &err) == 0);
	ledger_file_remove(&lf);
	ledger_file_unlock(&lf);
	CHECK(access(path, F_OK) < 0 && access(tmp, F_OK) < 0);
}

static ino_t inode_of(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_ino : 0;
}

/*
 * The first write of a ledger goes into the locked empty file itself (no
 * .new, the same inode); one larger than a page still goes through .new;
 * a first write that fails leaves the file empty, and the unlock removes it.
 */
static void test_fresh_write(void)
{
	struct cgbpf_error err = { { 0 } };
	struct ledger_file lf = LEDGER_FILE_INIT;
	struct ledger l = sample(1, 1), big = sample(1, 200);
	size_t n_ses = 0;
	bool exists = true;
	ino_t ino;
	pid_t pid;
	int status;

	CHECK(ledger_file_lock(dir, UID, &lf, &err) == 0);
	CHECK(ledger_file_read(&lf, &l, &exists, &err) == 0 && !exists);
	ino = inode_of(path);
	CHECK(ino != 0);
	CHECK(ledger_file_write(&lf, &l, &err) == 0);
	CHECK(inode_of(path) == ino);
	CHECK(read_whole(&n_ses) == 0 && n_ses == 1);
	/* Not fresh any more: the next write replaces the file. */
	CHECK(ledger_file_write(&lf, &l, &err) == 0);
	CHECK(inode_of(path) != ino);
	CHECK(ledger_file_remove(&lf) == 0);
	ledger_file_unlock(&lf);
	CHECK(access(path, F_OK) < 0);

	CHECK(ledger_file_lock(dir, UID, &lf, &err) == 0);
	CHECK(ledger_file_read(&lf, &big, &exists, &err) == 0 && !exists);
	ino = inode_of(path);
	CHECK(ledger_file_write(&lf, &big, &err) == 0);
	CHECK(inode_of(path) != ino);
	CHECK(read_whole(&n_ses) == 0 && n_ses == 200);
	CHECK(ledger_file_remove(&lf) == 0);
	ledger_file_unlock(&lf);

	/* A first write cut short by RLIMIT_FSIZE: an empty file, then none. */
	pid = fork();
	if (pid == 0) {
		struct rlimit lim = { 100, 100 };
		struct ledger_file c = LEDGER_FILE_INIT;
		struct ledger cl = sample(1, 1);
		bool e = true;

		signal(SIGXFSZ, SIG_IGN);
		if (ledger_file_lock(dir, UID, &c, &err) < 0 ||
		    ledger_file_read(&c, &cl, &e, &err) < 0 || setrlimit(RLIMIT_FSIZE, &lim) < 0)
			_exit(2);
		if (ledger_file_write(&c, &cl, &err) == 0)
			_exit(3);
		if (!strstr(err.msg, "cannot write ledger"))
			_exit(4);
		{
			struct stat st;

			if (stat(path, &st) < 0 || st.st_size != 0)
				_exit(5);
		}
		ledger_file_unlock(&c);
		_exit(access(path, F_OK) < 0 ? 0 : 6);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(access(path, F_OK) < 0);
	ledger_clear(&l);
	ledger_clear(&big);
}

int main(void)
{
	if (getuid() != 0) {
		printf("FAIL: test_ledger_file: must run as root (the state directory is "
		       "root's)\n");
		return 1;
	}
	if (!mkdtemp(dir)) {
		printf("FAIL: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/user-%u.ledger", dir, UID);
	RUN_TEST(test_replace_is_atomic);
	RUN_TEST(test_leftover_and_waiter);
	RUN_TEST(test_fresh_write);
	unlink(path);
	{
		char tmp[300];

		snprintf(tmp, sizeof(tmp), "%s.new", path);
		unlink(tmp);
	}
	rmdir(dir);
	return UNIT_EXIT();
}
