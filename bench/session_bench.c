// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One open+close through the whole PAM stack, measured in-process:
 * pam_start, pam_open_session, pam_close_session, pam_end, N times, for a
 * stack with pam_cgbpf and for a pam_permit-only stack, interleaved in
 * rounds so that both see the same machine. Prints median and p99 of each.
 *
 * With CG2_MOUNT, FLOOR_CGROUP and FLOOR_BPFFS (empty directories the caller
 * made under the cgroup2 mount and bpffs), a
 * third cycle runs in each round: the kernel work a sandboxed session cannot
 * do without, done directly (mkdir the cgroup, 7 link creates + pins of
 * programs loaded once, move in and back, 7 unpins, rmdir), with the median
 * of each step, so that the module's added cost can be set against it.
 *
 *   session_bench CONFDIR SANDBOX_SERVICE PERMIT_SERVICE USER [N
 *                 [CG2_MOUNT FLOOR_CGROUP FLOOR_BPFFS]]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <security/pam_appl.h>

#include "../tests/helpers/null_conv.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* One full cycle; returns its duration in microseconds, or -1 on a PAM error. */
static double cycle(const char *confdir, const char *service, const char *user)
{
	struct pam_conv conv = { null_conv, NULL };
	pam_handle_t *pamh = NULL;
	double t0 = now_us();
	int r;

	r = pam_start_confdir(service, user, &conv, confdir, &pamh);
	if (r == PAM_SUCCESS)
		r = pam_open_session(pamh, 0);
	if (r == PAM_SUCCESS)
		r = pam_close_session(pamh, 0);
	if (pamh)
		pam_end(pamh, r);
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "session_bench: %s: %s\n", service, pam_strerror(NULL, r));
		return -1;
	}
	return now_us() - t0;
}

/* ---- the kernel floor -------------------------------------------------------------------- */

enum floor_step {
	STEP_MKDIR,
	STEP_LINKS,
	STEP_MOVE_IN,
	STEP_MOVE_BACK,
	STEP_UNPIN,
	STEP_RMDIR,
	STEP_COUNT
};

static const char *const step_name[STEP_COUNT] = {
	"mkdir cgroup + open", "7 link creates + pins", "move in",
	"move back",	       "7 unpins (detach)",	"rmdir cgroup",
};

/* ingress, egress, sock_create, and egress's early verdict at connect4/6 and sendmsg4/6. */
#define FLOOR_HOOKS 7

/* The pin names' hook parts, in that order. */
static const char *const hook[FLOOR_HOOKS] = { "ingress",  "egress",   "sock_create", "connect4",
					       "connect6", "sendmsg4", "sendmsg6" };

struct floor {
	char cg[4096];	       /* the per-cycle cgroup */
	char procs_in[4200];   /* its cgroup.procs */
	char procs_back[8300]; /* where this process came from */
	char pin[FLOOR_HOOKS][4200];
	char anchor_pin[FLOOR_HOOKS][4200];
	char anchor_cg[4096];
	int prog_fd[FLOOR_HOOKS];
	enum bpf_attach_type type[FLOOR_HOOKS];
};

/* The smallest program of each type: r0 = 1 (allow); exit. */
static int load_allow(enum bpf_prog_type type, enum bpf_attach_type expected)
{
	const struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 1 }, /* BPF_MOV64_IMM(R0, 1) */
		{ .code = 0x95 },			  /* BPF_EXIT_INSN() */
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = expected);

	return bpf_prog_load(type, "floor_allow", "GPL", insns, 2, &opts);
}

static int write_pid(const char *procs)
{
	char num[32];
	int fd, n, r = 0;

	fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(num, sizeof(num), "%d", (int)getpid());
	if (write(fd, num, (size_t)n) != n)
		r = -errno;
	close(fd);
	return r;
}

static int link_pin(const struct floor *f, int i, int cg_fd, const char *pin)
{
	int lfd = bpf_link_create(f->prog_fd[i], cg_fd, f->type[i], NULL);
	int r;

	if (lfd < 0)
		return lfd;
	r = bpf_obj_pin(lfd, pin) < 0 ? -errno : 0;
	close(lfd);
	return r;
}

/*
 * Loads the programs and attaches them to an anchor cgroup of the floor's own
 * for as long as it runs, as the module's anchor does, so that no cycle pays
 * the machine-wide switching on of a hook.
 */
static int floor_setup(struct floor *f, const char *mount, const char *cgdir, const char *bpffs)
{
	char origin[4096] = "", line[4096];
	FILE *pc;
	int cg_fd, r = 0;

	f->type[0] = BPF_CGROUP_INET_INGRESS;
	f->type[1] = BPF_CGROUP_INET_EGRESS;
	f->type[2] = BPF_CGROUP_INET_SOCK_CREATE;
	f->prog_fd[0] = load_allow(BPF_PROG_TYPE_CGROUP_SKB, f->type[0]);
	f->prog_fd[1] = load_allow(BPF_PROG_TYPE_CGROUP_SKB, f->type[1]);
	f->prog_fd[2] = load_allow(BPF_PROG_TYPE_CGROUP_SOCK, f->type[2]);
	f->type[3] = BPF_CGROUP_INET4_CONNECT;
	f->type[4] = BPF_CGROUP_INET6_CONNECT;
	f->type[5] = BPF_CGROUP_UDP4_SENDMSG;
	f->type[6] = BPF_CGROUP_UDP6_SENDMSG;
	for (int i = 3; i < FLOOR_HOOKS; i++)
		f->prog_fd[i] = load_allow(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, f->type[i]);
	for (int i = 0; i < FLOOR_HOOKS; i++)
		if (f->prog_fd[i] < 0)
			return f->prog_fd[i];
	snprintf(f->cg, sizeof(f->cg), "%s/s", cgdir);
	snprintf(f->procs_in, sizeof(f->procs_in), "%s/cgroup.procs", f->cg);
	snprintf(f->anchor_cg, sizeof(f->anchor_cg), "%s/anchor", cgdir);
	for (int i = 0; i < FLOOR_HOOKS; i++) {
		snprintf(f->pin[i], sizeof(f->pin[i]), "%s/s-%s", bpffs, hook[i]);
		snprintf(f->anchor_pin[i], sizeof(f->anchor_pin[i]), "%s/anchor-%s", bpffs,
			 hook[i]);
	}
	/* Where this process is: "0::/path" in /proc/self/cgroup, under cgdir's mount. */
	pc = fopen("/proc/self/cgroup", "re");
	if (!pc)
		return -errno;
	while (fgets(line, sizeof(line), pc))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(origin, sizeof(origin), "%s", line + 3);
		}
	fclose(pc);
	if (!origin[0])
		return -ENOENT;
	snprintf(f->procs_back, sizeof(f->procs_back), "%s%s/cgroup.procs", mount,
		 strcmp(origin, "/") ? origin : "");
	if (mkdir(f->anchor_cg, 0755) < 0)
		return -errno;
	cg_fd = open(f->anchor_cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return -errno;
	for (int i = 0; i < FLOOR_HOOKS && r == 0; i++)
		r = link_pin(f, i, cg_fd, f->anchor_pin[i]);
	close(cg_fd);
	return r;
}

static void floor_teardown(struct floor *f)
{
	for (int i = 0; i < FLOOR_HOOKS; i++) {
		unlink(f->pin[i]);
		unlink(f->anchor_pin[i]);
		if (f->prog_fd[i] >= 0)
			close(f->prog_fd[i]);
	}
	rmdir(f->cg);
	rmdir(f->anchor_cg);
}

/* One floor cycle, each step's duration in @t; returns 0 or a negative errno. */
static int floor_cycle(const struct floor *f, double *t)
{
	double t0 = now_us(), t1;
	int cg_fd, r = 0;

	if (mkdir(f->cg, 0755) < 0)
		return -errno;
	cg_fd = open(f->cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return -errno;
	t1 = now_us();
	t[STEP_MKDIR] = t1 - t0;
	for (int i = 0; i < FLOOR_HOOKS && r == 0; i++)
		r = link_pin(f, i, cg_fd, f->pin[i]);
	close(cg_fd);
	if (r < 0)
		return r;
	t0 = now_us();
	t[STEP_LINKS] = t0 - t1;
	r = write_pid(f->procs_in);
	if (r < 0)
		return r;
	t1 = now_us();
	t[STEP_MOVE_IN] = t1 - t0;
	r = write_pid(f->procs_back);
	if (r < 0)
		return r;
	t0 = now_us();
	t[STEP_MOVE_BACK] = t0 - t1;
	for (int i = 0; i < FLOOR_HOOKS; i++)
		if (unlink(f->pin[i]) < 0)
			return -errno;
	t1 = now_us();
	t[STEP_UNPIN] = t1 - t0;
	if (rmdir(f->cg) < 0)
		return -errno;
	t[STEP_RMDIR] = now_us() - t1;
	return 0;
}

/* ---- live sandboxes ----------------------------------------------------------------------- */

/*
 * What N other users' live sandboxes leave on the machine, made with direct
 * system calls in the module's own places: a cgroup under cgroup_root with
 * the 7 links, their pins in a directory of their own under bpffs, and a
 * ledger file in state_dir (empty: nothing reads another user's ledger at a
 * login). The uids are above any real one. Returns how many were made.
 */
#define LIVE_UID0 3000000u

static void live_path(char *buf, size_t size, const char *dir, uint32_t uid, const char *suffix)
{
	snprintf(buf, size, "%s/user-%u%s", dir, uid, suffix);
}

static size_t live_make(const struct floor *f, size_t n, const char *cg_root, const char *bpffs,
			const char *state)
{
	size_t made = 0;

	for (; made < n; made++) {
		uint32_t uid = LIVE_UID0 + (uint32_t)made;
		char cg[4200], dir[4200], pin[4400], ledger[4200];
		int cg_fd, r = 0, fd;

		live_path(cg, sizeof(cg), cg_root, uid, "");
		live_path(dir, sizeof(dir), bpffs, uid, "");
		live_path(ledger, sizeof(ledger), state, uid, ".ledger");
		if (mkdir(cg, 0755) < 0 || mkdir(dir, 0700) < 0)
			break;
		cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg_fd < 0)
			break;
		for (int i = 0; i < FLOOR_HOOKS && r == 0; i++) {
			snprintf(pin, sizeof(pin), "%s/%s-%d", dir, hook[i], i);
			r = link_pin(f, i, cg_fd, pin);
		}
		close(cg_fd);
		fd = open(ledger, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (r < 0 || fd < 0)
			break;
		close(fd);
	}
	return made;
}

static void live_remove(size_t n, const char *cg_root, const char *bpffs, const char *state)
{

	for (size_t k = 0; k <= n; k++) {
		uint32_t uid = LIVE_UID0 + (uint32_t)k;
		char path[4400], dir[4200];

		live_path(dir, sizeof(dir), bpffs, uid, "");
		for (int i = 0; i < FLOOR_HOOKS; i++) {
			snprintf(path, sizeof(path), "%s/%s-%d", dir, hook[i], i);
			unlink(path);
		}
		rmdir(dir);
		live_path(path, sizeof(path), cg_root, uid, "");
		rmdir(path);
		live_path(path, sizeof(path), state, uid, ".ledger");
		unlink(path);
	}
}

/* ---- statistics -------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-quantile of @v (sorted in place). */
static double pct(double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	qsort(v, n, sizeof(*v), cmp_double);
	return v[i < n ? i : n - 1];
}

int main(int argc, char **argv)
{
	const char *confdir, *sandbox, *permit, *user;
	size_t n = 500, warm = 20;
	double *a, *b, *fl, *step[STEP_COUNT];
	struct floor f = { .prog_fd = { -1, -1, -1, -1, -1, -1, -1 } };
	bool floor = argc > 8;
	double med_a, med_b, med_f = 0;
	int r;

	if (argc < 5) {
		fprintf(stderr,
			"usage: session_bench CONFDIR SANDBOX_SERVICE PERMIT_SERVICE USER "
			"[N [CG2_MOUNT FLOOR_CGROUP FLOOR_BPFFS [LIVE CG_ROOT_DIR BPFFS_DIR "
			"STATE_DIR]]]\n");
		return 64;
	}
	confdir = argv[1];
	sandbox = argv[2];
	permit = argv[3];
	user = argv[4];
	if (argc > 5)
		n = strtoul(argv[5], NULL, 10);
	if (n < 10)
		n = 10;
	a = calloc(n, sizeof(*a));
	b = calloc(n, sizeof(*b));
	fl = calloc(n, sizeof(*fl));
	for (int s = 0; s < STEP_COUNT; s++)
		step[s] = calloc(n, sizeof(*step[s]));
	for (int s = 0; s < STEP_COUNT; s++)
		if (!step[s])
			return 1;
	if (!a || !b || !fl)
		return 1;
	if (floor) {
		r = floor_setup(&f, argv[6], argv[7], argv[8]);
		if (r < 0) {
			fprintf(stderr, "session_bench: floor set-up in %s, %s: %s\n", argv[7],
				argv[8], strerror(-r));
			floor_teardown(&f);
			return 1;
		}
	}
	/* Warm-up: the first open loads the shared programs and the anchor. */
	for (size_t i = 0; i < warm; i++)
		if (cycle(confdir, sandbox, user) < 0 || cycle(confdir, permit, user) < 0)
			goto fail;
	for (size_t i = 0; i < n; i++) {
		a[i] = cycle(confdir, sandbox, user);
		b[i] = cycle(confdir, permit, user);
		if (a[i] < 0 || b[i] < 0)
			goto fail;
		if (floor) {
			double t[STEP_COUNT];

			r = floor_cycle(&f, t);
			if (r < 0) {
				fprintf(stderr, "session_bench: floor cycle: %s\n", strerror(-r));
				goto fail;
			}
			fl[i] = 0;
			for (int s = 0; s < STEP_COUNT; s++) {
				step[s][i] = t[s];
				fl[i] += t[s];
			}
		}
	}
	med_a = pct(a, n, 0.5);
	med_b = pct(b, n, 0.5);
	printf("session open+close, %zu iterations each, interleaved\n", n);
	printf("  %-34s median %8.1f us   p99 %8.1f us\n", "pam_permit only", med_b,
	       pct(b, n, 0.99));
	printf("  %-34s median %8.1f us   p99 %8.1f us\n", "pam_cgbpf (3 hooks, 7 links)", med_a,
	       pct(a, n, 0.99));
	printf("  ratio (median)                     %.2fx   (target <= 1.5x)\n", med_a / med_b);
	if (floor) {
		med_f = pct(fl, n, 0.5);
		printf("  %-34s median %8.1f us   p99 %8.1f us\n", "kernel floor (direct syscalls)",
		       med_f, pct(fl, n, 0.99));
		for (int s = 0; s < STEP_COUNT; s++)
			printf("    %-32s median %8.1f us\n", step_name[s], pct(step[s], n, 0.5));
		printf("  added by pam_cgbpf (median diff)   %.1f us = %.2fx the floor   (target "
		       "<= "
		       "2x)\n",
		       med_a - med_b, (med_a - med_b) / med_f);
	}
	if (floor && argc > 12) {
		size_t want = strtoul(argv[9], NULL, 10), made, m = n / 2 < 10 ? 10 : n / 2;
		double t0 = now_us(), med_live, med_live_b;

		made = live_make(&f, want, argv[10], argv[11], argv[12]);
		if (made < want) {
			fprintf(stderr, "session_bench: made %zu of %zu live sandboxes: %s\n", made,
				want, strerror(errno));
			live_remove(made, argv[10], argv[11], argv[12]);
			goto fail;
		}
		printf("with %zu other live sandboxes (%zu links; made in %.1f s), %zu "
		       "iterations\n",
		       made, made * FLOOR_HOOKS, (now_us() - t0) / 1e6, m);
		/*
		 * Live sandboxes are old ones: their ledger files are on disk and the
		 * kernel's deferred frees of their making are done. Without this the
		 * first rounds measure ext4's journal commit of thousands of new files.
		 */
		sync();
		sleep(2);
		for (size_t i = 0; i < m; i++) {
			double t[STEP_COUNT];

			a[i] = cycle(confdir, sandbox, user);
			b[i] = cycle(confdir, permit, user);
			if (a[i] < 0 || b[i] < 0 || floor_cycle(&f, t) < 0) {
				live_remove(made, argv[10], argv[11], argv[12]);
				goto fail;
			}
			fl[i] = 0;
			for (int s = 0; s < STEP_COUNT; s++)
				fl[i] += t[s];
		}
		live_remove(made, argv[10], argv[11], argv[12]);
		med_live = pct(a, m, 0.5);
		med_live_b = pct(b, m, 0.5);
		printf("  %-34s median %8.1f us   p99 %8.1f us\n", "pam_permit only", med_live_b,
		       pct(b, m, 0.99));
		printf("  %-34s median %8.1f us   p99 %8.1f us\n", "pam_cgbpf (3 hooks, 7 links)",
		       med_live, pct(a, m, 0.99));
		printf("  %-34s median %8.1f us   (%.1f us with none)\n",
		       "kernel floor (direct syscalls)", pct(fl, m, 0.5), med_f);
		printf("  added by pam_cgbpf                 %.1f us (%.1f us with none)\n",
		       med_live - med_live_b, med_a - med_b);
	}
	floor_teardown(&f);
	return 0;
fail:
	floor_teardown(&f);
	return 1;
}
