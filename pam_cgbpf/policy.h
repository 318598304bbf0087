/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy file: its parsed form and the parser.
 *
 * Pure code: no PAM, no libbpf, no file system. The parser takes a buffer and
 * returns either a whole policy or one "FILE:LINE: message" error; nothing is
 * ever half-parsed.
 */
#ifndef CGBPF_POLICY_H
#define CGBPF_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * The first three take allow/deny rules; the socket-address hooks take only
 * program, pinned and none lines from the policy. The built-in connect4,
 * connect6, sendmsg4 and sendmsg6 programs are compiled from the egress rules.
 */
enum cgbpf_hook {
	HOOK_INGRESS = 0,
	HOOK_EGRESS = 1,
	HOOK_SOCK_CREATE = 2,
	HOOK_CONNECT4 = 3,
	HOOK_CONNECT6 = 4,
	HOOK_SENDMSG4 = 5,
	HOOK_SENDMSG6 = 6,
	HOOK_BIND4 = 7,
	HOOK_BIND6 = 8,
	HOOK_COUNT = 9,
};

#define HOOK_BIT(h) (1u << (h))
/* '*' on an allow, deny, program or pinned line: the three rule hooks. */
#define HOOK_ALL_BITS (HOOK_BIT(HOOK_INGRESS) | HOOK_BIT(HOOK_EGRESS) | HOOK_BIT(HOOK_SOCK_CREATE))
/* '*' on a none line: every hook, so that "root * none" exempts from all of them. */
#define HOOK_EVERY_BITS ((1u << HOOK_COUNT) - 1)
/* The hooks whose built-in program is the egress rules' early verdict. */
#define HOOK_EARLY_BITS                                                                            \
	(HOOK_BIT(HOOK_CONNECT4) | HOOK_BIT(HOOK_CONNECT6) | HOOK_BIT(HOOK_SENDMSG4) |             \
	 HOOK_BIT(HOOK_SENDMSG6))

/*
 * Each hook's name in the policy and the ELF section (libbpf's SEC()) a program for it is in:
 * "egress" and "cgroup_skb/egress", "connect4" and "cgroup/connect4"...
 */
struct hook_info {
	const char *name, *section;
};
extern const struct hook_info hook_info[HOOK_COUNT];

/* "ingress", "egress", "sock_create", "connect4", ...; "?" for no hook. */
const char *hook_name(enum cgbpf_hook hook);

/* Whether allow/deny lines may name @hook. */
static inline int hook_takes_rules(enum cgbpf_hook hook)
{
	return (HOOK_ALL_BITS >> hook) & 1;
}

/* Whether @hook is one of the egress rules' early-verdict hooks. */
static inline int hook_is_early(enum cgbpf_hook hook)
{
	return (HOOK_EARLY_BITS >> hook) & 1;
}

enum who_kind {
	WHO_USER,      /* username */
	WHO_GROUP,     /* @group */
	WHO_UID_RANGE, /* lo-hi, lo-, -hi, or a single uid */
	WHO_ANY,       /* * */
};

/* Resolution classes, in the order in which they are consulted. */
enum who_class {
	CLASS_USER = 0,
	CLASS_GROUP = 1,
	CLASS_UID_RANGE = 2,
	CLASS_ANY = 3,
	CLASS_COUNT = 4,
	CLASS_NONE = -1,
};

const char *who_class_name(enum who_class cls);

enum action_kind {
	ACT_ALLOW,
	ACT_DENY,
	ACT_PROGRAM, /* program PATH[:NAME] */
	ACT_PINNED,  /* pinned PATH */
	ACT_NONE,    /* none */
};

/* Which matchers a rule carries. */
enum matcher_bit {
	M_DADDR = 1u << 0,
	M_SADDR = 1u << 1,
	M_DPORT = 1u << 2,
	M_SPORT = 1u << 3,
	M_PROTO = 1u << 4,
	M_FAMILY = 1u << 5, /* sock_create only */
	M_TYPE = 1u << 6,   /* sock_create only */
};

/*
 * An address prefix. IPv4 addresses live in addr[0..3]. An IPv4-mapped IPv6
 * prefix (::ffff:a.b.c.d/len, len >= 96) is normalised to IPv4 by the parser,
 * because such traffic leaves the host as IPv4. Host bits beyond prefixlen are
 * zero.
 */
struct cidr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefixlen;
	uint8_t addr[16];
};

struct port_range {
	uint16_t lo, hi; /* inclusive, lo <= hi */
};

/* Bit sets for the small enumerations of sock_create. */
#define FAMILY_INET  (1u << 0)
#define FAMILY_INET6 (1u << 1)
#define TYPE_STREAM  (1u << 0)
#define TYPE_DGRAM   (1u << 1)
#define TYPE_RAW     (1u << 2)

struct rule {
	unsigned int line; /* 1-based line in the policy file */

	enum who_kind who;
	char *who_name;		 /* WHO_USER: user name; WHO_GROUP: group name without '@' */
	uint32_t uid_lo, uid_hi; /* WHO_UID_RANGE, inclusive; open ends are 0 / UINT32_MAX */

	unsigned int hooks; /* HOOK_BIT set; '*' is HOOK_ALL_BITS, or HOOK_EVERY_BITS on none */

	enum action_kind action;
	char *path;	 /* ACT_PROGRAM, ACT_PINNED: absolute path */
	char *prog_name; /* ACT_PROGRAM: the ":NAME" part, or NULL */

	unsigned int matchers; /* enum matcher_bit set */
	struct cidr *daddr;
	size_t n_daddr;
	struct cidr *saddr;
	size_t n_saddr;
	struct port_range *dport;
	size_t n_dport;
	struct port_range *sport;
	size_t n_sport;
	uint64_t proto[4];     /* bit n set = IP protocol (or socket protocol) n */
	unsigned int families; /* FAMILY_* set */
	unsigned int types;    /* TYPE_* set */
};

struct policy {
	char *file; /* the name used in error messages */
	struct rule *rules;
	size_t n_rules;
};

/* Limits; exceeding one is a FILE:LINE error at parse time. */
#define POLICY_MAX_RULES_PER_HOOK 256	 /* filter rules per (who, hook) class list */
#define POLICY_MAX_PREFIXES	  100000 /* daddr + saddr prefixes in the whole file */
#define POLICY_MAX_PORT_RANGES	  64	 /* per matcher */
#define POLICY_MAX_FILE_SIZE	  (16u << 20)

/*
 * Parses a whole policy. @file is used in error messages only. On success
 * returns 0 and *out owns a new policy; on failure returns a negative errno
 * (-EINVAL for a syntax or semantic error, -E2BIG for a limit, -ENOMEM), sets
 * *out to NULL and fills @err with "FILE:LINE: message".
 */
int policy_parse(const char *buf, size_t len, const char *file, struct policy **out,
		 struct cgbpf_error *err);

/* Accepts NULL. */
void policy_free(struct policy *policy);
static inline void policy_freep(struct policy **p)
{
	policy_free(*p);
}
#define _cleanup_policy_ __attribute__((cleanup(policy_freep)))

#endif
