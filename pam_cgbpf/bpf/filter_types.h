/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Types shared by the built-in filter program (filter.bpf.c) and user space
 * (filter_compile.c, filter_load.c). Everything here is the layout of a map
 * key or value, so any change must bump FILTER_ENGINE_VERSION: the version is
 * part of every image id, and an instance pinned by an older engine must
 * never be shared with a newer one.
 */
#ifndef CGBPF_FILTER_TYPES_H
#define CGBPF_FILTER_TYPES_H

#include <linux/types.h>

#define FILTER_ENGINE_VERSION "pam_cgbpf filter engine 2"

#define FILTER_MAX_RULES  256
#define FILTER_MASK_WORDS (FILTER_MAX_RULES / 64)

/* Ports are looked up by binary search over at most 1 << this many intervals. */
#define FILTER_PORT_MAX_STEPS 16

/* One bit per rule, rule i in word i / 64, bit i % 64. */
struct filter_mask {
	__u64 w[FILTER_MASK_WORDS];
};

/* Verdict of one rule: map "rules", ARRAY[FILTER_MAX_RULES]. */
#define FILTER_ACT_ALLOW 1
#define FILTER_ACT_DENY	 0

/*
 * line is always 0 in the map: policy lines are kept out of the tables and the
 * image id (filter_compile.c), so that identical rules on other lines share one
 * program; each sandbox's ledger records its own lines for status.
 */
struct filter_rule {
	__u32 action; /* FILTER_ACT_* */
	__u32 line;   /* policy line */
};

/* Which dimensions at least one rule matches on (filter_config.uses). */
#define FILTER_USES_DADDR  (1u << 0)
#define FILTER_USES_SADDR  (1u << 1)
#define FILTER_USES_DPORT  (1u << 2)
#define FILTER_USES_SPORT  (1u << 3)
#define FILTER_USES_PROTO  (1u << 4)
#define FILTER_USES_FAMILY (1u << 5)
#define FILTER_USES_TYPE   (1u << 6)

/* Index into filter_config.family / .type for sock_create. */
#define FILTER_FAMILY_INET  0
#define FILTER_FAMILY_INET6 1
#define FILTER_FAMILY_OTHER 2
#define FILTER_N_FAMILIES   3
#define FILTER_TYPE_STREAM  0
#define FILTER_TYPE_DGRAM   1
#define FILTER_TYPE_RAW	    2
#define FILTER_TYPE_OTHER   3
#define FILTER_N_TYPES	    4

/*
 * Map "config", ARRAY[1]: everything about the image that is not a table.
 * The wildcard masks hold the rules without a matcher on that dimension;
 * they match every packet, including one of the other address family or
 * one without ports.
 */
struct filter_config {
	__u32 n_rules;
	__u32 uses;	   /* FILTER_USES_* */
	__u32 dport_steps; /* binary search steps: map "dport" has 1 << steps entries */
	__u32 sport_steps;
	struct filter_mask all;	  /* a bit for every rule */
	struct filter_mask allow; /* the allow rules (the early verdict needs them) */
	struct filter_mask wild_daddr;
	struct filter_mask wild_saddr;
	struct filter_mask wild_dport;
	struct filter_mask wild_sport;
	struct filter_mask wild_proto;
	struct filter_mask family[FILTER_N_FAMILIES]; /* sock_create, wildcard folded in */
	struct filter_mask type[FILTER_N_TYPES];      /* sock_create, wildcard folded in */
	/* Fingerprint of the BPF object that filled this map; set by filter_load. */
	__u8 engine_digest[32];
};

/* Keys of the LPM maps "daddr4", "saddr4" and "daddr6", "saddr6". */
struct filter_lpm4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct filter_lpm6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/*
 * Maps "dport" and "sport", ARRAY[1 << steps]: intervals sorted by start,
 * the first starting at 0; padding entries start at FILTER_PORT_END so that
 * the search never selects them. The mask of an interval already includes
 * the wildcard rules.
 */
#define FILTER_PORT_END 0x10000u

struct filter_port_interval {
	__u32 start;
	__u32 pad;
	struct filter_mask mask;
};

/*
 * Map "counters", PERCPU_CGROUP_STORAGE keyed by cgroup id (__u64). For sock_create,
 * "packets" are sockets and bytes stay 0.
 */
struct filter_counters_value {
	__u64 pass_pkts;
	__u64 pass_bytes;
	__u64 drop_pkts;
	__u64 drop_bytes;
	__u64 hits[FILTER_MAX_RULES];
};

#endif
