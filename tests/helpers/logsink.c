/*
 * logsink: a stand-in syslog daemon for machines where nothing listens on /dev/log.
 *
 *   logsink SOCKETPATH OUTFILE
 *
 * Binds a unix datagram socket at SOCKETPATH, prints "ready" once bound and appends every
 * datagram to OUTFILE as one line until SIGTERM/SIGINT/SIGHUP, then removes the socket.
 * Exit 0 after a signal, 3 if SOCKETPATH is already served, 1 on other errors, 64 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define RC_ERROR   1
#define RC_IN_USE  3
#define RC_USAGE   64
#define MAX_RECORD 65536

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/* Returns 0 when the path is free (a stale socket is removed), RC_IN_USE or RC_ERROR. */
static int claim_path(const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, rc;

	/* stat, not lstat: a symlink to a live socket (as systemd makes /dev/log) is in use. */
	if (stat(addr->sun_path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "logsink: %s: %s\n", addr->sun_path, strerror(errno));
		return RC_ERROR;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "logsink: %s exists and is not a socket\n", addr->sun_path);
		return RC_ERROR;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "logsink: socket: %s\n", strerror(errno));
		return RC_ERROR;
	}
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0) {
		fprintf(stderr, "logsink: %s: already served\n", addr->sun_path);
		rc = RC_IN_USE;
	} else if (errno == EPROTOTYPE) {
		/* A stream socket there means a live syslog daemon of another kind. */
		fprintf(stderr, "logsink: %s: already served (stream socket)\n", addr->sun_path);
		rc = RC_IN_USE;
	} else if (errno != ECONNREFUSED) {
		fprintf(stderr, "logsink: %s: %s\n", addr->sun_path, strerror(errno));
		rc = RC_ERROR;
	} else if (unlink(addr->sun_path) < 0 && errno != ENOENT) {
		fprintf(stderr, "logsink: removing stale %s: %s\n", addr->sun_path,
			strerror(errno));
		rc = RC_ERROR;
	} else {
		rc = 0;
	}
	close(fd);
	return rc;
}

/* One datagram, one line: trailing newlines and NULs go, inner ones become spaces. */
static bool append_record(int out, char *buf, size_t len)
{
	size_t off = 0;

	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\0'))
		len--;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' || buf[i] == '\0')
			buf[i] = ' ';
	}
	buf[len++] = '\n';
	while (off < len) {
		ssize_t n = write(out, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		off += n;
	}
	return true;
}

/* Removes the socket only if it is still ours, not one a successor bound meanwhile. */
static void unlink_if_ours(const char *path, const struct stat *bound)
{
	struct stat now;

	if (lstat(path, &now) == 0 && now.st_dev == bound->st_dev && now.st_ino == bound->st_ino)
		unlink(path);
}

static bool install_stop_handlers(sigset_t *orig)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return false;
		sigaddset(&block, sigs[i]);
	}
	/* Blocked except inside ppoll(), so a signal cannot slip between the check and the wait. */
	return sigprocmask(SIG_BLOCK, &block, orig) == 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	static char buf[MAX_RECORD + 1];
	struct stat bound;
	sigset_t orig;
	int fd = -1, out, rc;

	if (argc != 3) {
		fputs("usage: logsink SOCKETPATH OUTFILE\n", stderr);
		return RC_USAGE;
	}
	if (strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "logsink: socket path too long: %s\n", argv[1]);
		return RC_USAGE;
	}
	strcpy(addr.sun_path, argv[1]);
	if (!install_stop_handlers(&orig)) {
		perror("logsink: signals");
		return RC_ERROR;
	}

	rc = claim_path(&addr);
	if (rc != 0)
		return rc;
	rc = RC_ERROR;
	out = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0) {
		fprintf(stderr, "logsink: %s: %s\n", argv[2], strerror(errno));
		return RC_ERROR;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "logsink: %s: %s\n", addr.sun_path, strerror(errno));
		goto out;
	}
	if (lstat(addr.sun_path, &bound) < 0 || chmod(addr.sun_path, 0666) < 0) {
		fprintf(stderr, "logsink: %s: %s\n", addr.sun_path, strerror(errno));
		unlink(addr.sun_path);
		goto out;
	}
	printf("ready\n");
	if (fflush(stdout) != 0)
		goto unlink;

	while (!stop_signal) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (ppoll(&pfd, 1, NULL, &orig) < 0) {
			if (errno == EINTR)
				continue;
			perror("logsink: poll");
			goto unlink;
		}
		n = recv(fd, buf, MAX_RECORD, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			perror("logsink: recv");
			goto unlink;
		}
		if (!append_record(out, buf, n)) {
			fprintf(stderr, "logsink: writing %s: %s\n", argv[2], strerror(errno));
			goto unlink;
		}
	}
	rc = 0;

unlink:
	unlink_if_ours(addr.sun_path, &bound);
out:
	if (fd >= 0)
		close(fd);
	close(out);
	return rc;
}
