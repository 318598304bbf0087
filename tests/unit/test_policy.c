// SPDX-License-Identifier: GPL-2.0-or-later
/* The policy parser: every field of good lines, the exact line of every bad one, the limits. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "policy.h"
#include "unit.h"

#define FILE_NAME "t.conf"

static int parse(const char *text, size_t len, struct policy **p, struct cgbpf_error *err)
{
	memset(err, 0, sizeof(*err));
	return policy_parse(text, len, FILE_NAME, p, err);
}

static int parse_str(const char *text, struct policy **p, struct cgbpf_error *err)
{
	return parse(text, strlen(text), p, err);
}

static bool proto_has(const struct rule *r, unsigned int n)
{
	return (r->proto[n / 64] >> (n % 64)) & 1;
}

static bool proto_count_is(const struct rule *r, int want)
{
	int i, n = 0;

	for (i = 0; i < 256; i++)
		n += proto_has(r, (unsigned int)i);
	return n == want;
}

static bool cidr_is(const struct cidr *c, int family, const char *addr, unsigned int len)
{
	uint8_t want[16] = { 0 };

	if (inet_pton(family, addr, want) != 1)
		return false;
	return c->family == family && c->prefixlen == len && !memcmp(c->addr, want, 16);
}

struct bad_case {
	const char *text;
	size_t len;
	int ret;
	unsigned int line;
	const char *needle;
};

/* sizeof, not strlen: some cases hold a NUL byte. */
#define BAD(text, ret, line, needle)                                                               \
	{                                                                                          \
		text, sizeof(text) - 1, ret, line, needle                                          \
	}

static const struct bad_case bad_cases[] = {
	BAD("alice\n", -EINVAL, 1, "missing hook after 'alice'"),
	BAD("# comment\n\nalice egress\n", -EINVAL, 3, "missing action after 'egress'"),
	BAD("alice egress allow\nalice bogus allow\n", -EINVAL, 2, "unknown hook 'bogus'"),
	BAD("alice Egress allow\n", -EINVAL, 1, "unknown hook 'Egress'"),
	BAD("\n\n\n\nalice egress permit\n", -EINVAL, 5, "unknown action 'permit'"),
	BAD("al!ce egress allow\n", -EINVAL, 1, "invalid user name 'al!ce'"),
	BAD("-alice egress allow\n", -EINVAL, 1, "invalid user name '-alice'"),
	BAD("a$b egress allow\n", -EINVAL, 1, "invalid user name 'a$b'"),
	BAD("@ egress allow\n", -EINVAL, 1, "invalid group name '@'"),
	BAD("#\n@gr%p egress allow\n", -EINVAL, 2, "invalid group name '@gr%p'"),
	BAD("abcdefghijabcdefghijabcdefghijabc egress allow\n", -EINVAL, 1,
	    "longer than 32 characters"),
	BAD("x y z\n2000-1000 egress allow\n", -EINVAL, 1, "unknown hook 'y'"),
	BAD("#\n2000-1000 egress allow\n", -EINVAL, 2, "reversed uid range '2000-1000'"),
	BAD("4294967295 egress allow\n", -EINVAL, 1, "uid 4294967295 out of range"),
	BAD("99999999999999999999999 egress allow\n", -EINVAL, 1, "out of range"),
	BAD("1-2-3 egress allow\n", -EINVAL, 1, "invalid uid range '1-2-3'"),
	BAD("- egress allow\n", -EINVAL, 1, "invalid uid range '-'"),
	BAD("* * program /x.o\n", -EINVAL, 1, "program names one hook"),
	BAD("\n* * pinned /sys/fs/bpf/x\n", -EINVAL, 2, "pinned names one hook"),
	BAD("* egress program x.o\n", -EINVAL, 1, "program path must be absolute: 'x.o'"),
	BAD("* egress pinned sys/fs/bpf/x\n", -EINVAL, 1, "pinned path must be absolute"),
	BAD("* egress program\n", -EINVAL, 1, "program needs a PATH"),
	BAD("* egress program # /x.o\n", -EINVAL, 1, "program needs a PATH"),
	BAD("* egress program /x.o:1abc\n", -EINVAL, 1,
	    "program name '1abc' is not a C identifier"),
	BAD("* egress program /x.o:\n", -EINVAL, 1, "is not a C identifier"),
	BAD("* egress program /x.o extra\n", -EINVAL, 1, "unexpected 'extra' after the path"),
	BAD("* egress program /x.o daddr=1.2.3.4\n", -EINVAL, 1, "program takes no matchers"),
	BAD("* egress pinned /p dport=22\n", -EINVAL, 1, "pinned takes no matchers"),
	BAD("* egress none extra\n", -EINVAL, 1, "unexpected 'extra' after none"),
	BAD("* egress none proto=tcp\n", -EINVAL, 1, "none takes no matchers"),
	BAD("* egress allow foo=1\n", -EINVAL, 1, "unknown matcher 'foo='"),
	BAD("* egress allow =1\n", -EINVAL, 1, "unknown matcher '='"),
	BAD("* egress allow junk\n", -EINVAL, 1, "unexpected 'junk' (expected key=value)"),
	BAD("* egress allow daddr=\n", -EINVAL, 1, "daddr=: empty list"),
	BAD("* egress allow daddr=1.2.3.4,\n", -EINVAL, 1, "daddr=: empty list element"),
	BAD("* egress allow daddr=,1.2.3.4\n", -EINVAL, 1, "daddr=: empty list element"),
	BAD("* egress allow dport=22,,23\n", -EINVAL, 1, "dport=: empty list element"),
	BAD("* egress allow daddr=1.2.3.4 daddr=1.2.3.5\n", -EINVAL, 1,
	    "matcher daddr= given twice"),
	BAD("* sock_create allow daddr=1.2.3.4\n", -EINVAL, 1,
	    "matcher daddr= does not apply to hook sock_create"),
	BAD("* * allow daddr=1.2.3.4\n", -EINVAL, 1,
	    "matcher daddr= does not apply to hook sock_create"),
	BAD("* sock_create deny sport=1\n", -EINVAL, 1, "matcher sport= does not apply"),
	BAD("* egress allow family=inet\n", -EINVAL, 1,
	    "matcher family= does not apply to hook egress"),
	BAD("* * deny type=raw\n", -EINVAL, 1, "matcher type= does not apply to hook ingress"),
	BAD("* egress allow daddr=10.0.0.1/8\n", -EINVAL, 1,
	    "host bits set in '10.0.0.1/8' (did you mean 10.0.0.0/8?)"),
	BAD("* egress allow saddr=2001:db8::1/32\n", -EINVAL, 1,
	    "saddr=: host bits set in '2001:db8::1/32' (did you mean 2001:db8::/32?)"),
	BAD("* egress allow daddr=1.2.3.4/33\n", -EINVAL, 1, "prefix length 33 out of range"),
	BAD("* egress allow daddr=::1/129\n", -EINVAL, 1, "prefix length 129 out of range"),
	BAD("* egress allow daddr=1.2.3/24\n", -EINVAL, 1, "daddr=: invalid address '1.2.3/24'"),
	BAD("* egress allow daddr=1.2.3.4/\n", -EINVAL, 1, "invalid prefix length"),
	BAD("* egress allow daddr=1.2.3.4/x\n", -EINVAL, 1, "invalid prefix length"),
	BAD("* egress allow daddr=1.2.3.4/-1\n", -EINVAL, 1, "invalid prefix length"),
	BAD("* egress allow daddr=fe80::1%eth0\n", -EINVAL, 1, "invalid address"),
	BAD("* egress allow daddr=example.com\n", -EINVAL, 1, "invalid address 'example.com'"),
	BAD("* egress allow dport=65536\n", -EINVAL, 1, "dport=: invalid port or range '65536'"),
	BAD("* egress allow sport=2000-1000\n", -EINVAL, 1,
	    "sport=: reversed port range '2000-1000'"),
	BAD("* egress allow dport=1-\n", -EINVAL, 1, "invalid port or range '1-'"),
	BAD("* egress allow dport=http\n", -EINVAL, 1, "invalid port or range 'http'"),
	BAD("* egress allow dport=+22\n", -EINVAL, 1, "invalid port or range '+22'"),
	BAD("* egress allow proto=sctpx\n", -EINVAL, 1, "unknown protocol 'sctpx'"),
	BAD("* egress allow proto=256\n", -EINVAL, 1, "unknown protocol '256'"),
	BAD("* egress allow proto=TCP\n", -EINVAL, 1, "unknown protocol 'TCP'"),
	BAD("* sock_create allow family=ipx\n", -EINVAL, 1, "unknown family 'ipx'"),
	BAD("* sock_create allow type=seqpacket\n", -EINVAL, 1, "unknown type 'seqpacket'"),
	BAD("alice * none\nalice egress allow\n", -EINVAL, 2,
	    "none mixed with other rules for alice egress (line 1)"),
	BAD("@g egress deny\n#\n@g * none\n", -EINVAL, 3,
	    "none mixed with other rules for @g egress (line 1)"),
	BAD("1000-1999 sock_create program /x.o\n1000-1999 sock_create none\n", -EINVAL, 2,
	    "none mixed with other rules for 1000-1999 sock_create (line 1)"),
	BAD("1000 egress none\nbob egress deny\n1000-1000 egress allow\n", -EINVAL, 3,
	    "none mixed with other rules for 1000-1000 egress (line 1)"),
	BAD("alice egress allow\n* egress allow daddr=bad # x\n", -EINVAL, 2,
	    "invalid address 'bad'"),
	BAD("alice\tegress\tallow\tdport=22\r\n* egress frob\r\n", -EINVAL, 2,
	    "unknown action 'frob'"),
	BAD("alice egress allow\n\n* eg\0ress deny\n", -EINVAL, 3, "NUL byte"),
	BAD("* egress allow # \0 in a comment\n", -EINVAL, 1, "NUL byte"),
	BAD("* connect4 deny\n", -EINVAL, 1,
	    "hook connect4 takes only program, pinned or none lines"),
	BAD("x egress allow\n* bind6 allow dport=22\n", -EINVAL, 2,
	    "hook bind6 takes only program, pinned or none lines"),
	BAD("* sendmsg4 allow daddr=::1\n", -EINVAL, 1, "hook sendmsg4 takes only program"),
	BAD("* connect6 none\n* connect6 pinned /sys/fs/bpf/x\n", -EINVAL, 2,
	    "none mixed with other rules for * connect6 (line 1)"),
	/* '*' on a none line is every hook, the socket-address hooks too. */
	BAD("root * none\nroot connect6 program /c6.o\n", -EINVAL, 2,
	    "none mixed with other rules for root connect6 (line 1)"),
	BAD("root bind4 pinned /sys/fs/bpf/b4\nroot * none\n", -EINVAL, 2,
	    "none mixed with other rules for root bind4 (line 1)"),
};

static void test_bad_lines(void)
{
	struct cgbpf_error err;
	struct policy *p;
	char prefix[64];
	size_t i;
	int ret, before;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		before = unit_failed_checks;
		p = (struct policy *)&err; /* must be reset to NULL */
		ret = parse(c->text, c->len, &p, &err);
		snprintf(prefix, sizeof(prefix), FILE_NAME ":%u: ", c->line);
		CHECK(ret == c->ret);
		CHECK(p == NULL);
		CHECK(strncmp(err.msg, prefix, strlen(prefix)) == 0);
		CHECK_STR_CONTAINS(err.msg, c->needle);
		if (unit_failed_checks != before)
			printf("  in bad case %zu: got %d \"%s\"\n", i, ret, err.msg);
	}
	printf("  %zu malformed inputs\n", i);
}

static void test_overlong_line(void)
{
	size_t n = (64u << 10) + 64;
	char *buf = malloc(n);
	struct cgbpf_error err;
	struct policy *p;
	size_t head;

	CHECK(buf != NULL);
	if (!buf)
		return;
	/* Line 2 is exactly 65536 bytes (fine), line 3 one byte more (refused). */
	head = (size_t)snprintf(buf, n, "* egress deny\n* egress allow #");
	memset(buf + head, 'x', n - head);
	buf[14 + 65536] = '\n';
	CHECK(parse(buf, 14 + 65536 + 1, &p, &err) == 0);
	CHECK(p && p->n_rules == 2);
	policy_free(p);

	buf[14 + 65536] = 'x';
	buf[14 + 65537] = '\n';
	memcpy(buf + 14 + 65538, "* egress\n", 9);
	CHECK(parse(buf, 14 + 65538 + 9, &p, &err) == -EINVAL);
	CHECK(p == NULL);
	CHECK_STR_CONTAINS(err.msg, "t.conf:2: line longer than 65536 bytes");
	free(buf);
}

static const char good_policy[] =
	"# A policy exercising every field.\n"
	"\n"
	"alice   egress  allow daddr=10.0.0.0/8,192.168.1.1,::1,2001:db8::/32 saddr=0.0.0.0/0 "
	"dport=22,443,8000-8080 sport=1024-65535 proto=tcp,udp,icmp,icmpv6,132 # trailing\n"
	"\t@admins ingress deny   \n"
	"1000-1999 sock_create deny family=inet,inet6 type=stream,dgram,raw proto=0,255\n"
	"2000- * none\n"
	"-999 egress deny\n"
	"42 ingress pinned /sys/fs/bpf/x:y\n"
	"* egress program /etc/security/pam_cgbpf.d/a.bpf.o:ingress_filter\n"
	"* ingress program /etc/x:y/a.bpf.o\n"
	"svc$ sock_create allow proto=6\r\n"
	"_x.y-z egress deny#no space before the comment\n"
	"0 * allow proto=1\n"
	"4294967294 ingress allow\n"
	"   # indented comment\n"
	"@g.1 * deny proto=17";

static void test_every_field(void)
{
	struct cgbpf_error err;
	const struct rule *r;
	struct policy *p;

	CHECK(parse_str(good_policy, &p, &err) == 0);
	CHECK(err.msg[0] == '\0');
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(strcmp(p->file, FILE_NAME) == 0);
	CHECK(p->n_rules == 13);
	if (p->n_rules != 13)
		goto out;

	r = &p->rules[0];
	CHECK(r->line == 3);
	CHECK(r->who == WHO_USER && strcmp(r->who_name, "alice") == 0);
	CHECK(r->hooks == HOOK_BIT(HOOK_EGRESS));
	CHECK(r->action == ACT_ALLOW);
	CHECK(r->path == NULL && r->prog_name == NULL);
	CHECK(r->matchers == (M_DADDR | M_SADDR | M_DPORT | M_SPORT | M_PROTO));
	CHECK(r->n_daddr == 4);
	if (r->n_daddr == 4) {
		CHECK(cidr_is(&r->daddr[0], AF_INET, "10.0.0.0", 8));
		CHECK(cidr_is(&r->daddr[1], AF_INET, "192.168.1.1", 32));
		CHECK(cidr_is(&r->daddr[2], AF_INET6, "::1", 128));
		CHECK(cidr_is(&r->daddr[3], AF_INET6, "2001:db8::", 32));
	}
	CHECK(r->n_saddr == 1 && cidr_is(&r->saddr[0], AF_INET, "0.0.0.0", 0));
	CHECK(r->n_dport == 3);
	if (r->n_dport == 3) {
		CHECK(r->dport[0].lo == 22 && r->dport[0].hi == 22);
		CHECK(r->dport[1].lo == 443 && r->dport[1].hi == 443);
		CHECK(r->dport[2].lo == 8000 && r->dport[2].hi == 8080);
	}
	CHECK(r->n_sport == 1 && r->sport[0].lo == 1024 && r->sport[0].hi == 65535);
	CHECK(proto_has(r, 6) && proto_has(r, 17) && proto_has(r, 1) && proto_has(r, 58));
	CHECK(proto_has(r, 132) && proto_count_is(r, 5));
	CHECK(r->families == 0 && r->types == 0);

	r = &p->rules[1];
	CHECK(r->line == 4);
	CHECK(r->who == WHO_GROUP && strcmp(r->who_name, "admins") == 0);
	CHECK(r->hooks == HOOK_BIT(HOOK_INGRESS));
	CHECK(r->action == ACT_DENY);
	CHECK(r->matchers == 0 && r->n_daddr == 0 && r->daddr == NULL && proto_count_is(r, 0));

	r = &p->rules[2];
	CHECK(r->line == 5);
	CHECK(r->who == WHO_UID_RANGE && r->uid_lo == 1000 && r->uid_hi == 1999);
	CHECK(r->who_name == NULL);
	CHECK(r->hooks == HOOK_BIT(HOOK_SOCK_CREATE));
	CHECK(r->action == ACT_DENY);
	CHECK(r->matchers == (M_FAMILY | M_TYPE | M_PROTO));
	CHECK(r->families == (FAMILY_INET | FAMILY_INET6));
	CHECK(r->types == (TYPE_STREAM | TYPE_DGRAM | TYPE_RAW));
	CHECK(proto_has(r, 0) && proto_has(r, 255) && proto_count_is(r, 2));

	r = &p->rules[3];
	CHECK(r->line == 6);
	CHECK(r->who == WHO_UID_RANGE && r->uid_lo == 2000 && r->uid_hi == UINT32_MAX);
	CHECK(r->hooks == HOOK_EVERY_BITS);
	CHECK(r->action == ACT_NONE);

	r = &p->rules[4];
	CHECK(r->line == 7);
	CHECK(r->who == WHO_UID_RANGE && r->uid_lo == 0 && r->uid_hi == 999);
	CHECK(r->hooks == HOOK_BIT(HOOK_EGRESS) && r->action == ACT_DENY);

	r = &p->rules[5];
	CHECK(r->line == 8);
	CHECK(r->who == WHO_UID_RANGE && r->uid_lo == 42 && r->uid_hi == 42);
	CHECK(r->action == ACT_PINNED);
	CHECK(r->path && strcmp(r->path, "/sys/fs/bpf/x:y") == 0);
	CHECK(r->prog_name == NULL);

	r = &p->rules[6];
	CHECK(r->line == 9);
	CHECK(r->who == WHO_ANY && r->who_name == NULL);
	CHECK(r->hooks == HOOK_BIT(HOOK_EGRESS));
	CHECK(r->action == ACT_PROGRAM);
	CHECK(r->path && strcmp(r->path, "/etc/security/pam_cgbpf.d/a.bpf.o") == 0);
	CHECK(r->prog_name && strcmp(r->prog_name, "ingress_filter") == 0);
	CHECK(r->matchers == 0);

	r = &p->rules[7];
	CHECK(r->line == 10);
	CHECK(r->action == ACT_PROGRAM && r->hooks == HOOK_BIT(HOOK_INGRESS));
	CHECK(r->path && strcmp(r->path, "/etc/x:y/a.bpf.o") == 0);
	CHECK(r->prog_name == NULL);

	r = &p->rules[8];
	CHECK(r->line == 11);
	CHECK(r->who == WHO_USER && strcmp(r->who_name, "svc$") == 0);
	CHECK(r->action == ACT_ALLOW && r->matchers == M_PROTO);
	CHECK(proto_has(r, 6) && proto_count_is(r, 1));

	r = &p->rules[9];
	CHECK(r->line == 12);
	CHECK(r->who == WHO_USER && strcmp(r->who_name, "_x.y-z") == 0);
	CHECK(r->action == ACT_DENY && r->matchers == 0);

	r = &p->rules[10];
	CHECK(r->line == 13);
	CHECK(r->who == WHO_UID_RANGE && r->uid_lo == 0 && r->uid_hi == 0);
	CHECK(r->hooks == HOOK_ALL_BITS && proto_has(r, 1) && proto_count_is(r, 1));

	r = &p->rules[11];
	CHECK(r->line == 14);
	CHECK(r->who == WHO_UID_RANGE && r->uid_lo == 4294967294u && r->uid_hi == 4294967294u);

	r = &p->rules[12];
	CHECK(r->line == 16);
	CHECK(r->who == WHO_GROUP && strcmp(r->who_name, "g.1") == 0);
	CHECK(r->hooks == HOOK_ALL_BITS && proto_has(r, 17));
out:
	policy_free(p);
}

static void test_v4_mapped(void)
{
	const char *text = "* egress allow daddr=::ffff:10.0.0.0/104,::ffff:1.2.3.4,::ffff:0:0/96,"
			   "64:ff9b::/96,::ffff:192.168.0.0/112 saddr=::ffff:7f00:1\n";
	struct cgbpf_error err;
	const struct rule *r;
	struct policy *p;
	int i;

	CHECK(parse_str(text, &p, &err) == 0);
	CHECK(p && p->n_rules == 1);
	if (!p || p->n_rules != 1)
		goto out;
	r = &p->rules[0];
	CHECK(r->n_daddr == 5 && r->n_saddr == 1);
	if (r->n_daddr != 5 || r->n_saddr != 1)
		goto out;
	CHECK(cidr_is(&r->daddr[0], AF_INET, "10.0.0.0", 8));
	CHECK(cidr_is(&r->daddr[1], AF_INET, "1.2.3.4", 32));
	CHECK(cidr_is(&r->daddr[2], AF_INET, "0.0.0.0", 0));
	CHECK(cidr_is(&r->daddr[3], AF_INET6, "64:ff9b::", 96));
	CHECK(cidr_is(&r->daddr[4], AF_INET, "192.168.0.0", 16));
	CHECK(cidr_is(&r->saddr[0], AF_INET, "127.0.0.1", 32));
	for (i = 4; i < 16; i++)
		CHECK(r->daddr[0].addr[i] == 0 && r->daddr[1].addr[i] == 0);
out:
	policy_free(p);

	CHECK(parse_str("* egress allow daddr=::ffff:10.0.0.1/104\n", &p, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "t.conf:1: daddr=: host bits set in '::ffff:10.0.0.1/104'");
}

static void test_accepted_oddities(void)
{
	static const char *const ok[] = {
		"",
		"\n\n",
		"# only a comment",
		"alice egress allow", /* no final newline */
		"alice egress allow\r\n",
		"alice * none\nalice egress none\n", /* none twice says the same thing */
		"alice * none\nbob egress allow\n@alice egress allow\n1000 egress deny\n",
		"* egress allow dport=0,65535,0-65535",
		"* egress allow daddr=0.0.0.0/0,::/0,1.2.3.4/32,::/128",
		"* egress allow dport=22,22",
		"* egress allow proto=0",
		"* egress program /a.o:_x1\n* egress program /a.o:_x1\n",
		"alice egress allow#comment",
		"* egress program /dir/a.o # program's comment",
	};
	struct cgbpf_error err;
	struct policy *p;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int ret = parse_str(ok[i], &p, &err);

		CHECK(ret == 0 && p != NULL);
		if (ret)
			printf("  in ok case %zu: %s\n", i, err.msg);
		policy_free(p);
	}
	policy_free(NULL);

	CHECK(parse(NULL, 0, &p, &err) == 0 && p && p->n_rules == 0);
	policy_free(p);
}

static void test_port_list_limit(void)
{
	char line[1024];
	struct cgbpf_error err;
	struct policy *p;
	size_t o;
	int i;

	o = (size_t)snprintf(line, sizeof(line), "* egress allow dport=");
	for (i = 0; i < POLICY_MAX_PORT_RANGES; i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%d", i ? "," : "", 1000 + i);
	CHECK(parse_str(line, &p, &err) == 0);
	CHECK(p && p->rules[0].n_dport == POLICY_MAX_PORT_RANGES);
	policy_free(p);

	snprintf(line + o, sizeof(line) - o, ",1-2\n");
	CHECK(parse_str(line, &p, &err) == -E2BIG);
	CHECK(p == NULL);
	CHECK_STR_CONTAINS(err.msg, "t.conf:1: dport=: more than 64 ports or ranges");
}

/* Appends to a growing string. */
struct text {
	char *s;
	size_t n, cap;
};

__attribute__((format(printf, 2, 3))) static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
		va_end(ap);
		if (t->s && (size_t)n < t->cap - t->n)
			break;
		t->cap = t->cap ? t->cap * 2 : 4096;
		while (t->cap < t->n + (size_t)n + 1)
			t->cap *= 2;
		t->s = realloc(t->s, t->cap);
		if (!t->s)
			abort();
	}
	t->n += (size_t)n;
}

static void test_rules_per_hook_limit(void)
{
	struct text t = { 0 };
	struct cgbpf_error err;
	struct policy *p;
	int i;

	for (i = 0; i < POLICY_MAX_RULES_PER_HOOK; i++)
		text_add(&t, "alice egress allow dport=%d\n", i);
	/* Other hooks, other who tokens, programs and none of others do not count. */
	text_add(&t, "alice ingress deny\nbob egress deny\n@alice egress deny\n");
	text_add(&t, "alice egress program /x.o\n1000-1999 egress deny\n");
	CHECK(parse(t.s, t.n, &p, &err) == 0);
	CHECK(p && p->n_rules == POLICY_MAX_RULES_PER_HOOK + 5);
	policy_free(p);

	text_add(&t, "alice egress deny\n");
	CHECK(parse(t.s, t.n, &p, &err) == -E2BIG);
	CHECK(p == NULL);
	CHECK_STR_CONTAINS(err.msg, "t.conf:262: more than 256 allow/deny rules for alice egress");

	/* A "*" line counts on every hook; 1000 and 1000-1000 are the same who. */
	t.n = 0;
	for (i = 0; i < POLICY_MAX_RULES_PER_HOOK; i++)
		text_add(&t, "1000 sock_create deny\n");
	text_add(&t, "1000-1000 egress deny\n1000-1000 * allow\n");
	CHECK(parse(t.s, t.n, &p, &err) == -E2BIG);
	CHECK_STR_CONTAINS(err.msg, "t.conf:258: more than 256 allow/deny rules for 1000-1000 "
				    "sock_create");
	free(t.s);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100 lines of 1000 distinct /32 prefixes each, then @extra more on a final line. */
static void prefix_policy(struct text *t, int extra)
{
	int i, j, k = 0;

	t->n = 0;
	for (i = 0; i < 100; i++) {
		text_add(t, "* egress deny %s=", i % 2 ? "saddr" : "daddr");
		for (j = 0; j < 1000; j++, k++)
			text_add(t, "%s10.%d.%d.%d", j ? "," : "", k >> 16, (k >> 8) & 255,
				 k & 255);
		text_add(t, "\n");
	}
	if (extra)
		text_add(t, "* ingress allow saddr=::1\n");
}

static void test_prefix_limit(void)
{
	struct text t = { 0 };
	struct cgbpf_error err;
	struct policy *p;
	size_t i, total = 0;
	double t0, t1;

	prefix_policy(&t, 0);
	t0 = now();
	CHECK(parse(t.s, t.n, &p, &err) == 0);
	t1 = now();
	printf("  100000 prefixes parsed in %.3f s\n", t1 - t0);
	/* Valgrind slows everything tenfold or more; the bound is for real runs. */
	if (!getenv("LD_PRELOAD") || !strstr(getenv("LD_PRELOAD"), "vgpreload"))
		CHECK(t1 - t0 < 1.0);
	CHECK(p && p->n_rules == 100);
	for (i = 0; p && i < p->n_rules; i++)
		total += p->rules[i].n_daddr + p->rules[i].n_saddr;
	CHECK(total == POLICY_MAX_PREFIXES);
	CHECK(p && cidr_is(&p->rules[99].saddr[999], AF_INET, "10.1.134.159", 32));
	policy_free(p);

	prefix_policy(&t, 1);
	CHECK(parse(t.s, t.n, &p, &err) == -E2BIG);
	CHECK(p == NULL);
	CHECK_STR_CONTAINS(err.msg, "t.conf:101: more than 100000 address prefixes in the file");
	free(t.s);
}

/* The socket-address hooks take program, pinned and none lines, each naming one hook. */
static void test_sock_addr_hooks(void)
{
	static const char text[] = "* connect4 program /etc/x.o:c4\n"
				   "* connect6 pinned /sys/fs/bpf/c6\n"
				   "* sendmsg4 program /etc/x.o\n"
				   "* sendmsg6 none\n"
				   "* bind4 program /etc/b.o:b4\n"
				   "* bind6 pinned /sys/fs/bpf/b6\n"
				   "* * deny\n";
	static const enum cgbpf_hook want[] = { HOOK_CONNECT4, HOOK_CONNECT6, HOOK_SENDMSG4,
						HOOK_SENDMSG6, HOOK_BIND4,    HOOK_BIND6 };
	struct cgbpf_error err;
	struct policy *p;

	CHECK(parse(text, sizeof(text) - 1, &p, &err) == 0);
	if (!p)
		return;
	CHECK(p->n_rules == 7);
	for (size_t i = 0; i < 6 && i < p->n_rules; i++)
		CHECK(p->rules[i].hooks == HOOK_BIT(want[i]));
	CHECK(p->rules[0].action == ACT_PROGRAM && strcmp(p->rules[0].prog_name, "c4") == 0);
	CHECK(p->rules[3].action == ACT_NONE);
	/* '*' on an allow/deny line still means the three rule hooks only. */
	CHECK(p->rules[6].hooks == HOOK_ALL_BITS);
	CHECK(strcmp(hook_name(HOOK_BIND6), "bind6") == 0);
	policy_free(p);
}

static void test_names(void)
{
	CHECK(strcmp(hook_name(HOOK_INGRESS), "ingress") == 0);
	CHECK(strcmp(hook_name(HOOK_EGRESS), "egress") == 0);
	CHECK(strcmp(hook_name(HOOK_SOCK_CREATE), "sock_create") == 0);
	CHECK(strcmp(hook_name(HOOK_COUNT), "?") == 0);
	CHECK(strcmp(who_class_name(CLASS_USER), "user") == 0);
	CHECK(strcmp(who_class_name(CLASS_GROUP), "group") == 0);
	CHECK(strcmp(who_class_name(CLASS_UID_RANGE), "uid range") == 0);
	CHECK(strcmp(who_class_name(CLASS_ANY), "*") == 0);
	CHECK(strcmp(who_class_name(CLASS_NONE), "none") == 0);
}

/* The first error wins: a caller's message is never overwritten. */
static void test_error_plumbing(void)
{
	struct cgbpf_error err;
	struct policy *p;

	CHECK(policy_parse("x y z", 5, NULL, &p, NULL) == -EINVAL && p == NULL);
	memset(&err, 0, sizeof(err));
	CHECK(policy_parse("x y z", 5, "/etc/security/pam_cgbpf.conf", &p, &err) == -EINVAL);
	CHECK(strcmp(err.msg, "/etc/security/pam_cgbpf.conf:1: unknown hook 'y' (expected "
			      "ingress, egress, sock_create, connect4, connect6, sendmsg4, "
			      "sendmsg6, bind4, bind6 or *)") == 0);
	CHECK(parse_str("* egress allow daddr=\x01\xff", &p, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "invalid address '?\?'");
}

int main(void)
{
	RUN_TEST(test_bad_lines);
	RUN_TEST(test_overlong_line);
	RUN_TEST(test_every_field);
	RUN_TEST(test_v4_mapped);
	RUN_TEST(test_accepted_oddities);
	RUN_TEST(test_port_list_limit);
	RUN_TEST(test_rules_per_hook_limit);
	RUN_TEST(test_prefix_limit);
	RUN_TEST(test_sock_addr_hooks);
	RUN_TEST(test_names);
	RUN_TEST(test_error_plumbing);
	return UNIT_EXIT();
}
