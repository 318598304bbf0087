/*
 * netprobe: real traffic for sandbox tests. The exit code is the verdict:
 * 0 ok, 1 connection refused, 2 EPERM/EACCES (what a cgroup drop gives), 3 timeout,
 * 4 any other error, 5 as-user could not move or drop privileges, 64 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

enum {
	RC_OK = 0,
	RC_REFUSED = 1,
	RC_DENIED = 2,
	RC_TIMEOUT = 3,
	RC_ERROR = 4,
	RC_AS_USER = 5,
	RC_USAGE = 64,
};

/* Our own deadline, told apart from the kernel's ETIMEDOUT only in the message. */
#define ERR_DEADLINE (-1)

static const char usage_text[] =
	"usage: netprobe tcp-connect ADDR PORT [TIMEOUT_MS] [--from SRCADDR] [--sport PORT]\n"
	"       netprobe tcp-listen ADDR PORT [--count N]\n"
	"       netprobe udp-send ADDR PORT [COUNT] [--from SRCADDR] [--sport PORT]\n"
	"       netprobe udp-connect ADDR PORT [--sport PORT]\n"
	"       netprobe udp-recv ADDR PORT [--timeout MS] [--expect N]\n"
	"       netprobe socket inet|inet6|unix stream|dgram|raw [tcp|udp|icmp|icmpv6|NUMBER]\n"
	"       netprobe as-user UID GID [--cgroup DIR] -- CMD [ARG...]\n"
	"       netprobe cgroup-of PID|self\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return RC_USAGE;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("netprobe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return usage();
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* Numeric addresses only; "[::1]" is accepted as well as "::1". */
static bool parse_sockaddr(const char *addr, const char *port, int socktype,
			   struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_family = AF_UNSPEC,
		.ai_socktype = socktype,
	};
	struct addrinfo *res = NULL;
	char host[NI_MAXHOST];
	unsigned long p;
	size_t n = strlen(addr);
	bool ok;

	if (!parse_ulong(port, 65535, &p))
		return false;
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		addr++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, addr, n);
	host[n] = '\0';
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return false;
	ok = res->ai_addrlen <= sizeof(*ss);
	if (ok) {
		memcpy(ss, res->ai_addr, res->ai_addrlen);
		*len = res->ai_addrlen;
	}
	freeaddrinfo(res);
	return ok;
}

static const char *sockaddr_host(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	if (getnameinfo(sa, len, buf, size, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, size, "?");
	return buf;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll() one fd until an event or the deadline; returns >0 ready, 0 timed out, -errno. */
static int poll_until(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		long long left = deadline - now_ms();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
}

static void close_keep_errno(int fd)
{
	int saved = errno;

	if (fd >= 0)
		close(fd);
	errno = saved;
}

/* ---- tcp-connect ------------------------------------------------------------------------ */

/* Returns 0 once connected, a positive errno, or ERR_DEADLINE. */
static int tcp_connect(int fd, const struct sockaddr_storage *ss, socklen_t len, long long deadline)
{
	int err = 0;
	socklen_t errlen = sizeof(err);
	int r;

	if (connect(fd, (const struct sockaddr *)ss, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	r = poll_until(fd, POLLOUT, deadline);
	if (r < 0)
		return -r;
	if (r == 0)
		return ERR_DEADLINE;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
		return errno;
	return err;
}

/* Best effort: the verdict is the connect, the exchange only shows the path works both ways. */
static void tcp_exchange(int fd, long long deadline)
{
	char buf[256];
	long long soon = now_ms() + 500;

	if (send(fd, "ping\n", 5, MSG_NOSIGNAL) != 5)
		return;
	if (poll_until(fd, POLLIN, soon < deadline ? soon : deadline) > 0)
		(void)!recv(fd, buf, sizeof(buf), 0);
}

/*
 * Binds @fd to --from ADDR and/or --sport PORT (either may be NULL) in @family
 * before it connects or sends; returns 0 or a positive errno, or -1 for bad
 * arguments (printed).
 */
static int bind_source(int fd, int family, const char *from, const char *sport)
{
	struct sockaddr_storage src;
	socklen_t slen;
	int one = 1;

	if (!from && !sport)
		return 0;
	if (!from)
		from = family == AF_INET6 ? "::" : "0.0.0.0";
	if (!parse_sockaddr(from, sport ? sport : "0", SOCK_DGRAM, &src, &slen) ||
	    src.ss_family != family) {
		usage_error("--from/--sport need a numeric address of the same family and a port");
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&src, slen) < 0)
		return errno;
	return 0;
}

/* Splits argv into up to @max positionals and the --from/--sport options. */
static bool parse_source_opts(int argc, char **argv, const char **pos, int max, int *npos,
			      const char **from, const char **sport)
{
	*npos = 0;
	*from = *sport = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 || strcmp(argv[i], "--sport") == 0) {
			if (i + 1 == argc) {
				usage_error("%s needs a value", argv[i]);
				return false;
			}
			*(argv[i][2] == 'f' ? from : sport) = argv[i + 1];
			i++;
		} else if (*npos < max) {
			pos[(*npos)++] = argv[i];
		} else {
			usage_error("unexpected argument: %s", argv[i]);
			return false;
		}
	}
	return true;
}

static int errno_rc(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return RC_REFUSED;
	case EPERM:
	case EACCES:
		return RC_DENIED;
	case ETIMEDOUT:
		return RC_TIMEOUT;
	default:
		return RC_ERROR;
	}
}

static int cmd_tcp_connect(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned long timeout = 2000;
	long long deadline;
	const char *pos[3], *from, *sport;
	int npos, fd, err;

	if (!parse_source_opts(argc, argv, pos, 3, &npos, &from, &sport))
		return RC_USAGE;
	if (npos < 2)
		return usage();
	if (!parse_sockaddr(pos[0], pos[1], SOCK_STREAM, &ss, &len))
		return usage_error("not a numeric address and port: %s", pos[0]);
	if (npos == 3 && !parse_ulong(pos[2], 24L * 3600 * 1000, &timeout))
		return usage_error("bad timeout: %s", pos[2]);
	deadline = now_ms() + (long long)timeout;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	err = fd < 0 ? errno : bind_source(fd, ss.ss_family, from, sport);
	if (err < 0) {
		close(fd);
		return RC_USAGE;
	}
	if (err == 0)
		err = tcp_connect(fd, &ss, len, deadline);
	if (err == 0)
		tcp_exchange(fd, deadline);
	if (fd >= 0)
		close(fd);

	printf("tcp-connect %s %s: ", pos[0], pos[1]);
	if (err == 0) {
		printf("ok\n");
		return RC_OK;
	}
	if (err == ERR_DEADLINE) {
		printf("timed out after %lu ms\n", timeout);
		return RC_TIMEOUT;
	}
	printf("%s\n", strerror(err));
	return errno_rc(err);
}

/* ---- tcp-listen ------------------------------------------------------------------------- */

static void tcp_serve_one(int cfd)
{
	char buf[256];

	/* Read the client's ping first: closing with unread data would send a reset. */
	if (poll_until(cfd, POLLIN, now_ms() + 1000) > 0)
		(void)!recv(cfd, buf, sizeof(buf), MSG_DONTWAIT);
	(void)!send(cfd, "pong\n", 5, MSG_NOSIGNAL);
	shutdown(cfd, SHUT_WR);
}

/*
 * A socket of @type bound to ADDR PORT with SO_REUSEADDR (and listening, for
 * a stream): RC_OK and *fd, or the exit code, with the error printed.
 */
static int bound_socket(const char *cmd, const char *addr, const char *port, int type, int *fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	*fd = -1;
	if (!parse_sockaddr(addr, port, type, &ss, &len))
		return usage_error("not a numeric address and port: %s", addr);
	*fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (*fd < 0 || setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(*fd, (struct sockaddr *)&ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(*fd, 128) < 0)) {
		fprintf(stderr, "netprobe: %s %s %s: %s\n", cmd, addr, port, strerror(errno));
		close_keep_errno(*fd);
		*fd = -1;
		return errno == EPERM || errno == EACCES ? RC_DENIED : RC_ERROR;
	}
	return RC_OK;
}

static int cmd_tcp_listen(int argc, char **argv)
{
	struct sockaddr_storage peer;
	socklen_t plen;
	unsigned long count = 0, served;
	const char *pos[2];
	int npos = 0, fd, rc;
	char host[NI_MAXHOST];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0) {
			if (++i == argc || !parse_ulong(argv[i], 1000000000, &count) || count == 0)
				return usage_error("--count needs a positive number");
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			return usage_error("unexpected argument: %s", argv[i]);
		}
	}
	if (npos != 2)
		return usage();
	rc = bound_socket("tcp-listen", pos[0], pos[1], SOCK_STREAM, &fd);
	if (rc != RC_OK)
		return rc;
	printf("listening\n");
	fflush(stdout);

	for (served = 0; count == 0 || served < count;) {
		int cfd;

		plen = sizeof(peer);
		cfd = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "netprobe: accept: %s\n", strerror(errno));
			close(fd);
			return RC_ERROR;
		}
		printf("accepted %s\n",
		       sockaddr_host((struct sockaddr *)&peer, plen, host, sizeof(host)));
		fflush(stdout);
		tcp_serve_one(cfd);
		close(cfd);
		served++;
	}
	close(fd);
	return RC_OK;
}

/* ---- udp-send / udp-recv ---------------------------------------------------------------- */

static int cmd_udp_send(int argc, char **argv)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	unsigned long count = 1, sent = 0;
	const char *pos[3], *from, *sport;
	int npos, fd, err = 0;

	if (!parse_source_opts(argc, argv, pos, 3, &npos, &from, &sport))
		return RC_USAGE;
	if (npos < 2)
		return usage();
	if (!parse_sockaddr(pos[0], pos[1], SOCK_DGRAM, &dst, &dlen))
		return usage_error("not a numeric address and port: %s", pos[0]);
	if (npos == 3 && (!parse_ulong(pos[2], 1000000000, &count) || count == 0))
		return usage_error("bad count: %s", pos[2]);

	/* Unconnected: every datagram names its destination (sendto). */
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	err = fd < 0 ? errno : bind_source(fd, dst.ss_family, from, sport);
	if (err < 0) {
		close(fd);
		return RC_USAGE;
	}
	for (; err == 0 && sent < count; sent++) {
		char msg[32];
		int n = snprintf(msg, sizeof(msg), "ping %lu", sent + 1);

		if (sendto(fd, msg, n, 0, (struct sockaddr *)&dst, dlen) != n) {
			err = errno;
			break;
		}
	}
	if (fd >= 0)
		close(fd);

	printf("udp-send %s %s: ", pos[0], pos[1]);
	if (err == 0) {
		printf("ok (%lu sent)\n", sent);
		return RC_OK;
	}
	printf("%s (%lu sent)\n", strerror(err), sent);
	return err == EPERM || err == EACCES ? RC_DENIED : RC_ERROR;
}

/* connect() a UDP socket, then send() one datagram on it; the verdict names the failing step. */
static int cmd_udp_connect(int argc, char **argv)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	const char *pos[2], *from, *sport, *step = "socket";
	int npos, fd, err = 0;

	if (!parse_source_opts(argc, argv, pos, 2, &npos, &from, &sport))
		return RC_USAGE;
	if (npos != 2)
		return usage();
	if (!parse_sockaddr(pos[0], pos[1], SOCK_DGRAM, &dst, &dlen))
		return usage_error("not a numeric address and port: %s", pos[0]);
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
	} else {
		step = "bind";
		err = bind_source(fd, dst.ss_family, from, sport);
		if (err < 0) {
			close(fd);
			return RC_USAGE;
		}
	}
	if (err == 0) {
		step = "connect";
		if (connect(fd, (struct sockaddr *)&dst, dlen) < 0)
			err = errno;
	}
	if (err == 0) {
		step = "send";
		if (send(fd, "ping", 4, 0) != 4)
			err = errno;
	}
	if (fd >= 0)
		close(fd);
	printf("udp-connect %s %s: ", pos[0], pos[1]);
	if (err == 0) {
		printf("ok\n");
		return RC_OK;
	}
	printf("%s: %s\n", step, strerror(err));
	return errno_rc(err);
}

static int cmd_udp_recv(int argc, char **argv)
{
	struct sockaddr_storage peer;
	socklen_t plen;
	unsigned long timeout = 2000, expect = 0, received = 0;
	const char *pos[2];
	int npos = 0, fd, rc;
	char host[NI_MAXHOST], buf[2048];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--timeout") == 0) {
			if (++i == argc || !parse_ulong(argv[i], 24L * 3600 * 1000, &timeout))
				return usage_error("--timeout needs milliseconds");
		} else if (strcmp(argv[i], "--expect") == 0) {
			if (++i == argc || !parse_ulong(argv[i], 1000000000, &expect))
				return usage_error("--expect needs a number");
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			return usage_error("unexpected argument: %s", argv[i]);
		}
	}
	if (npos != 2)
		return usage();
	rc = bound_socket("udp-recv", pos[0], pos[1], SOCK_DGRAM, &fd);
	if (rc != RC_OK)
		return rc;
	printf("listening\n");
	fflush(stdout);

	/* The timeout runs from the start, then again from each datagram. */
	while (expect == 0 || received < expect) {
		int r = poll_until(fd, POLLIN, now_ms() + (long long)timeout);

		if (r == 0)
			break;
		if (r < 0) {
			fprintf(stderr, "netprobe: poll: %s\n", strerror(-r));
			break;
		}
		plen = sizeof(peer);
		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "netprobe: recvfrom: %s\n", strerror(errno));
			break;
		}
		received++;
		printf("from %s\n",
		       sockaddr_host((struct sockaddr *)&peer, plen, host, sizeof(host)));
		fflush(stdout);
	}
	close(fd);
	printf("received %lu\n", received);
	return RC_OK;
}

/* ---- socket ----------------------------------------------------------------------------- */

struct name_value {
	const char *name;
	int value;
};

static bool lookup(const struct name_value *table, const char *name, int *value)
{
	for (; table->name; table++) {
		if (strcmp(table->name, name) == 0) {
			*value = table->value;
			return true;
		}
	}
	return false;
}

static const struct name_value families[] = {
	{ "inet", AF_INET },
	{ "inet6", AF_INET6 },
	{ "unix", AF_UNIX },
	{ NULL, 0 },
};
static const struct name_value types[] = {
	{ "stream", SOCK_STREAM },
	{ "dgram", SOCK_DGRAM },
	{ "raw", SOCK_RAW },
	{ NULL, 0 },
};
static const struct name_value protocols[] = {
	{ "tcp", IPPROTO_TCP },
	{ "udp", IPPROTO_UDP },
	{ "icmp", IPPROTO_ICMP },
	{ "icmpv6", IPPROTO_ICMPV6 },
	{ NULL, 0 },
};

static int cmd_socket(int argc, char **argv)
{
	int family, type, proto = 0, fd;
	unsigned long num;

	if (argc < 3 || argc > 4)
		return usage();
	if (!lookup(families, argv[1], &family))
		return usage_error("unknown family: %s", argv[1]);
	if (!lookup(types, argv[2], &type))
		return usage_error("unknown type: %s", argv[2]);
	if (argc == 4 && !lookup(protocols, argv[3], &proto)) {
		if (!parse_ulong(argv[3], 255, &num))
			return usage_error("unknown protocol: %s", argv[3]);
		proto = (int)num;
	}

	fd = socket(family, type | SOCK_CLOEXEC, proto);
	printf("socket %s %s %d: %s\n", argv[1], argv[2], proto, fd < 0 ? strerror(errno) : "ok");
	if (fd >= 0) {
		close(fd);
		return RC_OK;
	}
	return errno == EPERM || errno == EACCES ? RC_DENIED : RC_ERROR;
}

/* ---- as-user ---------------------------------------------------------------------------- */

static bool join_cgroup(const char *dir)
{
	char path[4096], pid[32];
	int fd, n;
	bool ok;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path)) {
		fprintf(stderr, "netprobe: as-user: cgroup path too long\n");
		return false;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "netprobe: as-user: %s: %s\n", path, strerror(errno));
		return false;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	ok = write(fd, pid, n) == n;
	if (!ok)
		fprintf(stderr, "netprobe: as-user: writing %s: %s\n", path, strerror(errno));
	close(fd);
	return ok;
}

static bool drop_to(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		fprintf(stderr, "netprobe: as-user: dropping to %u:%u: %s\n", (unsigned)uid,
			(unsigned)gid, strerror(errno));
		return false;
	}
	/* Verify rather than trust: every id, no supplementary groups, and no way back. */
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid ||
	    eu != uid || su != uid || rg != gid || eg != gid || sg != gid ||
	    getgroups(0, NULL) != 0 || (uid != 0 && setuid(0) == 0)) {
		fprintf(stderr, "netprobe: as-user: privileges were not dropped to %u:%u\n",
			(unsigned)uid, (unsigned)gid);
		return false;
	}
	return true;
}

static int cmd_as_user(int argc, char **argv)
{
	unsigned long uid, gid;
	const char *cgroup = NULL;
	int i;

	if (argc < 5)
		return usage();
	if (!parse_ulong(argv[1], 0xfffffffeUL, &uid))
		return usage_error("bad uid: %s", argv[1]);
	if (!parse_ulong(argv[2], 0xfffffffeUL, &gid))
		return usage_error("bad gid: %s", argv[2]);
	for (i = 3; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--cgroup") == 0 && i + 1 < argc)
			cgroup = argv[++i];
		else
			return usage_error("unexpected argument: %s", argv[i]);
	}
	if (i + 1 >= argc)
		return usage_error("as-user needs -- CMD");
	if (geteuid() != 0) {
		fprintf(stderr, "netprobe: as-user must run as root\n");
		return RC_AS_USER;
	}
	if (cgroup && !join_cgroup(cgroup))
		return RC_AS_USER;
	if (!drop_to((uid_t)uid, (gid_t)gid))
		return RC_AS_USER;

	execvp(argv[i + 1], &argv[i + 1]);
	fprintf(stderr, "netprobe: as-user: %s: %s\n", argv[i + 1], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

/* ---- cgroup-of -------------------------------------------------------------------------- */

static int cmd_cgroup_of(int argc, char **argv)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	unsigned long pid;
	bool found = false;
	FILE *f;

	if (argc != 2)
		return usage();
	if (strcmp(argv[1], "self") == 0)
		snprintf(path, sizeof(path), "/proc/self/cgroup");
	else if (parse_ulong(argv[1], 0x7fffffffUL, &pid) && pid > 0)
		snprintf(path, sizeof(path), "/proc/%lu/cgroup", pid);
	else
		return usage_error("not a pid: %s", argv[1]);

	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "netprobe: %s: %s\n", path, strerror(errno));
		return RC_ERROR;
	}
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			printf("%s\n", line + 3);
			found = true;
			break;
		}
	}
	free(line);
	fclose(f);
	if (!found) {
		fprintf(stderr, "netprobe: %s: no cgroup v2 entry\n", path);
		return RC_ERROR;
	}
	return RC_OK;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} commands[] = {
		{ "tcp-connect", cmd_tcp_connect }, { "tcp-listen", cmd_tcp_listen },
		{ "udp-send", cmd_udp_send },	    { "udp-recv", cmd_udp_recv },
		{ "socket", cmd_socket },	    { "as-user", cmd_as_user },
		{ "cgroup-of", cmd_cgroup_of },	    { "udp-connect", cmd_udp_connect },
	};

	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			int rc = commands[i].run(argc - 1, argv + 1);

			if (fflush(stdout) != 0 && rc == RC_OK)
				rc = RC_ERROR;
			return rc;
		}
	}
	return usage_error("unknown command: %s", argv[1]);
}
