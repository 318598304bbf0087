// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The policy file parser (pam_cgbpf.conf(5)).
 *
 * The buffer is never modified or copied line by line: tokens are slices of
 * it, and only what a rule keeps (names, paths) is duplicated. Everything that
 * grows (rules, lists, the who table) grows by doubling, so that a file at the
 * prefix limit parses in milliseconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"

#define LINE_MAX_BYTES (64u << 10)
#define NAME_MAX_CHARS 32	   /* useradd's limit for user and group names */
#define UID_MAX_VALID  4294967294u /* (uid_t)-1 means "no uid" to the kernel */
#define PACKET_HOOKS   (HOOK_BIT(HOOK_INGRESS) | HOOK_BIT(HOOK_EGRESS))
#define SOCK_HOOKS     HOOK_BIT(HOOK_SOCK_CREATE)
#define SHOW_MAX       64

struct tok {
	const char *s;
	size_t n;
};

/* One distinct who token and what the file has said about it so far, per hook. */
struct who_entry {
	uint64_t hash;
	enum who_kind kind;
	const char *name; /* owned by the first rule with this who */
	uint32_t lo, hi;
	unsigned int none_line[HOOK_COUNT];  /* first "none" line, 0 if none yet */
	unsigned int other_line[HOOK_COUNT]; /* first line with another action */
	unsigned int n_filter[HOOK_COUNT];
};

struct parser {
	const char *file;
	unsigned int line;
	struct cgbpf_error *err;
	struct policy *pol;
	size_t cap_rules;
	size_t n_prefixes;
	struct who_entry *who;
	size_t n_who, cap_who;
	uint32_t *slots; /* open addressing over who[]: index + 1, 0 = free */
	size_t n_slots;	 /* a power of two, or 0 */
};

/* One table, so that a hook's name and its programs' section cannot drift apart. */
const struct hook_info hook_info[HOOK_COUNT] = {
	[HOOK_INGRESS] = { "ingress", "cgroup_skb/ingress" },
	[HOOK_EGRESS] = { "egress", "cgroup_skb/egress" },
	[HOOK_SOCK_CREATE] = { "sock_create", "cgroup/sock_create" },
	[HOOK_CONNECT4] = { "connect4", "cgroup/connect4" },
	[HOOK_CONNECT6] = { "connect6", "cgroup/connect6" },
	[HOOK_SENDMSG4] = { "sendmsg4", "cgroup/sendmsg4" },
	[HOOK_SENDMSG6] = { "sendmsg6", "cgroup/sendmsg6" },
	[HOOK_BIND4] = { "bind4", "cgroup/bind4" },
	[HOOK_BIND6] = { "bind6", "cgroup/bind6" },
};

const char *hook_name(enum cgbpf_hook hook)
{
	if ((unsigned int)hook >= HOOK_COUNT)
		return "?";
	return hook_info[hook].name;
}

const char *who_class_name(enum who_class cls)
{
	switch (cls) {
	case CLASS_USER:
		return "user";
	case CLASS_GROUP:
		return "group";
	case CLASS_UID_RANGE:
		return "uid range";
	case CLASS_ANY:
		return "*";
	case CLASS_COUNT:
	case CLASS_NONE:
		break;
	}
	return "none";
}

__attribute__((format(printf, 3, 4))) static int fail(struct parser *ps, int errnum,
						      const char *fmt, ...)
{
	char msg[CGBPF_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cgbpf_error_at(ps->err, errnum, ps->file, ps->line, "%s", msg);
}

/* Tokens end up in log lines: keep them short and printable. */
static const char *show(char *buf, size_t size, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 4 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == SHOW_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	buf[o] = '\0';
	return buf;
}

#define SHOW(t) show((char[SHOW_MAX + 8]){ 0 }, SHOW_MAX + 8, (t)->s, (t)->n)

static bool tok_is(const struct tok *t, const char *word)
{
	size_t n = strlen(word);

	return t->n == n && !memcmp(t->s, word, n);
}

static bool next_token(const char **p, const char *end, struct tok *t)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	t->s = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	t->n = (size_t)(s - t->s);
	*p = s;
	return t->n > 0;
}

/* Splits the next comma-separated element off @list; false at the end. */
static bool next_element(struct tok *list, struct tok *elem)
{
	const char *comma;

	if (!list->s)
		return false;
	comma = memchr(list->s, ',', list->n);
	elem->s = list->s;
	if (comma) {
		elem->n = (size_t)(comma - list->s);
		list->n -= elem->n + 1;
		list->s = comma + 1;
	} else {
		elem->n = list->n;
		list->s = NULL;
		list->n = 0;
	}
	return true;
}

/* Decimal digits only (no sign, no spaces), at most @max. */
static bool parse_uint(const struct tok *t, uint64_t max, uint64_t *out)
{
	uint64_t v = 0, d;
	size_t i;

	if (t->n == 0)
		return false;
	for (i = 0; i < t->n; i++) {
		if (t->s[i] < '0' || t->s[i] > '9')
			return false;
		d = (uint64_t)(t->s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool is_name_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
		return true;
	return !first && (c == '.' || c == '-');
}

/* The portable user/group name set, plus Samba's trailing '$' for machine accounts. */
static bool valid_name(const struct tok *t)
{
	size_t i, n = t->n;

	if (n > 0 && t->s[n - 1] == '$')
		n--;
	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!is_name_char(t->s[i], i == 0))
			return false;
	return true;
}

static bool valid_identifier(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!is_name_char(s[i], true) || (i == 0 && s[i] >= '0' && s[i] <= '9'))
			return false;
	return true;
}

static int parse_uid(struct parser *ps, const struct tok *who, const struct tok *t, uint32_t *out)
{
	uint64_t v;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->s[i] < '0' || t->s[i] > '9')
			return fail(ps, EINVAL, "invalid uid range '%s'", SHOW(who));
	if (!parse_uint(t, UID_MAX_VALID, &v))
		return fail(ps, EINVAL, "uid %s out of range (0-%u)", SHOW(t), UID_MAX_VALID);
	*out = (uint32_t)v;
	return 0;
}

static int parse_who(struct parser *ps, const struct tok *t, struct rule *r)
{
	struct tok name = *t, lo, hi;
	const char *dash;
	size_t i;
	int ret;

	if (tok_is(t, "*")) {
		r->who = WHO_ANY;
		return 0;
	}

	/* Anything made only of digits and dashes is meant as a uid or a uid range. */
	for (i = 0; i < t->n; i++)
		if (!((t->s[i] >= '0' && t->s[i] <= '9') || t->s[i] == '-'))
			break;
	if (i == t->n) {
		r->who = WHO_UID_RANGE;
		dash = memchr(t->s, '-', t->n);
		if (!dash) {
			ret = parse_uid(ps, t, t, &r->uid_lo);
			r->uid_hi = r->uid_lo;
			return ret;
		}
		lo = (struct tok){ t->s, (size_t)(dash - t->s) };
		hi = (struct tok){ dash + 1, t->n - lo.n - 1 };
		if (lo.n == 0 && hi.n == 0)
			return fail(ps, EINVAL, "invalid uid range '-'");
		r->uid_lo = 0;
		r->uid_hi = UINT32_MAX;
		if (lo.n && (ret = parse_uid(ps, t, &lo, &r->uid_lo)) < 0)
			return ret;
		if (hi.n && (ret = parse_uid(ps, t, &hi, &r->uid_hi)) < 0)
			return ret;
		if (r->uid_lo > r->uid_hi)
			return fail(ps, EINVAL, "reversed uid range '%s'", SHOW(t));
		return 0;
	}

	r->who = WHO_USER;
	if (t->s[0] == '@') {
		r->who = WHO_GROUP;
		name.s++;
		name.n--;
	}
	if (!valid_name(&name))
		return fail(ps, EINVAL, "invalid %s name '%s'",
			    r->who == WHO_GROUP ? "group" : "user", SHOW(t));
	if (name.n > NAME_MAX_CHARS)
		return fail(ps, EINVAL, "%s name '%s' longer than %d characters",
			    r->who == WHO_GROUP ? "group" : "user", SHOW(t), NAME_MAX_CHARS);
	r->who_name = strndup(name.s, name.n);
	if (!r->who_name)
		return fail(ps, ENOMEM, "out of memory");
	return 0;
}

static int parse_hook(struct parser *ps, const struct tok *t, struct rule *r)
{
	int h;

	if (tok_is(t, "*")) {
		r->hooks = HOOK_ALL_BITS;
		return 0;
	}
	for (h = 0; h < HOOK_COUNT; h++) {
		if (tok_is(t, hook_info[h].name)) {
			r->hooks = HOOK_BIT(h);
			return 0;
		}
	}
	return fail(ps, EINVAL,
		    "unknown hook '%s' (expected ingress, egress, sock_create, connect4, connect6, "
		    "sendmsg4, sendmsg6, bind4, bind6 or *)",
		    SHOW(t));
}

/* Grows @*arr (of @size-byte items) so that one more fits. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static bool is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, prefix, sizeof(prefix));
}

static int parse_cidr(struct parser *ps, const char *key, const struct tok *t, struct cidr *c)
{
	char text[INET6_ADDRSTRLEN + 8], fixed[INET6_ADDRSTRLEN];
	unsigned int maxlen, i;
	bool host_bits = false;
	struct tok len;
	uint64_t plen;
	char *slash;
	int family;

	if (t->n >= sizeof(text))
		return fail(ps, EINVAL, "%s=: invalid address '%s'", key, SHOW(t));
	memcpy(text, t->s, t->n);
	text[t->n] = '\0';

	slash = strchr(text, '/');
	if (slash)
		*slash = '\0';
	family = strchr(text, ':') ? AF_INET6 : AF_INET;
	maxlen = family == AF_INET ? 32 : 128;
	memset(c, 0, sizeof(*c));
	if (inet_pton(family, text, c->addr) != 1)
		return fail(ps, EINVAL, "%s=: invalid address '%s'", key, SHOW(t));
	plen = maxlen;
	if (slash) {
		len = (struct tok){ slash + 1, strlen(slash + 1) };
		if (len.n > 3 || !parse_uint(&len, 255, &plen))
			return fail(ps, EINVAL, "%s=: invalid prefix length in '%s'", key, SHOW(t));
		if (plen > maxlen)
			return fail(ps, EINVAL,
				    "%s=: prefix length %u out of range in '%s' (max %u)", key,
				    (unsigned int)plen, SHOW(t), maxlen);
	}
	c->family = (uint8_t)family;
	c->prefixlen = (uint8_t)plen;

	/* A set host bit means the administrator meant a different network than written. */
	for (i = c->prefixlen; i < maxlen; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		if (c->addr[i / 8] & bit) {
			host_bits = true;
			c->addr[i / 8] &= (uint8_t)~bit;
		}
	}
	if (host_bits) {
		if (!inet_ntop(family, c->addr, fixed, sizeof(fixed)))
			fixed[0] = '\0';
		return fail(ps, EINVAL, "%s=: host bits set in '%s' (did you mean %s/%u?)", key,
			    SHOW(t), fixed, c->prefixlen);
	}

	/* Mapped traffic leaves the host as IPv4, and the filter matches it as such. */
	if (family == AF_INET6 && c->prefixlen >= 96 && is_v4_mapped(c->addr)) {
		c->family = AF_INET;
		c->prefixlen -= 96;
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
	}
	return 0;
}

static int parse_port_range(struct parser *ps, const char *key, const struct tok *t,
			    struct port_range *pr)
{
	const char *dash = memchr(t->s, '-', t->n);
	struct tok lo = *t, hi = *t;
	uint64_t a, b;

	if (dash) {
		lo.n = (size_t)(dash - t->s);
		hi.s = dash + 1;
		hi.n = t->n - lo.n - 1;
	}
	if (!parse_uint(&lo, 65535, &a) || !parse_uint(&hi, 65535, &b))
		return fail(ps, EINVAL, "%s=: invalid port or range '%s' (ports are 0-65535)", key,
			    SHOW(t));
	if (a > b)
		return fail(ps, EINVAL, "%s=: reversed port range '%s'", key, SHOW(t));
	pr->lo = (uint16_t)a;
	pr->hi = (uint16_t)b;
	return 0;
}

static int parse_proto(struct parser *ps, const struct tok *t, uint64_t proto[4])
{
	static const struct {
		const char *name;
		unsigned int num;
	} names[] = { { "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "icmpv6", 58 } };
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (tok_is(t, names[i].name)) {
			v = names[i].num;
			goto found;
		}
	}
	if (t->n > 3 || !parse_uint(t, 255, &v))
		return fail(ps, EINVAL,
			    "proto=: unknown protocol '%s' (tcp, udp, icmp, icmpv6 or 0-255)",
			    SHOW(t));
found:
	proto[v / 64] |= 1ull << (v % 64);
	return 0;
}

enum value_kind { V_CIDR, V_PORT, V_PROTO, V_FAMILY, V_TYPE };

static const struct matcher_def {
	const char *key;
	unsigned int bit;
	unsigned int hooks; /* the hooks it applies to */
	enum value_kind kind;
} matcher_defs[] = {
	{ "daddr", M_DADDR, PACKET_HOOKS, V_CIDR },
	{ "saddr", M_SADDR, PACKET_HOOKS, V_CIDR },
	{ "dport", M_DPORT, PACKET_HOOKS, V_PORT },
	{ "sport", M_SPORT, PACKET_HOOKS, V_PORT },
	{ "proto", M_PROTO, PACKET_HOOKS | SOCK_HOOKS, V_PROTO },
	{ "family", M_FAMILY, SOCK_HOOKS, V_FAMILY },
	{ "type", M_TYPE, SOCK_HOOKS, V_TYPE },
};

static int parse_element(struct parser *ps, const struct matcher_def *md, const struct tok *e,
			 struct rule *r, size_t *cap)
{
	struct cidr **cidrs = md->bit == M_DADDR ? &r->daddr : &r->saddr;
	size_t *n_cidrs = md->bit == M_DADDR ? &r->n_daddr : &r->n_saddr;
	struct port_range **ports = md->bit == M_DPORT ? &r->dport : &r->sport;
	size_t *n_ports = md->bit == M_DPORT ? &r->n_dport : &r->n_sport;
	int ret;

	switch (md->kind) {
	case V_CIDR:
		if (grow((void **)cidrs, cap, *n_cidrs, sizeof(**cidrs)) < 0)
			return fail(ps, ENOMEM, "out of memory");
		ret = parse_cidr(ps, md->key, e, &(*cidrs)[*n_cidrs]);
		if (ret == 0)
			(*n_cidrs)++;
		return ret;
	case V_PORT:
		if (*n_ports == POLICY_MAX_PORT_RANGES)
			return fail(ps, E2BIG, "%s=: more than %d ports or ranges", md->key,
				    POLICY_MAX_PORT_RANGES);
		if (grow((void **)ports, cap, *n_ports, sizeof(**ports)) < 0)
			return fail(ps, ENOMEM, "out of memory");
		ret = parse_port_range(ps, md->key, e, &(*ports)[*n_ports]);
		if (ret == 0)
			(*n_ports)++;
		return ret;
	case V_PROTO:
		return parse_proto(ps, e, r->proto);
	case V_FAMILY:
		if (tok_is(e, "inet"))
			r->families |= FAMILY_INET;
		else if (tok_is(e, "inet6"))
			r->families |= FAMILY_INET6;
		else
			return fail(ps, EINVAL, "family=: unknown family '%s' (inet or inet6)",
				    SHOW(e));
		return 0;
	case V_TYPE:
		if (tok_is(e, "stream"))
			r->types |= TYPE_STREAM;
		else if (tok_is(e, "dgram"))
			r->types |= TYPE_DGRAM;
		else if (tok_is(e, "raw"))
			r->types |= TYPE_RAW;
		else
			return fail(ps, EINVAL, "type=: unknown type '%s' (stream, dgram or raw)",
				    SHOW(e));
		return 0;
	}
	return fail(ps, EINVAL, "internal error: matcher kind");
}

static int parse_matcher(struct parser *ps, const struct tok *t, struct rule *r)
{
	const struct matcher_def *md = NULL;
	const char *eq = memchr(t->s, '=', t->n);
	struct tok key, list, e;
	size_t i, cap = 0;
	int h, ret;

	if (!eq)
		return fail(ps, EINVAL, "unexpected '%s' (expected key=value)", SHOW(t));
	key = (struct tok){ t->s, (size_t)(eq - t->s) };
	list = (struct tok){ eq + 1, t->n - key.n - 1 };
	for (i = 0; i < sizeof(matcher_defs) / sizeof(matcher_defs[0]); i++)
		if (tok_is(&key, matcher_defs[i].key))
			md = &matcher_defs[i];
	if (!md)
		return fail(ps, EINVAL, "unknown matcher '%s='", SHOW(&key));
	if (r->matchers & md->bit)
		return fail(ps, EINVAL, "matcher %s= given twice", md->key);
	for (h = 0; h < HOOK_COUNT; h++)
		if ((r->hooks & HOOK_BIT(h)) && !(md->hooks & HOOK_BIT(h)))
			return fail(ps, EINVAL, "matcher %s= does not apply to hook %s", md->key,
				    hook_info[h].name);
	r->matchers |= md->bit;
	if (list.n == 0)
		return fail(ps, EINVAL, "%s=: empty list", md->key);
	while (next_element(&list, &e)) {
		if (e.n == 0)
			return fail(ps, EINVAL, "%s=: empty list element", md->key);
		ret = parse_element(ps, md, &e, r, &cap);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int parse_path(struct parser *ps, const char *action, const struct tok *t, char **out)
{
	if (t->n >= PATH_MAX)
		return fail(ps, EINVAL, "%s path longer than %d bytes", action, PATH_MAX - 1);
	*out = strndup(t->s, t->n);
	if (!*out)
		return fail(ps, ENOMEM, "out of memory");
	return 0;
}

static int parse_action(struct parser *ps, const struct tok *t, const char **p, const char *end,
			struct rule *r)
{
	struct tok arg, name;
	const char *colon;
	int ret;

	if (tok_is(t, "allow") || tok_is(t, "deny")) {
		r->action = tok_is(t, "allow") ? ACT_ALLOW : ACT_DENY;
		if (r->hooks & ~HOOK_ALL_BITS)
			return fail(ps, EINVAL,
				    "hook %s takes only program, pinned or none lines (the "
				    "built-in connect and sendmsg checks are compiled from the "
				    "egress rules)",
				    hook_info[__builtin_ctz(r->hooks)].name);
		while (next_token(p, end, &arg)) {
			ret = parse_matcher(ps, &arg, r);
			if (ret < 0)
				return ret;
		}
		return 0;
	}

	if (tok_is(t, "none")) {
		r->action = ACT_NONE;
		if (r->hooks == HOOK_ALL_BITS) /* '*' */
			r->hooks = HOOK_EVERY_BITS;
	} else if (tok_is(t, "program") || tok_is(t, "pinned")) {
		r->action = tok_is(t, "program") ? ACT_PROGRAM : ACT_PINNED;
		if (r->hooks == HOOK_ALL_BITS)
			return fail(ps, EINVAL, "%s names one hook, not *", SHOW(t));
		if (!next_token(p, end, &arg))
			return fail(ps, EINVAL, "%s needs a PATH", SHOW(t));
		if (arg.s[0] != '/')
			return fail(ps, EINVAL, "%s path must be absolute: '%s'", SHOW(t),
				    SHOW(&arg));
		/* ":NAME" only after the last '/', so that directories may contain ':'. */
		colon = r->action == ACT_PROGRAM ? memrchr(arg.s, ':', arg.n) : NULL;
		if (colon && !memchr(colon, '/', arg.n - (size_t)(colon - arg.s))) {
			name = (struct tok){ colon + 1, arg.n - (size_t)(colon - arg.s) - 1 };
			if (!valid_identifier(name.s, name.n))
				return fail(ps, EINVAL, "program name '%s' is not a C identifier",
					    SHOW(&name));
			r->prog_name = strndup(name.s, name.n);
			if (!r->prog_name)
				return fail(ps, ENOMEM, "out of memory");
			arg.n -= name.n + 1;
		}
		ret = parse_path(ps, r->action == ACT_PROGRAM ? "program" : "pinned", &arg,
				 &r->path);
		if (ret < 0)
			return ret;
	} else {
		return fail(ps, EINVAL,
			    "unknown action '%s' (expected allow, deny, program, pinned or none)",
			    SHOW(t));
	}

	if (next_token(p, end, &arg)) {
		if (memchr(arg.s, '=', arg.n))
			return fail(ps, EINVAL, "%s takes no matchers: '%s'", SHOW(t), SHOW(&arg));
		return fail(ps, EINVAL, "unexpected '%s' after %s", SHOW(&arg),
			    r->action == ACT_NONE ? "none" : "the path");
	}
	return 0;
}

static void rule_free(struct rule *r)
{
	free(r->who_name);
	free(r->path);
	free(r->prog_name);
	free(r->daddr);
	free(r->saddr);
	free(r->dport);
	free(r->sport);
}

/* Returns 1 and fills @r for a rule, 0 for a blank line, or a negative errno. */
static int parse_line(struct parser *ps, const char *s, const char *end, struct rule *r)
{
	struct tok who, hook, action;
	int ret;

	if (!next_token(&s, end, &who))
		return 0;
	r->line = ps->line;
	ret = parse_who(ps, &who, r);
	if (ret < 0)
		return ret;
	if (!next_token(&s, end, &hook))
		return fail(ps, EINVAL, "missing hook after '%s'", SHOW(&who));
	ret = parse_hook(ps, &hook, r);
	if (ret < 0)
		return ret;
	if (!next_token(&s, end, &action))
		return fail(ps, EINVAL, "missing action after '%s'", SHOW(&hook));
	ret = parse_action(ps, &action, &s, end, r);
	return ret < 0 ? ret : 1;
}

static uint64_t who_hash(const struct rule *r)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */
	const char *c;

	h = (h ^ (uint64_t)r->who) * 1099511628211ull;
	if (r->who_name) {
		for (c = r->who_name; *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ull;
	} else {
		h = (h ^ r->uid_lo) * 1099511628211ull;
		h = (h ^ r->uid_hi) * 1099511628211ull;
	}
	return h;
}

static bool who_equal(const struct who_entry *e, uint64_t hash, const struct rule *r)
{
	if (e->hash != hash || e->kind != r->who)
		return false;
	if (r->who_name)
		return !strcmp(e->name, r->who_name);
	return e->lo == r->uid_lo && e->hi == r->uid_hi;
}

static int who_rehash(struct parser *ps)
{
	size_t n = ps->n_slots ? ps->n_slots * 2 : 64, i, j;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < ps->n_who; i++) {
		for (j = ps->who[i].hash & (n - 1); slots[j]; j = (j + 1) & (n - 1))
			;
		slots[j] = (uint32_t)(i + 1);
	}
	free(ps->slots);
	ps->slots = slots;
	ps->n_slots = n;
	return 0;
}

/* Finds or adds the entry for @r's who token; returns its index or a negative errno. */
static long who_lookup(struct parser *ps, const struct rule *r)
{
	uint64_t hash = who_hash(r);
	struct who_entry *e;
	size_t j;

	if ((ps->n_who + 1) * 2 > ps->n_slots && who_rehash(ps) < 0)
		return -ENOMEM;
	for (j = hash & (ps->n_slots - 1); ps->slots[j]; j = (j + 1) & (ps->n_slots - 1))
		if (who_equal(&ps->who[ps->slots[j] - 1], hash, r))
			return (long)ps->slots[j] - 1;
	if (grow((void **)&ps->who, &ps->cap_who, ps->n_who, sizeof(*ps->who)) < 0)
		return -ENOMEM;
	e = &ps->who[ps->n_who];
	memset(e, 0, sizeof(*e));
	e->hash = hash;
	e->kind = r->who;
	e->name = r->who_name;
	e->lo = r->uid_lo;
	e->hi = r->uid_hi;
	ps->slots[j] = (uint32_t)(ps->n_who + 1);
	return (long)ps->n_who++;
}

/* The checks that need the lines before this one. */
static int check_rule(struct parser *ps, const struct rule *r, const struct tok *who)
{
	bool is_filter = r->action == ACT_ALLOW || r->action == ACT_DENY;
	unsigned int conflict;
	struct who_entry *e;
	long idx;
	int h;

	if (r->n_daddr + r->n_saddr > POLICY_MAX_PREFIXES - ps->n_prefixes)
		return fail(ps, E2BIG, "more than %d address prefixes in the file",
			    POLICY_MAX_PREFIXES);

	idx = who_lookup(ps, r);
	if (idx < 0)
		return fail(ps, ENOMEM, "out of memory");
	e = &ps->who[idx];
	for (h = 0; h < HOOK_COUNT; h++) {
		if (!(r->hooks & HOOK_BIT(h)))
			continue;
		conflict = r->action == ACT_NONE ? e->other_line[h] : e->none_line[h];
		if (conflict)
			return fail(ps, EINVAL, "none mixed with other rules for %s %s (line %u)",
				    SHOW(who), hook_info[h].name, conflict);
		if (is_filter && e->n_filter[h] >= POLICY_MAX_RULES_PER_HOOK)
			return fail(ps, E2BIG, "more than %d allow/deny rules for %s %s",
				    POLICY_MAX_RULES_PER_HOOK, SHOW(who), hook_info[h].name);
	}

	for (h = 0; h < HOOK_COUNT; h++) {
		if (!(r->hooks & HOOK_BIT(h)))
			continue;
		if (r->action == ACT_NONE && !e->none_line[h])
			e->none_line[h] = r->line;
		if (r->action != ACT_NONE && !e->other_line[h])
			e->other_line[h] = r->line;
		if (is_filter)
			e->n_filter[h]++;
	}
	ps->n_prefixes += r->n_daddr + r->n_saddr;
	return 0;
}

static int add_rule(struct parser *ps, const char *s, const char *end)
{
	struct rule r = { 0 };
	struct tok who;
	const char *p = s;
	int ret;

	ret = parse_line(ps, s, end, &r);
	if (ret <= 0)
		goto out;
	next_token(&p, end, &who);
	ret = check_rule(ps, &r, &who);
	if (ret < 0)
		goto out;
	if (grow((void **)&ps->pol->rules, &ps->cap_rules, ps->pol->n_rules, sizeof(r)) < 0) {
		ret = fail(ps, ENOMEM, "out of memory");
		goto out;
	}
	ps->pol->rules[ps->pol->n_rules++] = r;
	return 0;
out:
	rule_free(&r);
	return ret;
}

int policy_parse(const char *buf, size_t len, const char *file, struct policy **out,
		 struct cgbpf_error *err)
{
	struct parser ps = { .file = file ? file : "(policy)", .err = err };
	const char *p = buf, *end = buf + len, *eol, *stop, *hash;
	size_t n;
	int ret;

	*out = NULL;
	ps.line = 1;
	if (!buf && len) {
		ret = fail(&ps, EINVAL, "no buffer");
		goto out;
	}
	if (len > POLICY_MAX_FILE_SIZE) {
		ret = fail(&ps, E2BIG, "file larger than %u bytes", POLICY_MAX_FILE_SIZE);
		goto out;
	}
	ps.pol = calloc(1, sizeof(*ps.pol));
	if (ps.pol)
		ps.pol->file = strdup(ps.file);
	if (!ps.pol || !ps.pol->file) {
		ret = fail(&ps, ENOMEM, "out of memory");
		goto out;
	}

	for (ret = 0; p && p < end; p = eol ? eol + 1 : NULL, ps.line++) {
		eol = memchr(p, '\n', (size_t)(end - p));
		stop = eol ? eol : end;
		n = (size_t)(stop - p);
		if (n > LINE_MAX_BYTES) {
			ret = fail(&ps, EINVAL, "line longer than %u bytes", LINE_MAX_BYTES);
			goto out;
		}
		if (memchr(p, '\0', n)) {
			ret = fail(&ps, EINVAL, "NUL byte in line");
			goto out;
		}
		/* Tolerate CRLF files: an editor's choice, not a mistake in the policy. */
		if (n && p[n - 1] == '\r')
			stop--;
		hash = memchr(p, '#', (size_t)(stop - p));
		if (hash)
			stop = hash;
		ret = add_rule(&ps, p, stop);
		if (ret < 0)
			goto out;
	}
	*out = ps.pol;
	ps.pol = NULL;
out:
	free(ps.slots);
	free(ps.who);
	policy_free(ps.pol);
	return ret;
}

void policy_free(struct policy *policy)
{
	size_t i;

	if (!policy)
		return;
	for (i = 0; i < policy->n_rules; i++)
		rule_free(&policy->rules[i]);
	free(policy->rules);
	free(policy->file);
	free(policy);
}
