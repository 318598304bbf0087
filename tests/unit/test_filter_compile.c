// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The filter compiler, without the kernel: the tables it builds are checked
 * against a brute-force evaluation of the rules, and the image id against
 * what sharing needs (equal rules, equal id; any difference, another id).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filter_compile.h"
#include "filter_image.h"
#include "filter_rules.h"
#include "sha256.h"
#include "unit.h"

static struct filter_image *compile_list(enum cgbpf_hook hook, const struct rule_list *l)
{
	struct cgbpf_error err = { { 0 } };
	struct filter_image *img = NULL;
	int r;

	r = filter_compile(hook, list_rules(l), l->n, "test.conf", &img, &err);
	if (r < 0)
		printf("  compile: %d %s\n", r, err.msg);
	return img;
}

static int mask_bit(const struct filter_mask *m, size_t bit)
{
	return (int)((m->w[bit / 64] >> (bit % 64)) & 1);
}

static struct filter_mask mask_of(unsigned long long bits)
{
	struct filter_mask m = { { bits, 0, 0, 0 } };

	return m;
}

static int mask_is(const struct filter_mask *m, unsigned long long bits)
{
	struct filter_mask want = mask_of(bits);

	return memcmp(m, &want, sizeof(want)) == 0;
}

static const struct filter_prefix *find_prefix(const struct filter_image *img, int map,
					       const char *cidr)
{
	struct cidr c = parse_cidr(cidr);
	size_t i;

	for (i = 0; i < img->lpm[map].n; i++)
		if (img->lpm[map].v[i].prefixlen == c.prefixlen &&
		    !memcmp(img->lpm[map].v[i].addr, c.addr, c.family == AF_INET ? 4 : 16))
			return &img->lpm[map].v[i];
	return NULL;
}

/* What the program does with a port table: the last interval starting at or below @port. */
static const struct filter_mask *port_lookup(const struct filter_port_table *t, uint32_t steps,
					     unsigned int port)
{
	uint32_t idx = 0, half = (1u << steps) >> 1;

	for (; half; half >>= 1)
		if (t->v[idx + half].start <= port)
			idx += half;
	return &t->v[idx].mask;
}

static void test_sha256_vectors(void)
{
	uint8_t d[SHA256_DIGEST_SIZE];
	char hex[65], *million;
	struct sha256_ctx c;
	size_t i;

	sha256("", 0, d);
	sha256_hex(d, hex);
	CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	sha256("abc", 3, d);
	sha256_hex(d, hex);
	CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
	sha256_hex(d, hex);
	CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
	million = malloc(1000000);
	CHECK(million != NULL);
	if (!million)
		return;
	memset(million, 'a', 1000000);
	sha256_init(&c);
	for (i = 0; i < 1000000; i += 997)
		sha256_update(&c, million + i, 1000000 - i < 997 ? 1000000 - i : 997);
	sha256_final(&c, d);
	sha256_hex(d, hex);
	CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
	free(million);
}

static void test_empty_list(void)
{
	struct rule_list l = { .n = 0 };
	struct filter_image *img;
	size_t i;

	img = compile_list(HOOK_EGRESS, &l);
	CHECK(img != NULL);
	if (!img)
		return;
	CHECK(filter_image_n_rules(img) == 0);
	CHECK(filter_image_hook(img) == HOOK_EGRESS);
	CHECK(strlen(filter_image_id(img)) == 64);
	for (i = 0; i < 64; i++)
		CHECK(strchr("0123456789abcdef", filter_image_id(img)[i]) != NULL);
	CHECK(img->config.uses == 0);
	CHECK(mask_is(&img->config.all, 0));
	CHECK(img->dport.n == 1 && img->config.dport_steps == 0);
	filter_image_free(img);
}

static void test_id_stable_and_distinct(void)
{
	struct rule_list l = { .n = 0 };
	struct filter_image *a, *b;
	struct rule *r;
	char id[65], id2[65] = "";

	r = list_add(&l, ACT_ALLOW);
	rule_daddr(r, "10.0.0.0/8");
	rule_dport(r, 22, 22);
	list_add(&l, ACT_DENY);
	a = compile_list(HOOK_EGRESS, &l);
	b = compile_list(HOOK_EGRESS, &l);
	CHECK(a && b);
	if (!a || !b)
		goto out;
	CHECK(!strcmp(filter_image_id(a), filter_image_id(b)));
	snprintf(id, sizeof(id), "%s", filter_image_id(a));
	filter_image_free(b);

	/* Another hook. */
	b = compile_list(HOOK_INGRESS, &l);
	CHECK(b && strcmp(id, filter_image_id(b)));
	filter_image_free(b);

	/* Another verdict. */
	l.r[1]->action = ACT_ALLOW;
	b = compile_list(HOOK_EGRESS, &l);
	CHECK(b && strcmp(id, filter_image_id(b)));
	filter_image_free(b);
	l.r[1]->action = ACT_DENY;

	/* Another port. */
	l.r[0]->dport[0].hi = 23;
	b = compile_list(HOOK_EGRESS, &l);
	CHECK(b && strcmp(id, filter_image_id(b)));
	filter_image_free(b);
	l.r[0]->dport[0].hi = 22;

	/* Another prefix length. */
	l.r[0]->daddr[0].prefixlen = 9;
	b = compile_list(HOOK_EGRESS, &l);
	CHECK(b && strcmp(id, filter_image_id(b)));
	filter_image_free(b);
	l.r[0]->daddr[0].prefixlen = 8;

	/* Another protocol, on one rule or the other. */
	rule_proto(l.r[0], IPPROTO_TCP);
	b = compile_list(HOOK_EGRESS, &l);
	CHECK(b && strcmp(id, filter_image_id(b)));
	if (b)
		snprintf(id2, sizeof(id2), "%s", filter_image_id(b));
	filter_image_free(b);
	l.r[0]->proto[0] = 0;
	rule_proto(l.r[0], IPPROTO_UDP); /* only the protocol table differs */
	b = compile_list(HOOK_EGRESS, &l);
	CHECK(b && strcmp(id, filter_image_id(b)) && strcmp(id2, filter_image_id(b)));
	filter_image_free(b);
	l.r[0]->proto[0] = 0;
	rule_proto(l.r[1], IPPROTO_TCP);
	l.r[0]->matchers &= ~(unsigned int)M_PROTO;
	b = compile_list(HOOK_EGRESS, &l);
	CHECK(b && strcmp(id, filter_image_id(b)) && strcmp(id2, filter_image_id(b)));
	filter_image_free(b);
	l.r[1]->proto[0] = 0;
	l.r[1]->matchers &= ~(unsigned int)M_PROTO;

	/* Another line: the same program is shared (lines live in each ledger, not the id). */
	l.r[0]->line = 99;
	b = compile_list(HOOK_EGRESS, &l);
	CHECK(b && !strcmp(id, filter_image_id(b)));
	CHECK(b && filter_image_rule_line(b, 0) == 99 && filter_image_rule_line(b, 1) == 11);
	CHECK(b && filter_image_rule_line(b, 2) == 0);
	filter_image_free(b);
	l.r[0]->line = 10;

	/* Back to the original: the original id. */
	b = compile_list(HOOK_EGRESS, &l);
	CHECK(b && !strcmp(id, filter_image_id(b)));
	filter_image_free(b);
out:
	filter_image_free(a);
	list_clear(&l);
}

static void test_equivalent_spellings_share(void)
{
	struct rule_list l1 = { .n = 0 }, l2 = { .n = 0 };
	struct filter_image *a, *b;
	struct rule *r;

	/* dport=22,23 host bits set vs dport=22-23 and the clean prefix. */
	r = list_add(&l1, ACT_ALLOW);
	rule_dport(r, 22, 22);
	rule_dport(r, 23, 23);
	rule_daddr(r, "10.1.2.3/8");
	r = list_add(&l2, ACT_ALLOW);
	rule_dport(r, 22, 23);
	rule_daddr(r, "10.0.0.0/8");
	a = compile_list(HOOK_EGRESS, &l1);
	b = compile_list(HOOK_EGRESS, &l2);
	CHECK(a && b && !strcmp(filter_image_id(a), filter_image_id(b)));
	CHECK(a && find_prefix(a, FILTER_LPM_DADDR4, "10.0.0.0/8") != NULL);
	filter_image_free(a);
	filter_image_free(b);
	list_clear(&l1);
	list_clear(&l2);
}

static void test_v4_mapped_normalised(void)
{
	struct rule_list l1 = { .n = 0 }, l2 = { .n = 0 };
	struct filter_image *a, *b;

	rule_daddr(list_add(&l1, ACT_DENY), "::ffff:10.0.0.0/104");
	rule_daddr(list_add(&l2, ACT_DENY), "10.0.0.0/8");
	a = compile_list(HOOK_EGRESS, &l1);
	b = compile_list(HOOK_EGRESS, &l2);
	CHECK(a && b);
	if (a && b) {
		CHECK(!strcmp(filter_image_id(a), filter_image_id(b)));
		CHECK(a->lpm[FILTER_LPM_DADDR4].n == 1 && a->lpm[FILTER_LPM_DADDR6].n == 0);
		CHECK(find_prefix(a, FILTER_LPM_DADDR4, "10.0.0.0/8") != NULL);
	}
	filter_image_free(a);
	filter_image_free(b);
	list_clear(&l1);

	/* Shorter than /96 it is not a mapped prefix: it stays IPv6. */
	rule_daddr(list_add(&l1, ACT_DENY), "::ffff:0:0/95");
	a = compile_list(HOOK_EGRESS, &l1);
	CHECK(a && a->lpm[FILTER_LPM_DADDR6].n == 1 && a->lpm[FILTER_LPM_DADDR4].n == 0);
	filter_image_free(a);
	list_clear(&l1);
	list_clear(&l2);
}

static void test_prefix_closure(void)
{
	struct rule_list l = { .n = 0 };
	const struct filter_prefix *p;
	struct filter_image *img;
	struct rule *r;

	rule_daddr(list_add(&l, ACT_ALLOW), "10.0.0.0/8"); /* rule 0 */
	rule_daddr(list_add(&l, ACT_DENY), "10.1.0.0/16"); /* rule 1 */
	r = list_add(&l, ACT_ALLOW);			   /* rule 2 */
	rule_daddr(r, "10.1.2.0/24");
	rule_daddr(r, "0.0.0.0/0");
	rule_daddr(r, "2001:db8::/32");
	rule_saddr(list_add(&l, ACT_DENY), "192.168.0.0/16"); /* rule 3 */
	rule_daddr(list_add(&l, ACT_DENY), "10.1.0.0/16");    /* rule 4: a duplicate */
	img = compile_list(HOOK_EGRESS, &l);
	CHECK(img != NULL);
	if (!img)
		goto out;
	CHECK(img->lpm[FILTER_LPM_DADDR4].n == 4);
	p = find_prefix(img, FILTER_LPM_DADDR4, "0.0.0.0/0");
	CHECK(p && mask_is(&p->mask, 1u << 2));
	p = find_prefix(img, FILTER_LPM_DADDR4, "10.0.0.0/8");
	CHECK(p && mask_is(&p->mask, 1u << 0 | 1u << 2));
	p = find_prefix(img, FILTER_LPM_DADDR4, "10.1.0.0/16");
	CHECK(p && mask_is(&p->mask, 1u << 0 | 1u << 1 | 1u << 2 | 1u << 4));
	p = find_prefix(img, FILTER_LPM_DADDR4, "10.1.2.0/24");
	CHECK(p && mask_is(&p->mask, 1u << 0 | 1u << 1 | 1u << 2 | 1u << 4));
	p = find_prefix(img, FILTER_LPM_DADDR6, "2001:db8::/32");
	CHECK(p && mask_is(&p->mask, 1u << 2));
	p = find_prefix(img, FILTER_LPM_SADDR4, "192.168.0.0/16");
	CHECK(p && mask_is(&p->mask, 1u << 3));
	CHECK(mask_is(&img->config.wild_daddr, 1u << 3));
	CHECK(mask_is(&img->config.wild_saddr, 0x17));
	CHECK(mask_is(&img->config.all, 0x1f));
	CHECK(img->config.uses == (FILTER_USES_DADDR | FILTER_USES_SADDR));
	CHECK(img->rules[1].action == FILTER_ACT_DENY && img->rules[2].action == FILTER_ACT_ALLOW);
out:
	filter_image_free(img);
	list_clear(&l);
}

static void test_port_table(void)
{
	struct rule_list l = { .n = 0 };
	struct filter_image *img;
	struct rule *r;
	unsigned int port;

	r = list_add(&l, ACT_ALLOW); /* rule 0: dport=22,80-90 */
	rule_dport(r, 22, 22);
	rule_dport(r, 80, 90);
	r = list_add(&l, ACT_DENY); /* rule 1: dport=85-65535 */
	rule_dport(r, 85, 65535);
	r = list_add(&l, ACT_DENY); /* rule 2: sport=0-1023 */
	rule_sport(r, 0, 1023);
	list_add(&l, ACT_DENY); /* rule 3: bare */
	img = compile_list(HOOK_INGRESS, &l);
	CHECK(img != NULL);
	if (!img)
		goto out;
	/* [0,22) [22,23) [23,80) [80,85) [85,91) [91,65536) -> 6 intervals, 8 entries. */
	CHECK(img->dport.n == 8 && img->config.dport_steps == 3);
	CHECK(img->dport.v[0].start == 0 && img->dport.v[5].start == 91);
	CHECK(img->dport.v[6].start == FILTER_PORT_END && img->dport.v[7].start == FILTER_PORT_END);
	CHECK(mask_is(&img->config.wild_dport, 0xc));
	CHECK(mask_is(port_lookup(&img->dport, img->config.dport_steps, 0), 0xc));
	CHECK(mask_is(port_lookup(&img->dport, img->config.dport_steps, 21), 0xc));
	CHECK(mask_is(port_lookup(&img->dport, img->config.dport_steps, 22), 0xd));
	CHECK(mask_is(port_lookup(&img->dport, img->config.dport_steps, 23), 0xc));
	CHECK(mask_is(port_lookup(&img->dport, img->config.dport_steps, 80), 0xd));
	CHECK(mask_is(port_lookup(&img->dport, img->config.dport_steps, 85), 0xf));
	CHECK(mask_is(port_lookup(&img->dport, img->config.dport_steps, 90), 0xf));
	CHECK(mask_is(port_lookup(&img->dport, img->config.dport_steps, 91), 0xe));
	CHECK(mask_is(port_lookup(&img->dport, img->config.dport_steps, 65535), 0xe));
	/* sport: [0,1024) [1024,65536) */
	CHECK(img->sport.n == 2 && img->config.sport_steps == 1);
	for (port = 0; port < 65536; port += 511)
		CHECK(mask_is(port_lookup(&img->sport, img->config.sport_steps, port),
			      port < 1024 ? 0xf : 0xb));
	CHECK(img->config.uses == (FILTER_USES_DPORT | FILTER_USES_SPORT));
out:
	filter_image_free(img);
	list_clear(&l);
}

static void test_proto_and_sock(void)
{
	struct rule_list l = { .n = 0 };
	struct filter_image *img;
	struct rule *r;

	r = list_add(&l, ACT_DENY); /* rule 0: type=raw */
	rule_type(r, TYPE_RAW);
	r = list_add(&l, ACT_ALLOW); /* rule 1: family=inet6 proto=udp */
	rule_family(r, FAMILY_INET6);
	rule_proto(r, 17);
	r = list_add(&l, ACT_DENY); /* rule 2: proto=tcp,icmp */
	rule_proto(r, 6);
	rule_proto(r, 1);
	img = compile_list(HOOK_SOCK_CREATE, &l);
	CHECK(img != NULL);
	if (!img)
		goto out;
	CHECK(img->config.uses == (FILTER_USES_TYPE | FILTER_USES_FAMILY | FILTER_USES_PROTO));
	CHECK(mask_is(&img->config.type[FILTER_TYPE_RAW], 0x7));
	CHECK(mask_is(&img->config.type[FILTER_TYPE_STREAM], 0x6));
	CHECK(mask_is(&img->config.type[FILTER_TYPE_OTHER], 0x6));
	CHECK(mask_is(&img->config.family[FILTER_FAMILY_INET], 0x5));
	CHECK(mask_is(&img->config.family[FILTER_FAMILY_INET6], 0x7));
	CHECK(mask_is(&img->config.wild_proto, 0x1));
	CHECK(mask_is(&img->proto[6], 0x5));
	CHECK(mask_is(&img->proto[1], 0x5));
	CHECK(mask_is(&img->proto[17], 0x3));
	CHECK(mask_is(&img->proto[58], 0x1));
	CHECK(img->lpm[FILTER_LPM_DADDR4].n == 0);
out:
	filter_image_free(img);
	list_clear(&l);
}

static void test_errors(void)
{
	struct cgbpf_error err = { { 0 } };
	struct rule_list l = { .n = 0 };
	struct filter_image *img = (struct filter_image *)&err;
	struct rule *r;
	size_t i;
	int ret;

	/* daddr on sock_create */
	rule_daddr(list_add(&l, ACT_DENY), "10.0.0.0/8");
	ret = filter_compile(HOOK_SOCK_CREATE, list_rules(&l), l.n, "p.conf", &img, &err);
	CHECK(ret == -EINVAL && img == NULL);
	CHECK_STR_CONTAINS(err.msg, "p.conf:10: daddr=");
	list_clear(&l);

	/* type on egress */
	memset(&err, 0, sizeof(err));
	rule_type(list_add(&l, ACT_DENY), TYPE_RAW);
	ret = filter_compile(HOOK_EGRESS, list_rules(&l), l.n, "p.conf", &img, &err);
	CHECK(ret == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "p.conf:10: type=");
	list_clear(&l);

	/* not a filter rule */
	memset(&err, 0, sizeof(err));
	list_add(&l, ACT_ALLOW);
	list_add(&l, ACT_PROGRAM);
	ret = filter_compile(HOOK_EGRESS, list_rules(&l), l.n, "p.conf", &img, &err);
	CHECK(ret == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "p.conf:11: ");
	list_clear(&l);

	/* reversed port range, bad prefix length */
	memset(&err, 0, sizeof(err));
	rule_dport(list_add(&l, ACT_DENY), 90, 80);
	ret = filter_compile(HOOK_EGRESS, list_rules(&l), l.n, "p.conf", &img, &err);
	CHECK(ret == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "p.conf:10: port range 90-80");
	list_clear(&l);
	memset(&err, 0, sizeof(err));
	r = list_add(&l, ACT_DENY);
	rule_daddr(r, "10.0.0.0/8");
	r->daddr[0].prefixlen = 33;
	ret = filter_compile(HOOK_EGRESS, list_rules(&l), l.n, "p.conf", &img, &err);
	CHECK(ret == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "p.conf:10: invalid daddr prefix");
	list_clear(&l);

	/* a rule for another hook */
	memset(&err, 0, sizeof(err));
	list_add(&l, ACT_DENY)->hooks = HOOK_BIT(HOOK_INGRESS);
	ret = filter_compile(HOOK_EGRESS, list_rules(&l), l.n, "p.conf", &img, &err);
	CHECK(ret == -EINVAL);
	list_clear(&l);

	/* 256 rules are fine, 257 are not */
	for (i = 0; i < 256; i++)
		rule_dport(list_add(&l, ACT_DENY), (unsigned int)i, (unsigned int)i);
	memset(&err, 0, sizeof(err));
	ret = filter_compile(HOOK_INGRESS, list_rules(&l), l.n, "p.conf", &img, &err);
	CHECK(ret == 0 && img && filter_image_n_rules(img) == 256);
	if (ret == 0) {
		CHECK(mask_is(port_lookup(&img->dport, img->config.dport_steps, 300), 0));
		CHECK(mask_bit(port_lookup(&img->dport, img->config.dport_steps, 255), 255));
		CHECK(mask_bit(port_lookup(&img->dport, img->config.dport_steps, 200), 200));
		CHECK(!mask_bit(port_lookup(&img->dport, img->config.dport_steps, 200), 199));
		filter_image_free(img);
	}
	list_add(&l, ACT_ALLOW);
	ret = filter_compile(HOOK_INGRESS, list_rules(&l), l.n, "p.conf", &img, &err);
	CHECK(ret == -E2BIG && img == NULL);
	CHECK_STR_CONTAINS(err.msg, "p.conf:266: more than 256");
	list_clear(&l);
}

/*
 * The compile cache: the same rules, even from another parse (other
 * allocations), give the same image back; any change that matters misses;
 * an image outlives the caller's reference (ASan sees a use after free).
 */
static void test_compile_cache(void)
{
	struct rule_list l1 = { .n = 0 }, l2 = { .n = 0 };
	struct filter_image *a, *b, *c;
	char id[65] = "";
	struct rule *r;

	for (int i = 0; i < 2; i++) {
		struct rule_list *l = i ? &l2 : &l1;

		r = list_add(l, ACT_ALLOW);
		rule_daddr(r, "10.1.0.0/16");
		rule_dport(r, 443, 443);
		list_add(l, ACT_DENY);
	}
	a = compile_list(HOOK_EGRESS, &l1);
	b = compile_list(HOOK_EGRESS, &l2);
	CHECK(a && b && a == b);
	if (a)
		snprintf(id, sizeof(id), "%s", filter_image_id(a));
	filter_image_free(a);
	filter_image_free(b);
	/* One address byte: a miss, another image. */
	l2.r[0]->daddr[0].addr[1] = 2;
	c = compile_list(HOOK_EGRESS, &l2);
	CHECK(c && c != a && strcmp(id, filter_image_id(c)));
	filter_image_free(c);
	/* The same rules on another line: another image (the ledger shows lines). */
	l2.r[0]->daddr[0].addr[1] = 1;
	l2.r[0]->line += 10;
	c = compile_list(HOOK_EGRESS, &l2);
	CHECK(c && c != a && filter_image_rule_line(c, 0) == l2.r[0]->line);
	filter_image_free(c);
	/* The first one is still cached, and whole. */
	a = compile_list(HOOK_EGRESS, &l1);
	CHECK(a && !strcmp(id, filter_image_id(a)) && filter_image_n_rules(a) == 2);
	filter_image_free(a);
	list_clear(&l1);
	list_clear(&l2);
}

/* xorshift, so that failures reproduce */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static int covers(const struct cidr *c, const uint8_t *addr)
{
	unsigned int i, len = c->prefixlen;

	for (i = 0; i < len; i++)
		if (((c->addr[i / 8] ^ addr[i / 8]) >> (7 - i % 8)) & 1)
			return 0;
	return 1;
}

/* What one LPM lookup returns in the program: the longest prefix covering @addr. */
static const struct filter_prefix *lpm_lookup(const struct filter_prefix_set *s,
					      const uint8_t *addr)
{
	const struct filter_prefix *best = NULL;
	struct cidr c;
	size_t i;

	for (i = 0; i < s->n; i++) {
		c.prefixlen = (uint8_t)s->v[i].prefixlen;
		memcpy(c.addr, s->v[i].addr, 16);
		if (covers(&c, addr) && (!best || s->v[i].prefixlen > best->prefixlen))
			best = &s->v[i];
	}
	return best;
}

/* Random rules over a small address space, checked against brute force. */
static void test_random_against_brute_force(void)
{
	struct rule_list l = { .n = 0 };
	struct filter_image *img;
	const struct filter_prefix *p;
	struct filter_mask got, want;
	uint8_t addr[16];
	unsigned int port, k, n, lo;
	size_t i, j, round;
	struct rule *r;

	for (round = 0; round < 20; round++) {
		for (i = 0; i < 40; i++) {
			r = list_add(&l, rnd() & 1 ? ACT_ALLOW : ACT_DENY);
			n = (unsigned int)(rnd() % 4);
			for (k = 0; k < n; k++) {
				char buf[32];

				snprintf(buf, sizeof(buf), "10.%u.%u.0/%u",
					 (unsigned int)(rnd() % 4), (unsigned int)(rnd() % 4),
					 (unsigned int)(rnd() % 25));
				rule_daddr(
					r,
					buf); /* host bits may be set: the compiler clears them */
			}
			n = (unsigned int)(rnd() % 3);
			for (k = 0; k < n; k++) {
				lo = (unsigned int)(rnd() % 200);
				rule_dport(r, lo, lo + (unsigned int)(rnd() % 50));
			}
		}
		img = compile_list(HOOK_EGRESS, &l);
		CHECK(img != NULL);
		if (!img)
			break;
		for (j = 0; j < 400; j++) {
			memset(addr, 0, sizeof(addr));
			addr[0] = 10;
			addr[1] = (uint8_t)(rnd() % 5);
			addr[2] = (uint8_t)(rnd() % 5);
			addr[3] = (uint8_t)rnd();
			port = (unsigned int)(rnd() % 260);
			memset(&want, 0, sizeof(want));
			for (i = 0; i < l.n; i++) {
				int dm = !(l.r[i]->matchers & M_DADDR),
				    pm = !(l.r[i]->matchers & M_DPORT);

				for (k = 0; k < l.r[i]->n_daddr; k++)
					dm |= covers(&l.r[i]->daddr[k], addr);
				for (k = 0; k < l.r[i]->n_dport; k++)
					pm |= l.r[i]->dport[k].lo <= port &&
					      port <= l.r[i]->dport[k].hi;
				if (dm && pm)
					want.w[i / 64] |= 1ULL << (i % 64);
			}
			p = lpm_lookup(&img->lpm[FILTER_LPM_DADDR4], addr);
			for (k = 0; k < FILTER_MASK_WORDS; k++) {
				got.w[k] = ((p ? p->mask.w[k] : 0) | img->config.wild_daddr.w[k]) &
					   port_lookup(&img->dport, img->config.dport_steps, port)
						   ->w[k];
			}
			CHECK(!memcmp(&got, &want, sizeof(got)));
		}
		filter_image_free(img);
		list_clear(&l);
	}
}

/* Under valgrind or a sanitizer, times mean nothing. */
static int instrumented(void)
{
	char line[512];
	int found = 0;
	FILE *f;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
	return 1;
#endif
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "vgpreload") != NULL;
	fclose(f);
	return found;
}

/* 100,000 prefixes of assorted lengths in two rules must compile well under a second. */
static void test_compile_100k_prefixes_fast(void)
{
	struct rule_list l = { .n = 0 };
	struct filter_image *img;
	struct timespec t0, t1;
	struct rule *r[2];
	struct cidr *c;
	double secs;
	size_t i;

	r[0] = list_add(&l, ACT_ALLOW);
	r[1] = list_add(&l, ACT_DENY);
	for (i = 0; i < 2; i++) {
		r[i]->daddr = calloc(50000, sizeof(struct cidr));
		if (!r[i]->daddr)
			abort();
		r[i]->n_daddr = 50000;
		r[i]->matchers |= M_DADDR;
	}
	for (i = 0; i < 100000; i++) {
		c = &r[i % 2]->daddr[i / 2];
		if (i % 3) {
			uint64_t v = rnd();

			c->family = AF_INET;
			c->prefixlen = (uint8_t)(8 + v % 25);
			memcpy(c->addr, &v, 4);
		} else {
			uint64_t v[2] = { rnd(), rnd() };

			c->family = AF_INET6;
			c->prefixlen = (uint8_t)(16 + v[0] % 113);
			memcpy(c->addr, v, 16);
			c->addr[0] = 0x20;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	img = compile_list(HOOK_EGRESS, &l);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("  100,000 prefixes compiled in %.3f s%s\n", secs,
	       instrumented() ? " (instrumented: not timed)" : "");
	CHECK(img != NULL);
	CHECK(secs < 1.0 || instrumented());
	if (img)
		CHECK(img->lpm[FILTER_LPM_DADDR4].n + img->lpm[FILTER_LPM_DADDR6].n > 90000);
	filter_image_free(img);
	list_clear(&l);
}

int main(void)
{
	RUN_TEST(test_sha256_vectors);
	RUN_TEST(test_empty_list);
	RUN_TEST(test_id_stable_and_distinct);
	RUN_TEST(test_equivalent_spellings_share);
	RUN_TEST(test_v4_mapped_normalised);
	RUN_TEST(test_prefix_closure);
	RUN_TEST(test_port_table);
	RUN_TEST(test_proto_and_sock);
	RUN_TEST(test_errors);
	RUN_TEST(test_compile_cache);
	RUN_TEST(test_random_against_brute_force);
	RUN_TEST(test_compile_100k_prefixes_fast);
	return UNIT_EXIT();
}
