// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Verdicts of the built-in filter, run in the kernel (root only).
 *
 * Packet hooks: bpf_prog_test_run on crafted packets. For cgroup_skb the
 * kernel (net/bpf/test_run.c, bpf_prog_test_run_skb) expects data_in to start
 * with an Ethernet header: it sets skb->protocol with eth_type_trans() and
 * pulls the 14 bytes, so the program sees the IP packet at offset 0 and
 * skb->len is the IP length. The dummy socket of the run is allocated in the
 * caller's cgroup, which is what bpf_skb_cgroup_id() then reports.
 *
 * sock_create cannot be test-run: it is attached with a bpf_link to a
 * temporary cgroup, and a child that moved itself there calls socket(). The
 * early verdict (connect4/6, sendmsg4/6) likewise: the child calls connect()
 * and sendto() on loopback, and each verdict is checked against the egress
 * program's on the packets the call could send.
 *
 * Everything is pinned in a bpffs mounted for this test only, and every
 * cgroup is removed, whatever the outcome.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "filter_compile.h"
#include "filter_load.h"
#include "filter_rules.h"
#include "sysbpf.h"
#include "unit.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define DROP  0
#define ALLOW 1

static char bpffs[64];
static char cg_mount[256];
static int instance_seq;

/* ---- sysbpf_obj_pin, interposed so that a test can make the Nth pin fail ----------------- */

static int pin_fail_at; /* 0: never */
static int pin_calls;

int sysbpf_obj_pin(int fd, const char *pathname)
{
	union bpf_attr attr;

	if (pin_fail_at && ++pin_calls == pin_fail_at) {
		errno = ENOSPC;
		return -ENOSPC;
	}
	memset(&attr, 0, sizeof(attr));
	attr.pathname = (__u64)(unsigned long)pathname;
	attr.bpf_fd = (__u32)fd;
	if (syscall(__NR_bpf, BPF_OBJ_PIN, &attr, sizeof(attr)) < 0)
		return -errno;
	return 0;
}

/* ---- instances ------------------------------------------------------------------------------- */

struct inst {
	struct filter_image *img;
	char dir[128];
	int fd;
};

static int inst_load(enum cgbpf_hook hook, const struct rule_list *l, struct inst *in)
{
	struct cgbpf_error err = { { 0 } };
	int r;

	in->img = NULL;
	in->fd = -1;
	snprintf(in->dir, sizeof(in->dir), "%s/f%d", bpffs, ++instance_seq);
	r = filter_compile(hook, list_rules(l), l->n, "v.conf", &in->img, &err);
	if (r == 0)
		r = filter_get_shared(in->img, in->dir, &in->fd, &err);
	if (r < 0)
		printf("  load: %s\n", err.msg);
	return r;
}

static void inst_free(struct inst *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	filter_unpin_shared(in->dir);
	filter_image_free(in->img);
	in->img = NULL;
}

/* ---- packets ----------------------------------------------------------------------------- */

struct pkt {
	uint8_t b[1024];
	size_t len;
	size_t l3; /* offset of the IP header */
};

static void put(struct pkt *p, const void *data, size_t n)
{
	memcpy(p->b + p->len, data, n);
	p->len += n;
}

static void eth(struct pkt *p, uint16_t proto)
{
	struct ethhdr e;

	memset(&e, 0, sizeof(e));
	e.h_proto = htons(proto);
	p->len = 0;
	put(p, &e, sizeof(e));
	p->l3 = p->len;
}

static int has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_DCCP;
}

static void l4(struct pkt *p, uint8_t proto, uint16_t sport, uint16_t dport)
{
	uint8_t h[20];
	uint16_t v;

	memset(h, 0, sizeof(h));
	if (has_ports(proto)) {
		v = htons(sport);
		memcpy(h, &v, 2);
		v = htons(dport);
		memcpy(h + 2, &v, 2);
	}
	put(p, h, proto == IPPROTO_TCP ? 20 : 8);
	put(p, "payload!", 8);
}

static void ip4_hdr(struct pkt *p, const char *src, const char *dst, uint8_t proto, uint16_t frag,
		    unsigned int ihl)
{
	struct iphdr h;
	uint8_t nops[40];

	memset(&h, 0, sizeof(h));
	h.version = 4;
	h.ihl = ihl & 0xf;
	h.ttl = 64;
	h.protocol = proto;
	h.frag_off = htons(frag);
	inet_pton(AF_INET, src, &h.saddr);
	inet_pton(AF_INET, dst, &h.daddr);
	put(p, &h, sizeof(h));
	if (ihl > 5) {
		memset(nops, 1, sizeof(nops));
		put(p, nops, (ihl - 5) * 4);
	}
}

/* Stores a 16-bit field in network order at @off (the headers are not aligned). */
static void put16(struct pkt *p, size_t off, size_t value)
{
	uint16_t v = htons((uint16_t)value);

	memcpy(p->b + off, &v, sizeof(v));
}

static void fix_len4(struct pkt *p)
{
	put16(p, p->l3 + offsetof(struct iphdr, tot_len), p->len - p->l3);
}

/* An IPv4 packet; @frag is the frag_off field (MF 0x2000 | offset in 8-byte units). */
static void v4(struct pkt *p, const char *src, const char *dst, uint8_t proto, uint16_t sport,
	       uint16_t dport, uint16_t frag)
{
	eth(p, ETH_P_IP);
	ip4_hdr(p, src, dst, proto, frag, 5);
	/* A later fragment's payload looks like the ports, to catch reading them. */
	l4(p, proto, sport, dport);
	fix_len4(p);
}

#define FRAG_NONE 0xffff

/*
 * An IPv6 packet with the extension headers @ext (IPPROTO_HOPOPTS, _ROUTING,
 * _DSTOPTS, _AH, _FRAGMENT) before the L4 header of @proto. A fragment
 * header gets the offset @frag (in 8-byte units).
 */
static void v6(struct pkt *p, const char *src, const char *dst, const uint8_t *ext, size_t n_ext,
	       uint8_t proto, uint16_t sport, uint16_t dport, uint16_t frag)
{
	struct ipv6hdr h;
	uint8_t x[24];
	uint16_t fo;
	size_t i;

	eth(p, ETH_P_IPV6);
	memset(&h, 0, sizeof(h));
	h.version = 6;
	h.hop_limit = 64;
	h.nexthdr = n_ext ? ext[0] : proto;
	inet_pton(AF_INET6, src, &h.saddr);
	inet_pton(AF_INET6, dst, &h.daddr);
	put(p, &h, sizeof(h));
	for (i = 0; i < n_ext; i++) {
		memset(x, 0, sizeof(x));
		x[0] = i + 1 < n_ext ? ext[i + 1] : proto;
		if (ext[i] == IPPROTO_AH) {
			x[1] = 4; /* (4 + 2) * 4 = 24 bytes */
			put(p, x, 24);
		} else if (ext[i] == IPPROTO_FRAGMENT) {
			fo = htons((uint16_t)((frag == FRAG_NONE ? 0 : frag) << 3 | 1));
			memcpy(x + 2, &fo, 2);
			put(p, x, 8);
		} else {
			put(p, x, 8);
		}
	}
	l4(p, proto, sport, dport); /* after a later fragment header: payload looking like ports */
	put16(p, p->l3 + offsetof(struct ipv6hdr, payload_len), p->len - p->l3 - sizeof(h));
}

static int run(int fd, const struct pkt *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->b, .data_size_in = (__u32)p->len,
		    .repeat = 1);
	int r;

	r = bpf_prog_test_run_opts(fd, &opts);
	if (r < 0) {
		printf("  test run failed: %s\n", strerror(-r));
		return -1;
	}
	return (int)opts.retval;
}

/* Shorthands: verdict of a TCP/UDP/other packet. */
static int run4(int fd, const char *src, const char *dst, uint8_t proto, uint16_t sport,
		uint16_t dport)
{
	struct pkt p;

	v4(&p, src, dst, proto, sport, dport, 0);
	return run(fd, &p);
}

static int run6(int fd, const char *src, const char *dst, uint8_t proto, uint16_t sport,
		uint16_t dport)
{
	struct pkt p;

	v6(&p, src, dst, NULL, 0, proto, sport, dport, FRAG_NONE);
	return run(fd, &p);
}

/* ---- cgroups ---------------------------------------------------------------------------- */

static int find_cgroup2(void)
{
	char line[1024], dev[256], mnt[256], type[64];
	FILE *f = fopen("/proc/self/mounts", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %255s %63s", dev, mnt, type) == 3 &&
		    !strcmp(type, "cgroup2")) {
			snprintf(cg_mount, sizeof(cg_mount), "%s", mnt);
			break;
		}
	}
	fclose(f);
	return cg_mount[0] ? 0 : -ENOENT;
}

static uint64_t path_cgroup_id(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static uint64_t self_cgroup_id(void)
{
	char line[1024], path[1400];
	uint64_t id = 0;
	FILE *f = fopen("/proc/self/cgroup", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(path, sizeof(path), "%s%s", cg_mount, line + 3);
			id = path_cgroup_id(path);
		}
	}
	fclose(f);
	return id;
}

/* Cgroups made by this test, for the crash handler. */
static char made_cgroups[8][512];

static int cg_make(const char *name, char *path, size_t size)
{
	size_t i;

	snprintf(path, size, "%s/cgbpf-verdict-%d-%s", cg_mount, (int)getpid(), name);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	for (i = 0; i < sizeof(made_cgroups) / sizeof(made_cgroups[0]); i++) {
		if (!made_cgroups[i][0] || !strcmp(made_cgroups[i], path)) {
			snprintf(made_cgroups[i], sizeof(made_cgroups[i]), "%s", path);
			break;
		}
	}
	return 0;
}

static void cg_remove(const char *path)
{
	int i;

	for (i = 0; i < 50; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return;
		usleep(20000);
	}
	printf("  cannot remove cgroup %s: %s\n", path, strerror(errno));
}

/* In a child: move the calling process into cgroup @path. */
static int cg_enter(const char *path)
{
	char procs[512], pid[32];
	int fd, n, ok;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	ok = write(fd, pid, (size_t)n) == n;
	close(fd);
	return ok ? 0 : -EIO;
}

/* Runs @fn(arg) in a child inside cgroup @path; returns its exit status or -1. */
static int in_cgroup(const char *path, int (*fn)(void *), void *arg)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (cg_enter(path) < 0)
			_exit(100);
		_exit(fn(arg));
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* ---- the tests ----------------------------------------------------------------------------- */

static void test_no_rules_allow_everything(void)
{
	struct rule_list l = { .n = 0 };
	struct inst in;

	CHECK(inst_load(HOOK_INGRESS, &l, &in) == 0);
	CHECK(run4(in.fd, "1.2.3.4", "5.6.7.8", IPPROTO_TCP, 1, 2) == ALLOW);
	CHECK(run6(in.fd, "2001:db8::1", "2001:db8::2", IPPROTO_UDP, 1, 2) == ALLOW);
	inst_free(&in);
}

static void test_bare_deny(void)
{
	struct rule_list l = { .n = 0 };
	struct inst in;
	struct pkt p;

	list_add(&l, ACT_DENY);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	CHECK(run4(in.fd, "1.2.3.4", "5.6.7.8", IPPROTO_TCP, 1, 2) == DROP);
	CHECK(run4(in.fd, "1.2.3.4", "5.6.7.8", IPPROTO_ICMP, 0, 0) == DROP);
	CHECK(run6(in.fd, "2001:db8::1", "2001:db8::2", IPPROTO_UDP, 1, 2) == DROP);
	CHECK(run6(in.fd, "2001:db8::1", "2001:db8::2", IPPROTO_ICMPV6, 0, 0) == DROP);
	/* Not IP: not ours to judge. */
	eth(&p, ETH_P_ARP);
	put(&p, "0123456789012345678901234567", 28);
	CHECK(run(in.fd, &p) == ALLOW);
	inst_free(&in);
	list_clear(&l);
}

static void test_daddr(void)
{
	struct rule_list l = { .n = 0 };
	struct inst in;
	struct rule *r;

	r = list_add(&l, ACT_ALLOW);
	rule_daddr(r, "10.0.0.0/8");
	rule_daddr(r, "192.168.1.7");
	rule_daddr(r, "2001:db8::/32");
	list_add(&l, ACT_DENY);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	CHECK(run4(in.fd, "9.9.9.9", "10.1.2.3", IPPROTO_TCP, 1000, 80) == ALLOW);
	CHECK(run4(in.fd, "9.9.9.9", "10.255.255.255", IPPROTO_UDP, 1000, 53) == ALLOW);
	CHECK(run4(in.fd, "9.9.9.9", "11.0.0.1", IPPROTO_TCP, 1000, 80) == DROP);
	CHECK(run4(in.fd, "9.9.9.9", "192.168.1.7", IPPROTO_ICMP, 0, 0) == ALLOW);
	CHECK(run4(in.fd, "9.9.9.9", "192.168.1.8", IPPROTO_ICMP, 0, 0) == DROP);
	/* The source is not the destination. */
	CHECK(run4(in.fd, "10.1.2.3", "11.0.0.1", IPPROTO_TCP, 1000, 80) == DROP);
	CHECK(run6(in.fd, "2001:db9::1", "2001:db8:ffff::1", IPPROTO_TCP, 1000, 80) == ALLOW);
	CHECK(run6(in.fd, "2001:db8::1", "2001:db9::1", IPPROTO_TCP, 1000, 80) == DROP);
	/* An IPv4 prefix never matches IPv6, nor the other way round. */
	CHECK(run6(in.fd, "::1", "::a01:203", IPPROTO_TCP, 1000, 80) == DROP);
	inst_free(&in);
	list_clear(&l);
}

static void test_saddr(void)
{
	struct rule_list l = { .n = 0 };
	struct inst in;
	struct rule *r;

	r = list_add(&l, ACT_DENY);
	rule_saddr(r, "192.168.1.0/24");
	rule_saddr(r, "fd00::/8");
	CHECK(inst_load(HOOK_INGRESS, &l, &in) == 0);
	CHECK(run4(in.fd, "192.168.1.5", "10.0.0.1", IPPROTO_TCP, 22, 40000) == DROP);
	CHECK(run4(in.fd, "192.168.2.5", "10.0.0.1", IPPROTO_TCP, 22, 40000) == ALLOW);
	CHECK(run4(in.fd, "10.0.0.1", "192.168.1.5", IPPROTO_TCP, 22, 40000) == ALLOW);
	CHECK(run6(in.fd, "fd12::1", "2001:db8::1", IPPROTO_UDP, 53, 40000) == DROP);
	CHECK(run6(in.fd, "fe80::1", "2001:db8::1", IPPROTO_UDP, 53, 40000) == ALLOW);
	inst_free(&in);
	list_clear(&l);
}

static void test_ports_and_proto(void)
{
	struct rule_list l = { .n = 0 };
	struct inst in;
	struct rule *r;

	r = list_add(&l, ACT_ALLOW); /* 0: dport=22,443 proto=tcp */
	rule_dport(r, 22, 22);
	rule_dport(r, 443, 443);
	rule_proto(r, IPPROTO_TCP);
	rule_dport(list_add(&l, ACT_DENY), 1000, 2000); /* 1 */
	rule_sport(list_add(&l, ACT_ALLOW), 53, 53);	/* 2 */
	r = list_add(&l, ACT_ALLOW);			/* 3: proto=udp dport=60000-65535 */
	rule_proto(r, IPPROTO_UDP);
	rule_dport(r, 60000, 65535);
	list_add(&l, ACT_DENY); /* 4 */
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);

	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 40000, 22) == ALLOW);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 40000, 443) == ALLOW);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 40000, 23) == DROP);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_UDP, 40000, 22) == DROP);
	CHECK(run6(in.fd, "2001:db8::1", "2001:db8::2", IPPROTO_TCP, 40000, 443) == ALLOW);
	CHECK(run6(in.fd, "2001:db8::1", "2001:db8::2", IPPROTO_SCTP, 40000, 22) == DROP);
	/* range edges */
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 53, 999) == ALLOW);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 53, 1000) == DROP);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 53, 2000) == DROP);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 53, 2001) == ALLOW);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_UDP, 52, 2001) == DROP);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_UDP, 54, 2001) == DROP);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_UDP, 5, 59999) == DROP);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_UDP, 5, 60000) == ALLOW);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_UDP, 5, 65535) == ALLOW);
	CHECK(run6(in.fd, "::1", "::2", IPPROTO_UDPLITE, 5, 65535) == DROP);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 0, 0) == DROP);
	inst_free(&in);
	list_clear(&l);

	/* proto by number, ICMP and ICMPv6 */
	rule_proto(list_add(&l, ACT_DENY), IPPROTO_ICMP);
	rule_proto(list_add(&l, ACT_DENY), IPPROTO_ICMPV6);
	rule_proto(list_add(&l, ACT_DENY), 47);
	CHECK(inst_load(HOOK_INGRESS, &l, &in) == 0);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_ICMP, 0, 0) == DROP);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", 47, 0, 0) == DROP);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1, 2) == ALLOW);
	CHECK(run6(in.fd, "::1", "::2", IPPROTO_ICMPV6, 0, 0) == DROP);
	CHECK(run6(in.fd, "::1", "::2", IPPROTO_UDP, 1, 2) == ALLOW);
	inst_free(&in);
	list_clear(&l);
}

static void test_first_match_wins(void)
{
	struct rule_list l = { .n = 0 };
	struct inst in;

	rule_daddr(list_add(&l, ACT_ALLOW), "10.0.0.0/8");
	rule_daddr(list_add(&l, ACT_DENY), "10.1.0.0/16");
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	CHECK(run4(in.fd, "1.1.1.1", "10.1.1.1", IPPROTO_TCP, 1, 2) == ALLOW);
	inst_free(&in);
	list_clear(&l);

	rule_daddr(list_add(&l, ACT_DENY), "10.1.0.0/16");
	rule_daddr(list_add(&l, ACT_ALLOW), "10.0.0.0/8");
	list_add(&l, ACT_DENY);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	CHECK(run4(in.fd, "1.1.1.1", "10.1.1.1", IPPROTO_TCP, 1, 2) == DROP);
	CHECK(run4(in.fd, "1.1.1.1", "10.2.1.1", IPPROTO_TCP, 1, 2) == ALLOW);
	CHECK(run4(in.fd, "1.1.1.1", "11.2.1.1", IPPROTO_TCP, 1, 2) == DROP);
	inst_free(&in);
	list_clear(&l);

	/* A rule matches only when all its matchers do; the 200th rule decides. */
	{
		size_t i;
		struct rule *r;

		for (i = 0; i < 199; i++) {
			r = list_add(&l, ACT_DENY);
			rule_dport(r, (unsigned int)(1000 + i), (unsigned int)(1000 + i));
			rule_proto(r, IPPROTO_UDP);
		}
		r = list_add(&l, ACT_ALLOW);
		rule_daddr(r, "10.0.0.0/8");
		rule_dport(r, 1100, 1100);
		list_add(&l, ACT_DENY);
		CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
		CHECK(run4(in.fd, "1.1.1.1", "10.1.1.1", IPPROTO_UDP, 1, 1100) == DROP);
		CHECK(run4(in.fd, "1.1.1.1", "10.1.1.1", IPPROTO_TCP, 1, 1100) == ALLOW);
		CHECK(run4(in.fd, "1.1.1.1", "11.1.1.1", IPPROTO_TCP, 1, 1100) == DROP);
		CHECK(run4(in.fd, "1.1.1.1", "10.1.1.1", IPPROTO_TCP, 1, 1101) == DROP);
		inst_free(&in);
		list_clear(&l);
	}
}

static void test_v4_mapped_policy_matches_ipv4(void)
{
	struct rule_list l = { .n = 0 };
	struct inst in;

	/* As the parser would hand it over (already IPv4), and as written (IPv6). */
	rule_daddr(list_add(&l, ACT_DENY), "::ffff:10.0.0.0/104");
	rule_daddr(list_add(&l, ACT_DENY), "172.16.0.0/12");
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	CHECK(run4(in.fd, "1.1.1.1", "10.2.3.4", IPPROTO_TCP, 1, 2) == DROP);
	CHECK(run4(in.fd, "1.1.1.1", "172.17.3.4", IPPROTO_TCP, 1, 2) == DROP);
	CHECK(run4(in.fd, "1.1.1.1", "11.2.3.4", IPPROTO_TCP, 1, 2) == ALLOW);
	inst_free(&in);
	list_clear(&l);
}

static void test_portless_packets_never_match_ports(void)
{
	struct rule_list l = { .n = 0 };
	struct inst in;
	struct rule *r;

	rule_dport(list_add(&l, ACT_DENY), 0, 65535);
	rule_sport(list_add(&l, ACT_DENY), 0, 65535);
	r = list_add(&l, ACT_DENY);
	rule_proto(r, IPPROTO_ICMP);
	rule_dport(r, 0, 0);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_ICMP, 0, 0) == ALLOW);
	CHECK(run6(in.fd, "::1", "::2", IPPROTO_ICMPV6, 0, 0) == ALLOW);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_ESP, 0, 0) == ALLOW);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", 47, 0, 0) == ALLOW);
	CHECK(run4(in.fd, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 0, 0) == DROP);
	CHECK(run6(in.fd, "::1", "::2", IPPROTO_UDP, 7, 7) == DROP);
	CHECK(run6(in.fd, "::1", "::2", IPPROTO_DCCP, 7, 7) == DROP);
	inst_free(&in);
	list_clear(&l);
}

static void test_ipv4_fragments(void)
{
	struct rule_list l = { .n = 0 };
	struct inst in;
	struct pkt p;

	rule_dport(list_add(&l, ACT_DENY), 80, 80);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	v4(&p, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1, 80, 0x2000); /* first fragment, MF */
	CHECK(run(in.fd, &p) == DROP);
	v4(&p, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1, 80, 0x2000 | 185); /* later, MF */
	CHECK(run(in.fd, &p) == ALLOW);
	v4(&p, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1, 80, 185); /* last */
	CHECK(run(in.fd, &p) == ALLOW);
	inst_free(&in);
	list_clear(&l);

	rule_proto(list_add(&l, ACT_DENY), IPPROTO_TCP);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	v4(&p, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1, 80, 0x2000 | 185);
	CHECK(run(in.fd, &p) == DROP);
	v4(&p, "1.1.1.1", "2.2.2.2", IPPROTO_UDP, 1, 80, 0x2000 | 185);
	CHECK(run(in.fd, &p) == ALLOW);
	inst_free(&in);
	list_clear(&l);
}

static void test_ipv6_extension_headers(void)
{
	static const uint8_t chain4[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS,
					  IPPROTO_AH };
	static const uint8_t frag[] = { IPPROTO_HOPOPTS, IPPROTO_FRAGMENT };
	uint8_t chain[9];
	struct rule_list l = { .n = 0 };
	struct inst in;
	struct pkt p;
	size_t i;

	for (i = 0; i < 9; i++)
		chain[i] = IPPROTO_DSTOPTS;
	rule_dport(list_add(&l, ACT_DENY), 80, 80);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	v6(&p, "::1", "::2", chain4, 4, IPPROTO_TCP, 1, 80, FRAG_NONE);
	CHECK(run(in.fd, &p) == DROP);
	v6(&p, "::1", "::2", chain4, 4, IPPROTO_TCP, 1, 81, FRAG_NONE);
	CHECK(run(in.fd, &p) == ALLOW);
	v6(&p, "::1", "::2", chain, 8, IPPROTO_UDP, 1, 80, FRAG_NONE); /* 8: still found */
	CHECK(run(in.fd, &p) == DROP);
	v6(&p, "::1", "::2", chain, 8, IPPROTO_UDP, 1, 81, FRAG_NONE);
	CHECK(run(in.fd, &p) == ALLOW);
	/* 9: the protocol cannot be found and a port matcher needs it */
	v6(&p, "::1", "::2", chain, 9, IPPROTO_UDP, 1, 81, FRAG_NONE);
	CHECK(run(in.fd, &p) == DROP);
	/* fragment header: the first fragment has ports, a later one has not */
	v6(&p, "::1", "::2", frag, 2, IPPROTO_TCP, 1, 80, 0);
	CHECK(run(in.fd, &p) == DROP);
	v6(&p, "::1", "::2", frag, 2, IPPROTO_TCP, 1, 80, 100);
	CHECK(run(in.fd, &p) == ALLOW);
	inst_free(&in);
	list_clear(&l);

	/* proto still matches a later fragment, and through the chain */
	rule_proto(list_add(&l, ACT_DENY), IPPROTO_TCP);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	v6(&p, "::1", "::2", frag, 2, IPPROTO_TCP, 1, 80, 100);
	CHECK(run(in.fd, &p) == DROP);
	v6(&p, "::1", "::2", frag, 2, IPPROTO_UDP, 1, 80, 100);
	CHECK(run(in.fd, &p) == ALLOW);
	v6(&p, "::1", "::2", chain4, 4, IPPROTO_TCP, 1, 80, FRAG_NONE);
	CHECK(run(in.fd, &p) == DROP);
	v6(&p, "::1", "::2", chain4, 4, IPPROTO_ICMPV6, 0, 0, FRAG_NONE);
	CHECK(run(in.fd, &p) == ALLOW);
	inst_free(&in);
	list_clear(&l);

	/* with only address matchers, a chain too long is judged by its addresses */
	rule_daddr(list_add(&l, ACT_DENY), "2001:db8::/32");
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	v6(&p, "::1", "2001:db9::2", chain, 9, IPPROTO_UDP, 1, 81, FRAG_NONE);
	CHECK(run(in.fd, &p) == ALLOW);
	v6(&p, "::1", "2001:db8::2", chain, 9, IPPROTO_UDP, 1, 81, FRAG_NONE);
	CHECK(run(in.fd, &p) == DROP);
	inst_free(&in);
	list_clear(&l);
}

/* Verdict of @p under a one-rule list (@kind: 0 bare allow, 1 daddr, 2 proto, 3 dport). */
static int malformed_verdict(int kind, const struct pkt *p)
{
	struct rule_list l = { .n = 0 };
	struct rule *r;
	struct inst in;
	int v = -1;

	r = list_add(&l, ACT_ALLOW);
	if (kind == 1)
		rule_daddr(r, "0.0.0.0/0");
	else if (kind == 2)
		rule_proto(r, IPPROTO_TCP);
	else if (kind == 3)
		rule_dport(r, 0, 65535);
	if (inst_load(HOOK_INGRESS, &l, &in) == 0)
		v = run(in.fd, p);
	inst_free(&in);
	list_clear(&l);
	return v;
}

static void test_malformed_packets(void)
{
	struct pkt p;

	/*
	 * An IP header the program cannot use. (A packet shorter than the IP
	 * header cannot be fed in: the kernel's test run refuses it, as the IP
	 * stack does; an invalid version or IHL takes the same path.)
	 * Only a list without matchers can judge it.
	 */
	v4(&p, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1, 80, 0);
	p.b[p.l3] = 0x44; /* IHL 4 */
	CHECK(malformed_verdict(0, &p) == ALLOW);
	CHECK(malformed_verdict(1, &p) == DROP);
	CHECK(malformed_verdict(2, &p) == DROP);
	CHECK(malformed_verdict(3, &p) == DROP);
	p.b[p.l3] = 0x65; /* version 6 in an IPv4 packet */
	CHECK(malformed_verdict(0, &p) == ALLOW);
	CHECK(malformed_verdict(2, &p) == DROP);
	v6(&p, "::1", "::2", NULL, 0, IPPROTO_TCP, 1, 80, FRAG_NONE);
	p.b[p.l3] = 0x45; /* version 4 in an IPv6 packet */
	CHECK(malformed_verdict(0, &p) == ALLOW);
	CHECK(malformed_verdict(1, &p) == DROP);
	CHECK(malformed_verdict(3, &p) == DROP);
	/* TCP header cut short: only port matchers need it */
	v4(&p, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1, 80, 0);
	p.len = p.l3 + 20 + 3;
	CHECK(malformed_verdict(0, &p) == ALLOW);
	CHECK(malformed_verdict(1, &p) == ALLOW);
	CHECK(malformed_verdict(2, &p) == ALLOW);
	CHECK(malformed_verdict(3, &p) == DROP);
	/* IHL pointing past the end */
	v4(&p, "1.1.1.1", "2.2.2.2", IPPROTO_UDP, 1, 80, 0);
	p.b[p.l3] = 0x4f;
	CHECK(malformed_verdict(3, &p) == DROP);
	CHECK(malformed_verdict(1, &p) == ALLOW);
	/* IPv4 options are skipped, not mistaken for ports */
	eth(&p, ETH_P_IP);
	ip4_hdr(&p, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 0, 7);
	l4(&p, IPPROTO_TCP, 1, 80);
	fix_len4(&p);
	CHECK(malformed_verdict(3, &p) == ALLOW);
	{
		struct rule_list l = { .n = 0 };
		struct inst in;

		rule_dport(list_add(&l, ACT_DENY), 80, 80);
		CHECK(inst_load(HOOK_INGRESS, &l, &in) == 0);
		CHECK(run(in.fd, &p) == DROP);
		inst_free(&in);
		list_clear(&l);
	}
	/* IPv6 extension header cut short: the protocol is unknown */
	{
		static const uint8_t hop[] = { IPPROTO_HOPOPTS };

		v6(&p, "::1", "::2", hop, 1, IPPROTO_TCP, 1, 80, FRAG_NONE);
		p.len = p.l3 + 40 + 1;
		CHECK(malformed_verdict(0, &p) == ALLOW);
		CHECK(malformed_verdict(2, &p) == DROP);
		CHECK(malformed_verdict(3, &p) == DROP);
	}
}

/*
 * The counters are per-CPU cgroup storage: the kernel makes them for each
 * cgroup the program is attached to, and frees them with that cgroup. So they
 * are shown with real traffic from a real cgroup (a test run counts into
 * storage of its own, which it frees).
 */
struct sends {
	int port; /* UDP to 127.0.0.1:port, 5 bytes each */
	int n;
	int want; /* 0: sent; EPERM: refused by the filter */
};

static int send_n_udp(void *arg)
{
	const struct sends *w = arg;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, i, bad = 0;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return 2;
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	sin.sin_port = htons((uint16_t)w->port);
	for (i = 0; i < w->n; i++) {
		ssize_t n = sendto(fd, "hello", 5, 0, (struct sockaddr *)&sin, sizeof(sin));

		if (w->want ? !(n < 0 && errno == w->want) : n != 5)
			bad++;
	}
	close(fd);
	return bad ? 10 : 0;
}

/* Attaches @in's egress program to a new cgroup @name; the link fd, or -1. */
static int egress_cgroup(const struct inst *in, const char *name, char *cg, size_t size)
{
	int cg_fd, link = -1;

	if (in->fd < 0 || cg_make(name, cg, size) < 0)
		return -1;
	cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd >= 0)
		link = bpf_link_create(in->fd, cg_fd, BPF_CGROUP_INET_EGRESS, NULL);
	if (cg_fd >= 0)
		close(cg_fd);
	return link;
}

/* Whether @id's counters are gone within 5 s (the kernel frees a removed cgroup's late). */
static bool counters_freed(const struct inst *in, uint64_t id)
{
	struct timespec ts = { 0, 10 * 1000000L };
	struct filter_counters c;

	for (int i = 0; i < 500; i++) {
		if (filter_read_counters(in->dir, id, &c) == -ENOENT)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static void test_counters(void)
{
	struct rule_list l = { .n = 0 };
	struct filter_counters c;
	struct sends pass = { 39001, 3, 0 }, drop = { 39002, 2, EPERM };
	struct inst in;
	uint64_t id = 0;
	char cg[512] = "";
	int link;

	rule_dport(list_add(&l, ACT_ALLOW), 39001, 39001);
	list_add(&l, ACT_DENY)->line = 42;
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	link = egress_cgroup(&in, "count", cg, sizeof(cg));
	CHECK(link >= 0);
	if (link >= 0) {
		id = path_cgroup_id(cg);
		CHECK(filter_read_counters(in.dir, id, &c) == 0);
		CHECK(c.pass_pkts == 0 && c.drop_pkts == 0 && c.hits[0] == 0);
		CHECK(in_cgroup(cg, send_n_udp, &pass) == 0);
		CHECK(in_cgroup(cg, send_n_udp, &drop) == 0);
		CHECK(filter_read_counters(in.dir, id, &c) == 0);
		CHECK(c.n_rules == 2);
		CHECK(c.pass_pkts == 3 && c.pass_bytes == 3 * (20 + 8 + 5));
		CHECK(c.drop_pkts == 2 && c.drop_bytes == 2 * (20 + 8 + 5));
		CHECK(c.hits[0] == 3 && c.hits[1] == 2 && c.hits[2] == 0);
		CHECK(filter_image_rule_line(in.img, 1) == 42);
		/* Detached, the counters stay with the cgroup; removed, they go with it. */
		close(link);
		CHECK(filter_read_counters(in.dir, id, &c) == 0 && c.pass_pkts == 3);
	}
	cg_remove(cg);
	if (id)
		CHECK(counters_freed(&in, id));
	/* A cgroup it was never attached to has none. */
	CHECK(filter_read_counters(in.dir, self_cgroup_id(), &c) == -ENOENT);
	inst_free(&in);
	list_clear(&l);
}

static void test_counters_per_cgroup(void)
{
	struct rule_list l = { .n = 0 };
	struct filter_counters c;
	struct sends ra = { 53, 2, EPERM }, rb = { 53, 5, EPERM };
	char a[512] = "", b[512] = "";
	uint64_t ida = 0;
	struct inst in;
	int la, lb;

	rule_dport(list_add(&l, ACT_DENY), 53, 53);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	la = egress_cgroup(&in, "a", a, sizeof(a));
	lb = egress_cgroup(&in, "b", b, sizeof(b));
	CHECK(la >= 0 && lb >= 0);
	if (la >= 0 && lb >= 0) {
		ida = path_cgroup_id(a);
		CHECK(in_cgroup(a, send_n_udp, &ra) == 0);
		CHECK(in_cgroup(b, send_n_udp, &rb) == 0);
		CHECK(filter_read_counters(in.dir, ida, &c) == 0);
		CHECK(c.drop_pkts == 2 && c.hits[0] == 2 && c.pass_pkts == 0);
		CHECK(filter_read_counters(in.dir, path_cgroup_id(b), &c) == 0);
		CHECK(c.drop_pkts == 5 && c.hits[0] == 5);
		close(la);
		la = -1;
		cg_remove(a);
		CHECK(counters_freed(&in, ida));
		CHECK(filter_read_counters(in.dir, path_cgroup_id(b), &c) == 0 && c.drop_pkts == 5);
	}
	if (la >= 0)
		close(la);
	if (lb >= 0)
		close(lb);
	cg_remove(a);
	cg_remove(b);
	inst_free(&in);
	list_clear(&l);
}

/* ---- sock_create, in a real cgroup ------------------------------------------------------------
 */

struct sock_case {
	int family, type, proto;
	int want; /* 0, or the errno socket() must fail with */
};

static const struct sock_case sock_cases[] = {
	{ AF_INET, SOCK_STREAM, 0, EPERM }, /* proto=tcp matches protocol 0 */
	{ AF_INET, SOCK_STREAM, IPPROTO_TCP, EPERM },
	{ AF_INET6, SOCK_STREAM, 0, 0 },    /* the tcp rule is family=inet */
	{ AF_INET6, SOCK_DGRAM, 0, EPERM }, /* family=inet6 proto=udp */
	{ AF_INET, SOCK_DGRAM, 0, 0 },
	{ AF_INET, SOCK_DGRAM, IPPROTO_ICMP, 0 },   /* ping socket (if allowed by sysctl) */
	{ AF_INET, SOCK_RAW, IPPROTO_ICMP, EPERM }, /* type=raw */
	{ AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, EPERM },
	{ AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, EPERM },
	{ AF_UNIX, SOCK_STREAM, 0, 0 },			/* not an inet socket: no hook */
	{ AF_INET, SOCK_STREAM, IPPROTO_MPTCP, EPERM }, /* MPTCP is TCP on the wire */
};

#define N_SOCK_CASES (sizeof(sock_cases) / sizeof(sock_cases[0]))

static int sock_results_fd = -1;

static int try_sockets(void *arg)
{
	int res[N_SOCK_CASES];
	size_t i;
	int fd;

	(void)arg;
	for (i = 0; i < N_SOCK_CASES; i++) {
		fd = socket(sock_cases[i].family, sock_cases[i].type, sock_cases[i].proto);
		res[i] = fd >= 0 ? 0 : errno;
		if (fd >= 0)
			close(fd);
	}
	return write(sock_results_fd, res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 : 1;
}

static void test_sock_create(void)
{
	struct rule_list l = { .n = 0 };
	struct filter_counters c;
	int res[N_SOCK_CASES], pipefd[2] = { -1, -1 }, cg_fd = -1, link = -1, n_deny = 0;
	char cg[512];
	struct inst in;
	struct rule *r;
	size_t i;

	rule_type(list_add(&l, ACT_DENY), TYPE_RAW);
	r = list_add(&l, ACT_DENY);
	rule_family(r, FAMILY_INET6);
	rule_proto(r, IPPROTO_UDP);
	r = list_add(&l, ACT_DENY);
	rule_family(r, FAMILY_INET);
	rule_proto(r, IPPROTO_TCP);
	list_add(&l, ACT_ALLOW);
	CHECK(inst_load(HOOK_SOCK_CREATE, &l, &in) == 0);
	CHECK(cg_make("sock", cg, sizeof(cg)) == 0);
	cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(cg_fd >= 0);
	if (in.fd < 0 || cg_fd < 0)
		goto out;
	link = bpf_link_create(in.fd, cg_fd, BPF_CGROUP_INET_SOCK_CREATE, NULL);
	CHECK(link >= 0);
	CHECK(pipe2(pipefd, O_CLOEXEC) == 0);
	if (link < 0 || pipefd[0] < 0)
		goto out;
	sock_results_fd = pipefd[1];
	CHECK(in_cgroup(cg, try_sockets, NULL) == 0);
	CHECK(read(pipefd[0], res, sizeof(res)) == (ssize_t)sizeof(res));
	for (i = 0; i < N_SOCK_CASES; i++) {
		const struct sock_case *k = &sock_cases[i];

		/* What the kernel refuses before the hook says nothing about us. */
		if (k->want == 0 && (res[i] == EACCES || res[i] == EPROTONOSUPPORT))
			continue;
		if (k->proto == IPPROTO_MPTCP &&
		    (res[i] == EPROTONOSUPPORT || res[i] == ENOPROTOOPT))
			continue;
		if (res[i] != k->want)
			printf("  socket(%d, %d, %d): got %s, want %s\n", k->family, k->type,
			       k->proto, strerror(res[i]), strerror(k->want));
		CHECK(res[i] == k->want);
		if (res[i] == EPERM)
			n_deny++;
	}
	CHECK(filter_read_counters(in.dir, path_cgroup_id(cg), &c) == 0);
	CHECK(c.drop_pkts == (uint64_t)n_deny && c.drop_bytes == 0);
	CHECK(c.hits[0] == 2);
	CHECK(c.pass_pkts >= 2);
out:
	if (link >= 0)
		close(link);
	if (cg_fd >= 0)
		close(cg_fd);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	cg_remove(cg);
	inst_free(&in);
	list_clear(&l);
}

/* ---- the real egress path ------------------------------------------------------------------- */

static int send_udp(void *arg)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, ok = 0;

	(void)arg;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return 2;
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	sin.sin_port = htons(9);
	if (sendto(fd, "hello", 5, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0 && errno == EPERM)
		ok |= 1;
	sin.sin_port = htons(10);
	if (sendto(fd, "hello", 5, 0, (struct sockaddr *)&sin, sizeof(sin)) == 5)
		ok |= 2;
	close(fd);
	return ok == 3 ? 0 : 10 + ok;
}

static void test_real_egress(void)
{
	struct rule_list l = { .n = 0 };
	struct filter_counters c;
	int cg_fd = -1, link = -1;
	char cg[512];
	struct inst in;
	struct rule *r;

	r = list_add(&l, ACT_DENY);
	rule_daddr(r, "127.0.0.0/8");
	rule_dport(r, 9, 9);
	rule_proto(r, IPPROTO_UDP);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	CHECK(cg_make("egress", cg, sizeof(cg)) == 0);
	cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(cg_fd >= 0);
	if (in.fd >= 0 && cg_fd >= 0)
		link = bpf_link_create(in.fd, cg_fd, BPF_CGROUP_INET_EGRESS, NULL);
	CHECK(link >= 0);
	if (link >= 0) {
		CHECK(in_cgroup(cg, send_udp, NULL) == 0);
		CHECK(filter_read_counters(in.dir, path_cgroup_id(cg), &c) == 0);
		CHECK(c.drop_pkts == 1 && c.drop_bytes == 20 + 8 + 5 && c.hits[0] == 1);
		CHECK(c.pass_pkts == 1 && c.pass_bytes == 20 + 8 + 5);
		close(link);
	}
	if (cg_fd >= 0)
		close(cg_fd);
	cg_remove(cg);
	inst_free(&in);
	list_clear(&l);
}

/* ---- sharing, pins, errors --------------------------------------------------------------------
 */

static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

static int count_fds(void)
{
	char path[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (access(path, F_OK) == 0)
			n++;
	}
	return n;
}

static int dir_entries(const char *dir)
{
	char cmd[256];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' 2>/dev/null | wc -l", dir);
	f = popen(cmd, "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

static void test_sharing_and_pins(void)
{
	struct cgbpf_error err = { { 0 } };
	struct rule_list l = { .n = 0 }, l2 = { .n = 0 };
	struct filter_image *other = NULL;
	char path[256];
	struct inst in;
	int fd = -1, fds;
	uint32_t id;

	fds = count_fds();
	rule_daddr(list_add(&l, ACT_ALLOW), "10.0.0.0/8");
	list_add(&l, ACT_DENY);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	id = prog_id(in.fd);
	CHECK(id != 0);
	/* 10 maps and the program */
	CHECK(dir_entries(in.dir) == 11);

	/* The same image again: the pinned program. */
	CHECK(filter_get_shared(in.img, in.dir, &fd, &err) == 0);
	CHECK(fd >= 0 && prog_id(fd) == id);
	if (fd >= 0)
		close(fd);
	fd = -1;

	/* Another image in the same directory is refused, and nothing changes. */
	rule_daddr(list_add(&l2, ACT_ALLOW), "10.0.0.0/9");
	CHECK(filter_compile(HOOK_EGRESS, list_rules(&l2), l2.n, "v.conf", &other, &err) == 0);
	memset(&err, 0, sizeof(err));
	CHECK(other && filter_get_shared(other, in.dir, &fd, &err) == -EEXIST && fd == -1);
	CHECK_STR_CONTAINS(err.msg, "another filter image");

	/* A partial instance (the program pin lost) is replaced by a complete one. */
	snprintf(path, sizeof(path), "%s/prog", in.dir);
	CHECK(unlink(path) == 0);
	CHECK(filter_get_shared(in.img, in.dir, &fd, &err) == 0);
	CHECK(fd >= 0 && prog_id(fd) != id && prog_id(fd) != 0);
	CHECK(dir_entries(in.dir) == 11);
	id = fd >= 0 ? prog_id(fd) : 0;
	if (fd >= 0)
		close(fd);
	fd = -1;

	/* A config that is not the program's own (another engine's) makes it stale: replaced. */
	snprintf(path, sizeof(path), "%s/config", in.dir);
	CHECK(unlink(path) == 0);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "config", 4, 4, 1, NULL);
	CHECK(fd >= 0 && bpf_obj_pin(fd, path) == 0);
	if (fd >= 0)
		close(fd);
	fd = -1;
	CHECK(filter_get_shared(in.img, in.dir, &fd, &err) == 0);
	CHECK(fd >= 0 && prog_id(fd) != id && prog_id(fd) != 0);
	CHECK(dir_entries(in.dir) == 11);
	if (fd >= 0)
		close(fd);
	fd = -1;

	/* Pinning fails half-way: nothing new is left, and the directory goes. */
	filter_unpin_shared(in.dir);
	CHECK(access(in.dir, F_OK) < 0 && errno == ENOENT);
	memset(&err, 0, sizeof(err));
	pin_calls = 0;
	pin_fail_at = 5;
	CHECK(filter_get_shared(in.img, in.dir, &fd, &err) == -ENOSPC && fd == -1);
	pin_fail_at = 0;
	CHECK_STR_CONTAINS(err.msg, "cannot pin");
	CHECK(access(in.dir, F_OK) < 0 && errno == ENOENT);
	/* ... and in an existing directory, the directory stays empty. */
	CHECK(mkdir(in.dir, 0700) == 0);
	pin_calls = 0;
	pin_fail_at = 11;
	CHECK(filter_get_shared(in.img, in.dir, &fd, &err) < 0 && fd == -1);
	pin_fail_at = 0;
	CHECK(dir_entries(in.dir) == 0);

	/* A directory that cannot be made. */
	memset(&err, 0, sizeof(err));
	snprintf(path, sizeof(path), "%s/no/such/dir", bpffs);
	CHECK(filter_get_shared(in.img, path, &fd, &err) == -ENOENT && fd == -1);
	CHECK_STR_CONTAINS(err.msg, "no/such/dir");

	/* unpin is idempotent */
	CHECK(filter_unpin_shared(in.dir) == 0);
	CHECK(filter_unpin_shared(in.dir) == 0);
	filter_image_free(other);
	inst_free(&in);
	list_clear(&l);
	list_clear(&l2);
	CHECK(count_fds() == fds);
}

static void test_sock_create_instance_and_dry_run(void)
{
	struct cgbpf_error err = { { 0 } };
	struct rule_list l = { .n = 0 };
	struct inst in;
	int fds = count_fds(), fd = -1;
	size_t i;
	struct rule *r;

	rule_type(list_add(&l, ACT_DENY), TYPE_RAW);
	CHECK(inst_load(HOOK_SOCK_CREATE, &l, &in) == 0);
	/* config, rules, proto, counters and the program: no address or port maps */
	CHECK(dir_entries(in.dir) == 5);
	CHECK(filter_get_shared(in.img, in.dir, &fd, &err) == 0);
	CHECK(fd >= 0 && prog_id(fd) == prog_id(in.fd));
	if (fd >= 0)
		close(fd);
	CHECK(filter_dry_run(in.img, &err) == 0);
	inst_free(&in);
	list_clear(&l);

	r = list_add(&l, ACT_ALLOW);
	for (i = 0; i < 10000; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%u.%u.%u.0/24", 16 + (unsigned int)(i >> 16),
			 (unsigned int)(i >> 8) & 255, (unsigned int)i & 255);
		rule_daddr(r, buf);
	}
	rule_dport(r, 1, 1024);
	list_add(&l, ACT_DENY);
	in.img = NULL;
	CHECK(filter_compile(HOOK_INGRESS, list_rules(&l), l.n, "v.conf", &in.img, &err) == 0);
	CHECK(in.img && filter_dry_run(in.img, &err) == 0);
	filter_image_free(in.img);
	list_clear(&l);
	CHECK(count_fds() == fds);
}

/* ---- cost of one run ------------------------------------------------------------------------ */

static double ns_per_run(int fd, const struct pkt *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->b, .data_size_in = (__u32)p->len,
		    .repeat = 100000);

	if (bpf_prog_test_run_opts(fd, &opts) < 0)
		return -1;
	return opts.duration;
}

static void test_cost_per_packet(void)
{
	struct rule_list l = { .n = 0 };
	struct timespec t0, t1;
	struct inst in;
	struct pkt p4, p6;
	struct rule *r;
	double ns4, ns6, secs;
	size_t i;

	v4(&p4, "192.168.0.2", "16.20.30.40", IPPROTO_TCP, 40000, 443, 0);
	v6(&p6, "2001:db8::2", "2001:db8:1::1", NULL, 0, IPPROTO_UDP, 40000, 443, FRAG_NONE);

	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	printf("  ns per run, no rules: IPv4 TCP %.0f, IPv6 UDP %.0f\n", ns_per_run(in.fd, &p4),
	       ns_per_run(in.fd, &p6));
	inst_free(&in);

	rule_dport(list_add(&l, ACT_DENY), 9, 9);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	printf("  ns per run, 1 rule (dport=9): IPv4 TCP %.0f, IPv6 UDP %.0f\n",
	       ns_per_run(in.fd, &p4), ns_per_run(in.fd, &p6));
	inst_free(&in);
	list_clear(&l);

	r = list_add(&l, ACT_ALLOW);
	for (i = 0; i < 10000; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%u.%u.%u.0/%u", 16 + (unsigned int)(i >> 16),
			 (unsigned int)(i >> 8) & 255, (unsigned int)i & 255,
			 20 + (unsigned)(i % 5));
		rule_daddr(r, buf);
	}
	rule_daddr(r, "2001:db8::/48");
	list_add(&l, ACT_DENY);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(inst_load(HOOK_EGRESS, &l, &in) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(run(in.fd, &p4) == ALLOW);
	ns4 = ns_per_run(in.fd, &p4);
	ns6 = ns_per_run(in.fd, &p6);
	CHECK(run(in.fd, &p6) == DROP);
	printf("  ns per run, 10,000-prefix allow list + deny: IPv4 TCP %.0f, IPv6 UDP %.0f "
	       "(compiled and loaded in %.3f s)\n",
	       ns4, ns6, secs);
	/* Loose: the machine may be busy; a pass over the prefixes would cost tens of µs. */
	CHECK(ns4 > 0 && ns4 < 10000);
	inst_free(&in);
	list_clear(&l);
}

/* ---- the early verdict never refuses what the packet filter allows ------------------------- */

/*
 * For random rule lists the egress image and the four early images are
 * loaded; the early programs are attached to a cgroup where a child makes
 * real connect() (TCP and UDP) and unconnected sendto() calls to loopback
 * destinations (IPv4, ::1, IPv4-mapped), bound to a source port or not. Each
 * call's verdict is compared with the egress program's (bpf_prog_test_run)
 * on every packet that call could lead to, over the fields the early check
 * cannot know: every source address of the rules' universe, and every source
 * port unless the socket was bound. A refusal must mean that all of them are
 * dropped; and where no rule needs an unknown field, every certain drop must
 * be refused early.
 */
#define EARLY_LISTS  150
#define EARLY_PROBES 32

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static const char *const early_daddr[] = {
	"127.0.0.0/8",		"127.0.0.0/29", "127.0.0.2/32",
	"127.0.0.4/30",		"127.0.0.3/32", "0.0.0.0/0",
	"10.0.0.0/8",		"::1/128",	"::/0",
	"::ffff:127.0.0.0/104", "fe80::/10",	"::ffff:127.0.0.5/128",
};
static const char *const early_saddr[] = { "127.0.0.1/32", "127.0.0.0/8", "10.0.0.0/8",
					   "::1/128",	   "fe80::/10",	  "0.0.0.0/0" };
/* The source addresses the packets may have: one inside and one outside each prefix above. */
static const char *const early_src4[] = { "127.0.0.1", "127.0.0.2", "10.1.2.3", "192.0.2.1" };
static const char *const early_src6[] = { "::1", "fe80::1", "2001:db8::1" };

struct early_probe {
	int family;	  /* of the socket */
	char dst[48];	  /* as given to connect/sendto */
	char pkt_dst[48]; /* the packet's destination: the IPv4 address for a mapped one */
	int pkt_v6;
	int proto;	       /* IPPROTO_TCP or IPPROTO_UDP */
	int op;		       /* 0 connect (TCP or UDP), 1 sendto (UDP) */
	uint16_t dport, sport; /* sport 0: not bound */
};

struct early_result {
	int err;       /* of the call: 0, EPERM, or another errno; -1 when the bind failed */
	uint16_t port; /* the socket's own port after a sendto: the kernel binds it first */
};

static struct early_probe early_probes[EARLY_PROBES];
static int early_results_fd = -1;

static int early_call(const struct early_probe *p, uint16_t *port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1, err = 0;

	memset(&ss, 0, sizeof(ss));
	fd = socket(p->family, (p->proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK,
		    0);
	if (fd < 0)
		return errno;
	if (p->sport) {
		ss.ss_family = (sa_family_t)p->family;
		if (p->family == AF_INET)
			s4->sin_port = htons(p->sport);
		else
			s6->sin6_port = htons(p->sport);
		len = p->family == AF_INET ? sizeof(*s4) : sizeof(*s6);
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&ss, len) < 0) {
			close(fd);
			return -1;
		}
		memset(&ss, 0, sizeof(ss));
	}
	ss.ss_family = (sa_family_t)p->family;
	if (p->family == AF_INET) {
		inet_pton(AF_INET, p->dst, &s4->sin_addr);
		s4->sin_port = htons(p->dport);
		len = sizeof(*s4);
	} else {
		inet_pton(AF_INET6, p->dst, &s6->sin6_addr);
		s6->sin6_port = htons(p->dport);
		len = sizeof(*s6);
	}
	if (p->op == 0) {
		if (connect(fd, (struct sockaddr *)&ss, len) < 0)
			err = errno;
	} else {
		if (sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) < 0)
			err = errno;
		/* inet_sendmsg() binds an unbound socket before the sendmsg hook runs. */
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
			*port = ntohs(p->family == AF_INET ? s4->sin_port : s6->sin6_port);
	}
	close(fd);
	return err;
}

static int early_calls(void *arg)
{
	struct early_result res[EARLY_PROBES];

	(void)arg;
	for (size_t i = 0; i < EARLY_PROBES; i++)
		res[i].port = 0, res[i].err = early_call(&early_probes[i], &res[i].port);
	return write(early_results_fd, res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 : 1;
}

static void early_random_rule(struct rule_list *l, uint16_t base)
{
	struct rule *r = list_add(l, rnd(2) ? ACT_ALLOW : ACT_DENY);
	uint32_t k;

	if (rnd(3) == 0)
		for (k = 1 + rnd(2); k; k--)
			rule_daddr(r,
				   early_daddr[rnd(sizeof(early_daddr) / sizeof(early_daddr[0]))]);
	if (rnd(5) == 0)
		for (k = 1 + rnd(2); k; k--)
			rule_saddr(r,
				   early_saddr[rnd(sizeof(early_saddr) / sizeof(early_saddr[0]))]);
	if (rnd(3) == 0) {
		uint16_t lo = (uint16_t)(base + rnd(4));

		rule_dport(r, lo, lo + rnd(2));
	}
	if (rnd(5) == 0) {
		uint16_t lo = (uint16_t)(base + rnd(4));

		rule_sport(r, lo, lo + rnd(2));
	}
	if (rnd(3) == 0) {
		static const unsigned int protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };

		rule_proto(r, protos[rnd(3)]);
		if (rnd(3) == 0)
			rule_proto(r, protos[rnd(3)]);
	}
}

static void early_random_probe(struct early_probe *p, uint16_t base)
{
	unsigned int host = 1 + rnd(7), kind = rnd(4);
	static const uint16_t sports[] = { 0, 0, 0, 1, 2, 3, 9 };

	memset(p, 0, sizeof(*p));
	p->proto = rnd(2) ? IPPROTO_TCP : IPPROTO_UDP;
	p->op = p->proto == IPPROTO_UDP && rnd(2);
	p->dport = (uint16_t)(base + (rnd(5) == 0 ? 9 : rnd(4)));
	p->sport = sports[rnd(sizeof(sports) / sizeof(sports[0]))];
	/*
	 * A bound port inside the rules' sport= ranges (base..base+4, and base+5 just
	 * past them) makes such a rule a sure match at the hook; one far from them
	 * (base+17..base+57) makes it a sure miss.
	 */
	if (p->sport && rnd(2))
		p->sport = (uint16_t)(base + rnd(6));
	else if (p->sport)
		p->sport = (uint16_t)(base + 16 + p->sport + 16 * rnd(3));
	if (kind <= 1) {
		p->family = AF_INET;
		snprintf(p->dst, sizeof(p->dst), "127.0.0.%u", host);
		snprintf(p->pkt_dst, sizeof(p->pkt_dst), "127.0.0.%u", host);
	} else if (kind == 2) {
		p->family = AF_INET6;
		snprintf(p->dst, sizeof(p->dst), "::ffff:127.0.0.%u", host);
		snprintf(p->pkt_dst, sizeof(p->pkt_dst), "127.0.0.%u", host);
	} else {
		p->family = AF_INET6;
		p->pkt_v6 = 1;
		snprintf(p->dst, sizeof(p->dst), "::1");
		snprintf(p->pkt_dst, sizeof(p->pkt_dst), "::1");
	}
}

/* Whether the egress program drops every packet @p could send; *some_drop: at least one. */
static int early_certain_drop(int egress_fd, const struct early_probe *p, uint16_t base,
			      int *some_drop)
{
	uint16_t sports[8];
	size_t n_sports = 0, n_src, i, j;
	int all = 1, v;

	if (p->sport) {
		sports[n_sports++] = p->sport;
	} else {
		/* Every interval of the rules' sport universe, and ports outside it. */
		for (i = 0; i < 6; i++)
			sports[n_sports++] = (uint16_t)(base + i);
		sports[n_sports++] = (uint16_t)(base + 9);
		sports[n_sports++] = 1;
	}
	n_src = p->pkt_v6 ? sizeof(early_src6) / sizeof(early_src6[0])
			  : sizeof(early_src4) / sizeof(early_src4[0]);
	*some_drop = 0;
	for (i = 0; i < n_src; i++)
		for (j = 0; j < n_sports; j++) {
			v = p->pkt_v6 ? run6(egress_fd, early_src6[i], p->pkt_dst,
					     (uint8_t)p->proto, sports[j], p->dport)
				      : run4(egress_fd, early_src4[i], p->pkt_dst,
					     (uint8_t)p->proto, sports[j], p->dport);
			if (v == DROP)
				*some_drop = 1;
			else
				all = 0;
		}
	return all;
}

static void test_early_verdict_random(void)
{
	static const enum cgbpf_hook hooks[4] = { HOOK_CONNECT4, HOOK_CONNECT6, HOOK_SENDMSG4,
						  HOOK_SENDMSG6 };
	static const enum bpf_attach_type types[4] = { BPF_CGROUP_INET4_CONNECT,
						       BPF_CGROUP_INET6_CONNECT,
						       BPF_CGROUP_UDP4_SENDMSG,
						       BPF_CGROUP_UDP6_SENDMSG };
	struct early_result res[EARLY_PROBES];
	long n_calls = 0, n_refused = 0, n_certain = 0, n_deferred_drops = 0, n_unsound = 0;
	long n_incomplete = 0, n_skipped = 0, n_sport_refused = 0;
	int pipefd[2] = { -1, -1 }, cg_fd = -1;
	const char *seed_env = getenv("CGBPF_SEED");
	char cg[512];
	int list;

	rng_state = seed_env ? strtoull(seed_env, NULL, 10) : (uint64_t)time(NULL) * 2654435761u;
	if (!rng_state)
		rng_state = 1;
	printf("  seed %llu (CGBPF_SEED=... repeats it)\n", (unsigned long long)rng_state);
	CHECK(cg_make("early", cg, sizeof(cg)) == 0);
	cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(cg_fd >= 0);
	CHECK(pipe2(pipefd, O_CLOEXEC) == 0);
	if (cg_fd < 0 || pipefd[0] < 0)
		goto out;
	early_results_fd = pipefd[1];

	for (list = 0; list < EARLY_LISTS; list++) {
		struct rule_list l = { .n = 0 };
		struct inst eg, early[4];
		int links[4] = { -1, -1, -1, -1 }, ok = 1, uses_unknown_addr = 0;
		int uses_sport = 0;
		uint16_t base = (uint16_t)(20000 + 64 * rnd(600));
		size_t i, n = 1 + rnd(8);

		for (i = 0; i < n; i++)
			early_random_rule(&l, base);
		for (i = 0; i < l.n; i++) {
			uses_unknown_addr |= !!(l.r[i]->matchers & M_SADDR);
			uses_sport |= !!(l.r[i]->matchers & M_SPORT);
		}
		ok &= inst_load(HOOK_EGRESS, &l, &eg) == 0;
		for (i = 0; i < 4; i++) {
			ok &= inst_load(hooks[i], &l, &early[i]) == 0;
			if (early[i].fd >= 0)
				links[i] = bpf_link_create(early[i].fd, cg_fd, types[i], NULL);
			ok &= links[i] >= 0;
		}
		CHECK(ok);
		for (i = 0; i < EARLY_PROBES; i++)
			early_random_probe(&early_probes[i], base);
		if (ok && in_cgroup(cg, early_calls, NULL) == 0 &&
		    read(pipefd[0], res, sizeof(res)) == (ssize_t)sizeof(res)) {
			for (i = 0; i < EARLY_PROBES; i++) {
				struct early_probe *p = &early_probes[i];
				int some, certain;

				if (res[i].err < 0) {
					n_skipped++; /* the source port was taken */
					continue;
				}
				n_calls++;
				if (p->op == 1 && res[i].port)
					p->sport = res[i].port; /* known at the hook */
				certain = early_certain_drop(eg.fd, p, base, &some);
				n_certain += certain;
				if (res[i].err == EPERM) {
					n_refused++;
					/* refused from a bound port a sport= rule may name */
					n_sport_refused += uses_sport && p->sport >= base &&
							   p->sport <= base + 5;
					if (!certain) {
						n_unsound++;
						printf("  list %d: %s [%s]:%u sport %u proto %d op "
						       "%d "
						       "refused early, but the packet filter lets "
						       "some packet through\n",
						       list, p->family == AF_INET ? "v4" : "v6",
						       p->dst, p->dport, p->sport, p->proto, p->op);
					}
				} else if (certain) {
					n_deferred_drops++;
					if (!uses_unknown_addr && (p->sport || !uses_sport)) {
						n_incomplete++;
						printf("  list %d: [%s]:%u sport %u proto %d op "
						       "%d: "
						       "certain drop not refused early (%s)\n",
						       list, p->dst, p->dport, p->sport, p->proto,
						       p->op, strerror(res[i].err));
					}
				}
			}
		} else {
			CHECK(!"the probes ran");
		}
		for (i = 0; i < 4; i++) {
			if (links[i] >= 0)
				close(links[i]);
			inst_free(&early[i]);
		}
		inst_free(&eg);
		list_clear(&l);
		if (n_unsound > 5 || n_incomplete > 5)
			break;
	}
	printf("  %d random rule lists, %ld calls (%ld skipped): %ld refused early (%ld from a "
	       "port in the sport= ranges), %ld certain drops, %ld of them left to the packet "
	       "filter\n",
	       list, n_calls, n_skipped, n_refused, n_sport_refused, n_certain, n_deferred_drops);
	CHECK(n_unsound == 0);
	CHECK(n_incomplete == 0);
	/* Not vacuous: the lists refuse, and some drops need the packet filter. */
	CHECK(n_refused > n_calls / 20);
	CHECK(n_sport_refused > 0);
	CHECK(n_calls > EARLY_LISTS * EARLY_PROBES / 2);
out:
	if (cg_fd >= 0)
		close(cg_fd);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	early_results_fd = -1;
	cg_remove(cg);
}

/* ---- main ---------------------------------------------------------------------------------------
 */

static int setup(void)
{
	snprintf(bpffs, sizeof(bpffs), "/tmp/cgbpf-verdict-XXXXXX");
	if (!mkdtemp(bpffs))
		return -errno;
	if (mount("bpf", bpffs, "bpf", 0, "mode=0700") < 0) {
		int e = errno;

		rmdir(bpffs);
		bpffs[0] = '\0';
		return -e;
	}
	return find_cgroup2();
}

/* Async-signal-safe: only system calls. */
static void teardown(void)
{
	size_t i;

	for (i = 0; i < sizeof(made_cgroups) / sizeof(made_cgroups[0]); i++)
		if (made_cgroups[i][0])
			rmdir(made_cgroups[i]);
	if (bpffs[0]) {
		umount2(bpffs, MNT_DETACH);
		rmdir(bpffs);
	}
}

/* A crash or an interrupt must not leave the mount or a cgroup behind. */
static pid_t main_pid;

static void on_fatal_signal(int sig)
{
	if (getpid() == main_pid) /* not in a forked child */
		teardown();
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(void)
{
	int r;

	if (geteuid() != 0) {
		printf("SKIP: test_verdict: needs root\n");
		return 0;
	}
	main_pid = getpid();
	signal(SIGABRT, on_fatal_signal);
	signal(SIGSEGV, on_fatal_signal);
	signal(SIGBUS, on_fatal_signal);
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	r = setup();
	if (r < 0) {
		printf("FAIL: test_verdict setup: %s\n", strerror(-r));
		teardown();
		return 1;
	}
	RUN_TEST(test_no_rules_allow_everything);
	RUN_TEST(test_bare_deny);
	RUN_TEST(test_daddr);
	RUN_TEST(test_saddr);
	RUN_TEST(test_ports_and_proto);
	RUN_TEST(test_first_match_wins);
	RUN_TEST(test_v4_mapped_policy_matches_ipv4);
	RUN_TEST(test_portless_packets_never_match_ports);
	RUN_TEST(test_ipv4_fragments);
	RUN_TEST(test_ipv6_extension_headers);
	RUN_TEST(test_malformed_packets);
	RUN_TEST(test_counters);
	RUN_TEST(test_counters_per_cgroup);
	RUN_TEST(test_sock_create);
	RUN_TEST(test_real_egress);
	RUN_TEST(test_sharing_and_pins);
	RUN_TEST(test_sock_create_instance_and_dry_run);
	RUN_TEST(test_early_verdict_random);
	RUN_TEST(test_cost_per_packet);
	teardown();
	return UNIT_EXIT();
}
