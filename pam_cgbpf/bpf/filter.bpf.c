// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The built-in filter: an ordered allow/deny list, first match wins, no match
 * allows. The list is compiled by filter_compile.c into maps; this program
 * only looks them up, so one run costs the same whatever the number of rules
 * or prefixes.
 *
 * Each dimension of the packet (daddr, saddr, dport, sport, proto; family,
 * type, proto for sockets) gives a 256-bit mask of the rules it satisfies,
 * rules without a matcher on that dimension included. The AND of the masks
 * holds the rules that match; the lowest bit is the first of them in file
 * order and decides. An empty AND allows.
 *
 * What the program reads of a packet:
 *  - skb->protocol says IPv4 or IPv6; any other packet is allowed.
 *  - IPv4: the 20-byte header (version 4, IHL >= 5), then the L4 header at
 *    IHL * 4. A non-first fragment (offset != 0) has no ports.
 *  - IPv6: the 40-byte header, then up to 8 extension headers (hop-by-hop,
 *    routing, destination options, AH, fragment) to find the L4 protocol.
 *    After a fragment header with a non-zero offset the protocol is that
 *    header's next-header field and there are no ports.
 *  - Ports: the first 4 bytes of the L4 header of TCP, UDP, UDP-Lite, SCTP
 *    and DCCP. Every other protocol (ICMP, ICMPv6, ESP, ...) has no ports.
 *
 * Ports and addresses of the other kind never match a matcher: a port
 * matcher never matches a packet without ports, an IPv4 prefix never matches
 * an IPv6 packet (IPv4-mapped prefixes were turned into IPv4 ones at compile
 * time, since such traffic leaves the host as IPv4).
 *
 * Malformed packets. A packet is dropped when a header cannot be read and
 * some rule of the list has a matcher that needs it:
 *  - the IP header is truncated or invalid: dropped if any rule has a daddr,
 *    saddr, dport, sport or proto matcher;
 *  - the L4 protocol cannot be found (a truncated extension header, or more
 *    than 8 of them): dropped if any rule has a proto, dport or sport matcher;
 *  - the protocol has ports but fewer than 4 bytes of its header are there
 *    (in an unfragmented packet or a first fragment): dropped if any rule has
 *    a dport or sport matcher.
 * Otherwise the list is evaluated as usual: the unreadable dimension is not
 * used by any rule, so it cannot change the result. Such drops count as
 * drops but as no rule's hit.
 *
 * Sockets (cgroup/sock_create): the hook runs after inet_create() and
 * inet6_create() have resolved protocol 0 to the type's default, so
 * socket(AF_INET, SOCK_STREAM, 0) is seen with protocol 6 (TCP) and matches
 * proto=tcp. IPPROTO_MPTCP (262) is matched as TCP, which it is on the wire;
 * any other protocol above 255 matches no proto= list. The hook only runs for
 * AF_INET and AF_INET6 sockets.
 *
 * The early verdict (cgroup/connect4, connect6, sendmsg4, sendmsg6), compiled
 * from the egress rules, refuses at the system call what the egress filter
 * would certainly drop, so that connect() fails at once with EPERM instead of
 * timing out; the egress filter stays and still decides every packet. What is
 * known there: the destination address and port, the socket's protocol, and
 * the source port once the socket is bound. The source address is not known
 * before routing. A rule matches surely (every known matcher matches and it
 * needs no unknown field) or maybe (every known matcher matches). The socket
 * is refused only when there is a first sure match, it is a deny rule, and no
 * allow rule before it maybe matches: then every packet of that socket to that
 * destination meets a deny rule first in the egress filter. Anything else is
 * allowed, to be judged per packet. Only TCP (and MPTCP), UDP and UDP-Lite
 * sockets of type stream or dgram are judged; a destination 0.0.0.0 or ::
 * (the kernel turns it into a local address later) is not. An IPv4-mapped
 * IPv6 destination (::ffff:a.b.c.d) is judged as the IPv4 address, as the
 * packets it leads to are IPv4.
 *
 * Counters are per cgroup id in a per-CPU hash, so that sandboxes sharing this
 * program keep their figures apart. For the early verdict, "packets" are
 * connect()/sendmsg() calls: drops were refused, passes were let through to
 * the packet filter.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "filter_types.h"

#define AF_INET	    2
#define AF_INET6    10
#define SOCK_STREAM 1
#define SOCK_DGRAM  2
#define SOCK_RAW    3

#define VERDICT_DROP  0
#define VERDICT_ALLOW 1

#define IPV6_MAX_EXT_HEADERS 8
#define NO_RULE		     0xffffffffu

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct filter_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FILTER_MAX_RULES);
	__type(key, __u32);
	__type(value, struct filter_rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct filter_mask);
} proto SEC(".maps");

/* max_entries of the LPM and port maps are set from the image at load time. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct filter_lpm4_key);
	__type(value, struct filter_mask);
} daddr4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct filter_lpm6_key);
	__type(value, struct filter_mask);
} daddr6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct filter_lpm4_key);
	__type(value, struct filter_mask);
} saddr4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct filter_lpm6_key);
	__type(value, struct filter_mask);
} saddr6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct filter_port_interval);
} dport SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct filter_port_interval);
} sport SEC(".maps");

/*
 * Per-CPU cgroup storage: the kernel gives each cgroup this program is attached
 * to its own counters (a session scope below logind's slice counts into the
 * slice's), made at attach and freed with the cgroup, so a closing sandbox has
 * nothing to delete. Keyed by cgroup id for user space.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, __u64);
	__type(value, struct filter_counters_value);
} counters SEC(".maps");

static __always_inline void mask_and(struct filter_mask *acc, const struct filter_mask *m)
{
	acc->w[0] &= m->w[0];
	acc->w[1] &= m->w[1];
	acc->w[2] &= m->w[2];
	acc->w[3] &= m->w[3];
}

/* acc &= (*m | *wild), with a NULL m meaning no entry. */
static __always_inline void mask_and_or(struct filter_mask *acc, const struct filter_mask *m,
					const struct filter_mask *wild)
{
	if (!m) {
		mask_and(acc, wild);
		return;
	}
	acc->w[0] &= m->w[0] | wild->w[0];
	acc->w[1] &= m->w[1] | wild->w[1];
	acc->w[2] &= m->w[2] | wild->w[2];
	acc->w[3] &= m->w[3] | wild->w[3];
}

/* de Bruijn position table: branch-free, so the verifier sees one path. */
/* clang-format off */
static const __u8 debruijn64[64] = {
	0,  1,	2,  53, 3,  7,	54, 27, 4,  38, 41, 8,	34, 55, 48, 28,
	62, 5,	39, 46, 44, 42, 22, 9,	24, 35, 59, 56, 49, 18, 29, 11,
	63, 52, 6,  26, 37, 40, 33, 47, 61, 45, 43, 21, 23, 58, 17, 10,
	51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12,
};
/* clang-format on */

/* Index of the lowest set bit of a non-zero @x. */
static __always_inline __u32 ctz64(__u64 x)
{
	return debruijn64[((x & -x) * 0x022fdd63cc95386dULL) >> 58];
}

/* Index of the first rule in @acc, or NO_RULE. */
static __always_inline __u32 first_rule(const struct filter_mask *acc)
{
	if (acc->w[0])
		return ctz64(acc->w[0]);
	if (acc->w[1])
		return 64 + ctz64(acc->w[1]);
	if (acc->w[2])
		return 128 + ctz64(acc->w[2]);
	if (acc->w[3])
		return 192 + ctz64(acc->w[3]);
	return NO_RULE;
}

/* One step of the binary search: move @idx up by @half if that entry starts at or below @port. */
static __always_inline __u32 port_step(void *map, __u32 idx, __u32 half, __u32 port)
{
	struct filter_port_interval *iv;
	__u32 probe = idx + half;
	__u64 le;

	iv = bpf_map_lookup_elem(map, &probe);
	/* 1 when start <= port, else 0, without a branch; a missing entry is past the end. */
	le = iv ? (((__u64)port - iv->start) >> 63) ^ 1 : 0;
	return idx + (half & (__u32)-le);
}

/*
 * ANDs into @acc the mask of the port interval holding @port: a binary search
 * over the 1 << @steps entries of @map, whose first entry starts at 0. Each
 * step is guarded on its own rather than looped over, so that the verifier's
 * paths join again after every step.
 */
static __always_inline void port_and(void *map, __u32 steps, __u32 port, struct filter_mask *acc)
{
	struct filter_port_interval *iv;
	__u32 idx = 0;

	/*
	 * The first entry starts at port 0, so this sets idx to 0; read from the
	 * map, it is a value the verifier does not know, which keeps it from
	 * following each of the 2^16 ways the search can go as a path of its own.
	 */
	iv = bpf_map_lookup_elem(map, &idx);
	if (!iv) {
		__builtin_memset(acc, 0, sizeof(*acc));
		return;
	}
	idx = iv->start;
#define PORT_STEP(n)                                                                               \
	if (steps >= (n))                                                                          \
		idx = port_step(map, idx, 1u << ((n)-1), port);
	PORT_STEP(16)
	PORT_STEP(15)
	PORT_STEP(14)
	PORT_STEP(13)
	PORT_STEP(12)
	PORT_STEP(11)
	PORT_STEP(10)
	PORT_STEP(9)
	PORT_STEP(8)
	PORT_STEP(7)
	PORT_STEP(6)
	PORT_STEP(5)
	PORT_STEP(4)
	PORT_STEP(3)
	PORT_STEP(2)
	PORT_STEP(1)
#undef PORT_STEP
	iv = bpf_map_lookup_elem(map, &idx);
	if (iv)
		mask_and(acc, &iv->mask);
	else
		__builtin_memset(acc, 0, sizeof(*acc));
}

static __always_inline int proto_has_ports(__u32 p)
{
	return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_UDPLITE || p == IPPROTO_SCTP ||
	       p == IPPROTO_DCCP;
}

static __always_inline void count(int verdict, __u32 rule, __u64 bytes)
{
	struct filter_counters_value *c = bpf_get_local_storage(&counters, 0);

	if (verdict == VERDICT_ALLOW) {
		c->pass_pkts++;
		c->pass_bytes += bytes;
	} else {
		c->drop_pkts++;
		c->drop_bytes += bytes;
	}
	if (rule < FILTER_MAX_RULES)
		c->hits[rule]++;
}

/* The verdict of the first rule in @acc; no rule allows. Sets *rule. */
static __always_inline int decide(const struct filter_mask *acc, __u32 *rule)
{
	struct filter_rule *r;
	__u32 idx;

	idx = first_rule(acc);
	*rule = idx;
	if (idx >= FILTER_MAX_RULES)
		return VERDICT_ALLOW;
	r = bpf_map_lookup_elem(&rules, &idx);
	if (!r)
		return VERDICT_DROP;
	return r->action == FILTER_ACT_ALLOW ? VERDICT_ALLOW : VERDICT_DROP;
}

/* What could be read of a packet. */
struct pkt_info {
	__u32 l4off;
	__u32 proto;
	__u8 bad_l3;	/* the IP header is unreadable */
	__u8 bad_proto; /* the L4 protocol is unknown */
	__u8 bad_ports; /* the protocol has ports that cannot be read */
	__u8 has_ports;
	__u16 sport, dport;
};

static __always_inline int ipv6_is_ext(__u32 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_AH || nh == IPPROTO_FRAGMENT;
}

/* Walks the extension headers from @off; fills proto and l4off, or bad_proto. */
static __always_inline void ipv6_walk(struct __sk_buff *skb, __u32 nh, __u32 off,
				      struct pkt_info *pi)
{
	struct {
		__u8 nexthdr;
		__u8 hdrlen;
		__be16 frag_off;
	} ext;
	int i;

	for (i = 0; i < IPV6_MAX_EXT_HEADERS; i++) {
		if (!ipv6_is_ext(nh))
			break;
		if (bpf_skb_load_bytes(skb, off, &ext, sizeof(ext)) < 0) {
			pi->bad_proto = 1;
			return;
		}
		if (nh == IPPROTO_FRAGMENT) {
			if (bpf_ntohs(ext.frag_off) & 0xfff8) {
				/* A non-first fragment: what follows is payload. */
				pi->proto = ext.nexthdr;
				pi->has_ports = 0;
				pi->l4off = 0;
				return;
			}
			off += 8;
		} else if (nh == IPPROTO_AH) {
			off += ((__u32)ext.hdrlen + 2) * 4;
		} else {
			off += ((__u32)ext.hdrlen + 1) * 8;
		}
		nh = ext.nexthdr;
	}
	if (ipv6_is_ext(nh)) {
		pi->bad_proto = 1;
		return;
	}
	pi->proto = nh;
	pi->l4off = off;
	pi->has_ports = proto_has_ports(nh);
}

static __always_inline void parse_ipv4(struct __sk_buff *skb, struct filter_lpm4_key *d,
				       struct filter_lpm4_key *s, struct pkt_info *pi)
{
	struct iphdr iph;

	if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)) < 0 || iph.version != 4 || iph.ihl < 5) {
		pi->bad_l3 = 1;
		return;
	}
	__builtin_memcpy(d->addr, &iph.daddr, 4);
	__builtin_memcpy(s->addr, &iph.saddr, 4);
	pi->proto = iph.protocol;
	pi->l4off = (__u32)iph.ihl * 4;
	/* Offset in 8-byte units; a non-first fragment carries no L4 header. */
	pi->has_ports = !(bpf_ntohs(iph.frag_off) & 0x1fff) && proto_has_ports(iph.protocol);
}

static __always_inline void parse_ipv6(struct __sk_buff *skb, struct filter_lpm6_key *d,
				       struct filter_lpm6_key *s, struct pkt_info *pi)
{
	struct ipv6hdr ip6;

	if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) < 0 || ip6.version != 6) {
		pi->bad_l3 = 1;
		return;
	}
	__builtin_memcpy(d->addr, &ip6.daddr, 16);
	__builtin_memcpy(s->addr, &ip6.saddr, 16);
	ipv6_walk(skb, ip6.nexthdr, sizeof(ip6), pi);
}

static __always_inline void read_ports(struct __sk_buff *skb, struct pkt_info *pi)
{
	__be16 ports[2];

	if (pi->bad_l3 || pi->bad_proto || !pi->has_ports)
		return;
	if (bpf_skb_load_bytes(skb, pi->l4off, ports, sizeof(ports)) < 0) {
		pi->bad_ports = 1;
		pi->has_ports = 0;
		return;
	}
	pi->sport = bpf_ntohs(ports[0]);
	pi->dport = bpf_ntohs(ports[1]);
}

/* Narrows @acc by the packet's protocol and ports, for the matchers the rules use. */
static __always_inline void match_l4(const struct filter_config *cfg, __u32 uses,
				     const struct pkt_info *pi, struct filter_mask *acc)
{
	struct filter_mask *m;

	if (uses & FILTER_USES_PROTO) {
		__u32 p = pi->proto & 0xff;

		m = bpf_map_lookup_elem(&proto, &p);
		if (m)
			mask_and(acc, m);
		else
			mask_and(acc, &cfg->wild_proto);
	}
	if (uses & FILTER_USES_DPORT) {
		if (pi->has_ports)
			port_and(&dport, cfg->dport_steps, pi->dport, acc);
		else
			mask_and(acc, &cfg->wild_dport);
	}
	if (uses & FILTER_USES_SPORT) {
		if (pi->has_ports)
			port_and(&sport, cfg->sport_steps, pi->sport, acc);
		else
			mask_and(acc, &cfg->wild_sport);
	}
}

static __always_inline int filter_skb(struct __sk_buff *skb)
{
	const __u32 addr_uses = FILTER_USES_DADDR | FILTER_USES_SADDR;
	const __u32 port_uses = FILTER_USES_DPORT | FILTER_USES_SPORT;
	struct filter_lpm6_key d6, s6;
	struct filter_lpm4_key d4, s4;
	struct pkt_info pi = {};
	struct filter_config *cfg;
	struct filter_mask acc;
	struct filter_mask *m;
	__u32 zero = 0, rule = NO_RULE, uses;
	int verdict, v6;

	/* Zeroed by hand: an initialiser would be copied from a .rodata map. */
	__builtin_memset(&d6, 0, sizeof(d6));
	__builtin_memset(&s6, 0, sizeof(s6));
	__builtin_memset(&d4, 0, sizeof(d4));
	__builtin_memset(&s4, 0, sizeof(s4));
	d6.prefixlen = s6.prefixlen = 128;
	d4.prefixlen = s4.prefixlen = 32;

	if (skb->protocol == bpf_htons(ETH_P_IP))
		v6 = 0;
	else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		v6 = 1;
	else
		return VERDICT_ALLOW;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return VERDICT_DROP;
	uses = cfg->uses;

	if (v6)
		parse_ipv6(skb, &d6, &s6, &pi);
	else
		parse_ipv4(skb, &d4, &s4, &pi);
	read_ports(skb, &pi);

	if ((pi.bad_l3 && (uses & (addr_uses | port_uses | FILTER_USES_PROTO))) ||
	    (pi.bad_proto && (uses & (port_uses | FILTER_USES_PROTO))) ||
	    (pi.bad_ports && (uses & port_uses))) {
		verdict = VERDICT_DROP;
		goto out;
	}

	acc = cfg->all;
	if (uses & FILTER_USES_DADDR) {
		m = v6 ? bpf_map_lookup_elem(&daddr6, &d6) : bpf_map_lookup_elem(&daddr4, &d4);
		mask_and_or(&acc, m, &cfg->wild_daddr);
	}
	if (uses & FILTER_USES_SADDR) {
		m = v6 ? bpf_map_lookup_elem(&saddr6, &s6) : bpf_map_lookup_elem(&saddr4, &s4);
		mask_and_or(&acc, m, &cfg->wild_saddr);
	}
	match_l4(cfg, uses, &pi, &acc);
	verdict = decide(&acc, &rule);
out:
	count(verdict, rule, skb->len);
	return verdict;
}

SEC("cgroup_skb/ingress")
int filter_ingress(struct __sk_buff *skb)
{
	return filter_skb(skb);
}

SEC("cgroup_skb/egress")
int filter_egress(struct __sk_buff *skb)
{
	return filter_skb(skb);
}

SEC("cgroup/sock_create")
int filter_sock_create(struct bpf_sock *sk)
{
	struct filter_config *cfg;
	struct filter_mask acc;
	struct filter_mask *m;
	__u32 zero = 0, rule = NO_RULE, uses, family, type, p;
	int verdict;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return VERDICT_DROP;
	uses = cfg->uses;
	acc = cfg->all;

	if (uses & FILTER_USES_FAMILY) {
		family = sk->family;
		if (family == AF_INET)
			mask_and(&acc, &cfg->family[FILTER_FAMILY_INET]);
		else if (family == AF_INET6)
			mask_and(&acc, &cfg->family[FILTER_FAMILY_INET6]);
		else
			mask_and(&acc, &cfg->family[FILTER_FAMILY_OTHER]);
	}
	if (uses & FILTER_USES_TYPE) {
		type = sk->type;
		if (type == SOCK_STREAM)
			mask_and(&acc, &cfg->type[FILTER_TYPE_STREAM]);
		else if (type == SOCK_DGRAM)
			mask_and(&acc, &cfg->type[FILTER_TYPE_DGRAM]);
		else if (type == SOCK_RAW)
			mask_and(&acc, &cfg->type[FILTER_TYPE_RAW]);
		else
			mask_and(&acc, &cfg->type[FILTER_TYPE_OTHER]);
	}
	if (uses & FILTER_USES_PROTO) {
		p = sk->protocol;
		if (p == IPPROTO_MPTCP)
			p = IPPROTO_TCP;
		m = p < 256 ? bpf_map_lookup_elem(&proto, &p) : (void *)0;
		if (m)
			mask_and(&acc, m);
		else
			mask_and(&acc, &cfg->wild_proto);
	}
	verdict = decide(&acc, &rule);
	count(verdict, rule, 0);
	return verdict;
}

/* A socket protocol judged at connect/sendmsg time, as the IP protocol of its packets, or 0. */
static __always_inline __u32 early_proto(__u32 p)
{
	if (p == IPPROTO_MPTCP)
		return IPPROTO_TCP;
	return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_UDPLITE ? p : 0;
}

/* *dst = *a & *b. */
static __always_inline void mask_and_into(struct filter_mask *dst, const struct filter_mask *a,
					  const struct filter_mask *b)
{
	dst->w[0] = a->w[0] & b->w[0];
	dst->w[1] = a->w[1] & b->w[1];
	dst->w[2] = a->w[2] & b->w[2];
	dst->w[3] = a->w[3] & b->w[3];
}

/*
 * The destination of the call into *d4 or *d6 (*is4: which); 0 when it is not
 * judged (0.0.0.0 or ::, made a local address later by the kernel). @v6 is a
 * constant: the IPv6 hooks may read user_ip6, the IPv4 hooks only user_ip4.
 */
static __always_inline int early_dst(struct bpf_sock_addr *ctx, const int v6,
				     struct filter_lpm4_key *d4, struct filter_lpm6_key *d6,
				     int *is4)
{
	*is4 = !v6;
	if (v6) {
		__u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1], a2 = ctx->user_ip6[2];
		__u32 a3 = ctx->user_ip6[3];

		if (a0 == 0 && a1 == 0 && a2 == bpf_htonl(0xffff)) {
			*is4 = 1;
			__builtin_memcpy(d4->addr, &a3, 4);
			return a3 != 0;
		}
		if ((a0 | a1 | a2 | a3) == 0)
			return 0;
		__builtin_memcpy(d6->addr, &a0, 4);
		__builtin_memcpy(d6->addr + 4, &a1, 4);
		__builtin_memcpy(d6->addr + 8, &a2, 4);
		__builtin_memcpy(d6->addr + 12, &a3, 4);
		return 1;
	} else {
		__u32 a = ctx->user_ip4;

		__builtin_memcpy(d4->addr, &a, 4);
		return a != 0;
	}
}

/* *acc: the rules whose known fields (destination, protocol, ports) match. */
static __always_inline void early_known(const struct filter_config *cfg, struct filter_mask *acc,
					int is4, struct filter_lpm4_key *d4,
					struct filter_lpm6_key *d6, __u32 p, __u32 dst_port,
					__u32 src_port)
{
	__u32 uses = cfg->uses;
	struct filter_mask *m;

	*acc = cfg->all;
	if (uses & FILTER_USES_DADDR) {
		m = is4 ? bpf_map_lookup_elem(&daddr4, d4) : bpf_map_lookup_elem(&daddr6, d6);
		mask_and_or(acc, m, &cfg->wild_daddr);
	}
	if (uses & FILTER_USES_PROTO) {
		m = bpf_map_lookup_elem(&proto, &p);
		if (m)
			mask_and(acc, m);
		else
			mask_and(acc, &cfg->wild_proto);
	}
	if (uses & FILTER_USES_DPORT)
		port_and(&dport, cfg->dport_steps, dst_port, acc);
	if ((uses & FILTER_USES_SPORT) && src_port)
		port_and(&sport, cfg->sport_steps, src_port, acc);
}

/*
 * The verdict from @acc, the rules that maybe match: a drop only when the first
 * sure match (needing no unknown field) is a deny and no allow maybe matches
 * before it. *rule: the deciding rule, if any.
 */
static __always_inline int early_decide(const struct filter_config *cfg,
					const struct filter_mask *acc, __u32 src_port, __u32 *rule)
{
	struct filter_mask sure, allow_maybe;
	__u32 uses = cfg->uses, first, first_allow;

	mask_and_into(&allow_maybe, acc, &cfg->allow);
	sure = *acc;
	if (uses & FILTER_USES_SADDR)
		mask_and(&sure, &cfg->wild_saddr);
	if ((uses & FILTER_USES_SPORT) && !src_port)
		mask_and(&sure, &cfg->wild_sport);

	first = first_rule(&sure);
	if (first == NO_RULE)
		return VERDICT_ALLOW;
	first_allow = first_rule(&allow_maybe);
	if (first_allow < first)
		return VERDICT_ALLOW; /* an allow before it may match: the packets decide */
	*rule = first;
	/* surely allowed by that rule, or surely denied with no allow before it */
	return first_allow == first ? VERDICT_ALLOW : VERDICT_DROP;
}

/* The early verdict (see the top of this file). @v6 is a constant. */
static __always_inline int filter_sock_addr(struct bpf_sock_addr *ctx, const int v6)
{
	struct filter_lpm6_key d6;
	struct filter_lpm4_key d4;
	struct filter_config *cfg;
	struct filter_mask acc;
	struct bpf_sock *sk;
	__u32 zero = 0, rule = NO_RULE, p, type, src_port = 0;
	int verdict = VERDICT_ALLOW, is4;

	__builtin_memset(&d6, 0, sizeof(d6));
	__builtin_memset(&d4, 0, sizeof(d4));
	d6.prefixlen = 128;
	d4.prefixlen = 32;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return VERDICT_ALLOW; /* the packet filter decides */
	type = ctx->type;
	p = early_proto(ctx->protocol);
	if ((type != SOCK_STREAM && type != SOCK_DGRAM) || !p)
		goto out;
	if (!early_dst(ctx, v6, &d4, &d6, &is4))
		goto out;
	sk = ctx->sk;
	if (sk)
		src_port = sk->src_port; /* host order; 0 while the socket is not bound */
	early_known(cfg, &acc, is4, &d4, &d6, p, bpf_ntohs((__u16)ctx->user_port), src_port);
	verdict = early_decide(cfg, &acc, src_port, &rule);
out:
	/* Into the counters of the cgroup this program is attached to. */
	count(verdict, rule, 0);
	return verdict;
}

SEC("cgroup/connect4")
int filter_connect4(struct bpf_sock_addr *ctx)
{
	return filter_sock_addr(ctx, 0);
}

SEC("cgroup/connect6")
int filter_connect6(struct bpf_sock_addr *ctx)
{
	return filter_sock_addr(ctx, 1);
}

SEC("cgroup/sendmsg4")
int filter_sendmsg4(struct bpf_sock_addr *ctx)
{
	return filter_sock_addr(ctx, 0);
}

SEC("cgroup/sendmsg6")
int filter_sendmsg6(struct bpf_sock_addr *ctx)
{
	return filter_sock_addr(ctx, 1);
}
