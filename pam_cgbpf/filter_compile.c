// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Built-in filter rules -> the contents of filter.bpf.c's maps.
 *
 * Every dimension becomes a table of 256-bit rule masks (see
 * bpf/filter_types.h): LPM entries for addresses, sorted intervals for ports,
 * a 256-entry array for protocols, small arrays for socket family and type.
 * The tables are canonical (sorted, merged, no duplicates), so the image id,
 * a SHA-256 over the engine version, the hook and all tables, is equal for
 * equal rule lists (however they were spelt) and differs as soon as one
 * verdict could differ. Policy line numbers are kept out of the tables and
 * the id: identical rules on other lines (another group's copy, a comment
 * added above them) share one program. Each sandbox's ledger records its own
 * lines for status.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "filter_image.h"
#include "sha256.h"

#define SKB_MATCHERS  (M_DADDR | M_SADDR | M_DPORT | M_SPORT | M_PROTO)
#define SOCK_MATCHERS (M_FAMILY | M_TYPE | M_PROTO)

static void mask_set(struct filter_mask *m, size_t bit)
{
	m->w[bit / 64] |= 1ULL << (bit % 64);
}

static void mask_or(struct filter_mask *dst, const struct filter_mask *src)
{
	size_t i;

	for (i = 0; i < FILTER_MASK_WORDS; i++)
		dst->w[i] |= src->w[i];
}

static bool mask_bit(const struct filter_mask *m, size_t bit)
{
	return (m->w[bit / 64] >> (bit % 64)) & 1;
}

static bool mask_eq(const struct filter_mask *a, const struct filter_mask *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* ---- address prefixes ------------------------------------------------------------------- */

struct prefix_list {
	struct filter_prefix *v;
	size_t n, cap;
};

static int prefix_list_add(struct prefix_list *l, const struct filter_prefix *p)
{
	struct filter_prefix *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? 2 * l->cap : 16;
		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *p;
	return 0;
}

static void clear_host_bits(uint8_t addr[16], unsigned int prefixlen)
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		if (prefixlen >= 8 * (i + 1))
			continue;
		if (prefixlen <= 8 * i)
			addr[i] = 0;
		else
			addr[i] &= (uint8_t)(0xff00u >> (prefixlen - 8 * i));
	}
}

/*
 * Brings a prefix to its map form: host bits cleared, and an IPv4-mapped IPv6
 * prefix (::ffff:0:0/96 and longer) made IPv4, because such traffic leaves the
 * host as IPv4. The parser already does the latter; doing it here too keeps
 * the engine right whoever built the rule. Returns the prefix's family.
 */
static int normalise_cidr(const struct cidr *c, struct filter_prefix *p)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(p, 0, sizeof(*p));
	if (c->family == AF_INET) {
		if (c->prefixlen > 32)
			return -EINVAL;
		p->prefixlen = c->prefixlen;
		memcpy(p->addr, c->addr, 4);
	} else if (c->family == AF_INET6) {
		if (c->prefixlen > 128)
			return -EINVAL;
		if (c->prefixlen >= 96 && memcmp(c->addr, mapped, sizeof(mapped)) == 0) {
			p->prefixlen = c->prefixlen - 96u;
			memcpy(p->addr, c->addr + 12, 4);
			clear_host_bits(p->addr, p->prefixlen);
			return AF_INET;
		}
		p->prefixlen = c->prefixlen;
		memcpy(p->addr, c->addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	clear_host_bits(p->addr, p->prefixlen);
	return c->family;
}

static int prefix_cmp(const void *a, const void *b)
{
	const struct filter_prefix *x = a, *y = b;

	if (x->prefixlen != y->prefixlen)
		return x->prefixlen < y->prefixlen ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

static uint64_t prefix_hash(uint32_t prefixlen, const uint8_t addr[16])
{
	uint64_t a, b, h;

	memcpy(&a, addr, 8);
	memcpy(&b, addr + 8, 8);
	h = (a ^ (b * 0x9e3779b97f4a7c15ULL) ^ prefixlen) * 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}

/*
 * Sorts and merges @l, then gives every prefix the bits of all prefixes of
 * the set that cover it, so that one LPM lookup (which finds the longest
 * match only) yields every rule with a covering prefix. Going by increasing
 * length, a prefix only needs the bits of its nearest present ancestor, which
 * already holds those of the ancestors above it: one hash lookup per present
 * shorter length at most, never a pass over the whole set.
 */
static int prefix_list_close(struct prefix_list *l)
{
	bool have_len[129] = { false };
	uint32_t *table = NULL;
	size_t i, j, size, slot;
	struct filter_prefix anc;
	int len;

	if (!l->n)
		return 0;
	qsort(l->v, l->n, sizeof(*l->v), prefix_cmp);
	for (i = 1, j = 0; i < l->n; i++) {
		if (prefix_cmp(&l->v[i], &l->v[j]) == 0)
			mask_or(&l->v[j].mask, &l->v[i].mask);
		else
			l->v[++j] = l->v[i];
	}
	l->n = j + 1;

	for (size = 16; size < 2 * l->n; size *= 2)
		;
	table = calloc(size, sizeof(*table)); /* index + 1; 0 = empty */
	if (!table)
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		have_len[l->v[i].prefixlen] = true;
		slot = prefix_hash(l->v[i].prefixlen, l->v[i].addr) & (size - 1);
		while (table[slot])
			slot = (slot + 1) & (size - 1);
		table[slot] = (uint32_t)(i + 1);
	}

	for (i = 0; i < l->n; i++) {
		for (len = (int)l->v[i].prefixlen - 1; len >= 0; len--) {
			if (!have_len[len])
				continue;
			anc.prefixlen = (uint32_t)len;
			memcpy(anc.addr, l->v[i].addr, sizeof(anc.addr));
			clear_host_bits(anc.addr, (unsigned int)len);
			slot = prefix_hash(anc.prefixlen, anc.addr) & (size - 1);
			while (table[slot] && prefix_cmp(&l->v[table[slot] - 1], &anc) != 0)
				slot = (slot + 1) & (size - 1);
			if (table[slot]) {
				mask_or(&l->v[i].mask, &l->v[table[slot] - 1].mask);
				break;
			}
		}
	}
	free(table);
	return 0;
}

/* ---- ports ------------------------------------------------------------------------------- */

struct port_event {
	uint32_t pos;
	uint16_t rule;
	int16_t delta;
};

static int port_event_cmp(const void *a, const void *b)
{
	const struct port_event *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->delta - y->delta;
}

/*
 * Builds the interval table of one port dimension by a sweep over the range
 * ends: each interval's mask holds the rules with a range covering it plus
 * the wildcard rules. Adjacent intervals with equal masks are merged and the
 * table is padded to a power of two for the program's binary search.
 */
static int build_port_table(const struct rule *const *rules, size_t n_rules, bool dst,
			    const struct filter_mask *wild, struct filter_port_table *out,
			    uint32_t *steps)
{
	struct filter_port_interval *iv = NULL, *tmp;
	struct port_event *ev = NULL;
	const struct port_range *ranges;
	unsigned int depth[FILTER_MAX_RULES] = { 0 };
	struct filter_mask cur = { { 0 } }, m;
	uint32_t pos;
	size_t n_ev = 0, n_iv = 0, cap_ev = 0, i, k, n, size;
	int r = -ENOMEM;

	for (i = 0; i < n_rules; i++) {
		if (!(rules[i]->matchers & (dst ? M_DPORT : M_SPORT)))
			continue;
		cap_ev += 2 * (dst ? rules[i]->n_dport : rules[i]->n_sport);
	}
	ev = calloc(cap_ev ? cap_ev : 1, sizeof(*ev));
	iv = calloc(cap_ev + 1, sizeof(*iv));
	if (!ev || !iv)
		goto out;

	for (i = 0; i < n_rules; i++) {
		if (!(rules[i]->matchers & (dst ? M_DPORT : M_SPORT)))
			continue;
		ranges = dst ? rules[i]->dport : rules[i]->sport;
		n = dst ? rules[i]->n_dport : rules[i]->n_sport;
		for (k = 0; k < n; k++) {
			ev[n_ev++] = (struct port_event){ ranges[k].lo, (uint16_t)i, +1 };
			if (ranges[k].hi < 0xffff)
				ev[n_ev++] =
					(struct port_event){ ranges[k].hi + 1u, (uint16_t)i, -1 };
		}
	}
	qsort(ev, n_ev, sizeof(*ev), port_event_cmp);

	/* Sweep: intervals start at 0 and at every range end. */
	for (i = 0, pos = 0;;) {
		for (; i < n_ev && ev[i].pos == pos; i++) {
			if (ev[i].delta > 0)
				depth[ev[i].rule]++;
			else
				depth[ev[i].rule]--;
			if (depth[ev[i].rule])
				mask_set(&cur, ev[i].rule);
			else
				cur.w[ev[i].rule / 64] &= ~(1ULL << (ev[i].rule % 64));
		}
		m = cur;
		mask_or(&m, wild);
		if (n_iv == 0 || !mask_eq(&iv[n_iv - 1].mask, &m)) {
			iv[n_iv].start = pos;
			iv[n_iv].mask = m;
			n_iv++;
		}
		if (i >= n_ev)
			break;
		pos = ev[i].pos;
	}

	for (size = 1, *steps = 0; size < n_iv; size *= 2)
		(*steps)++;
	tmp = realloc(iv, size * sizeof(*iv));
	if (!tmp)
		goto out;
	iv = tmp;
	for (k = n_iv; k < size; k++) {
		memset(&iv[k], 0, sizeof(iv[k]));
		iv[k].start = FILTER_PORT_END;
	}
	out->v = iv;
	out->n = size;
	iv = NULL;
	r = 0;
out:
	free(ev);
	free(iv);
	return r;
}

/* ---- rules -------------------------------------------------------------------------------- */

static const char *matcher_name(unsigned int bit)
{
	switch (bit) {
	case M_DADDR:
		return "daddr";
	case M_SADDR:
		return "saddr";
	case M_DPORT:
		return "dport";
	case M_SPORT:
		return "sport";
	case M_PROTO:
		return "proto";
	case M_FAMILY:
		return "family";
	case M_TYPE:
		return "type";
	default:
		return "unknown";
	}
}

static bool proto_set_empty(const uint64_t proto[4])
{
	return !(proto[0] | proto[1] | proto[2] | proto[3]);
}

static int check_rule(enum cgbpf_hook hook, const struct rule *r, const char *file,
		      struct cgbpf_error *err)
{
	unsigned int allowed = hook == HOOK_SOCK_CREATE ? SOCK_MATCHERS : SKB_MATCHERS;
	unsigned int bad = r->matchers & ~allowed;
	/* The early-verdict hooks are compiled from the egress rules. */
	enum cgbpf_hook src = hook_is_early(hook) ? HOOK_EGRESS : hook;
	const struct port_range *ranges;
	size_t k, n;
	int d;

	if (r->action != ACT_ALLOW && r->action != ACT_DENY)
		return cgbpf_error_at(err, EINVAL, file, r->line,
				      "not an allow/deny rule, cannot be a built-in filter rule");
	if (!(r->hooks & HOOK_BIT(src)))
		return cgbpf_error_at(err, EINVAL, file, r->line, "rule does not apply to hook %s",
				      hook_name(hook));
	if (bad)
		return cgbpf_error_at(err, EINVAL, file, r->line, "%s= is not a matcher of hook %s",
				      matcher_name(bad & -bad), hook_name(hook));
	if (((r->matchers & M_DADDR) && !r->n_daddr) || ((r->matchers & M_SADDR) && !r->n_saddr) ||
	    ((r->matchers & M_DPORT) && !r->n_dport) || ((r->matchers & M_SPORT) && !r->n_sport) ||
	    ((r->matchers & M_PROTO) && proto_set_empty(r->proto)) ||
	    ((r->matchers & M_FAMILY) && !(r->families & (FAMILY_INET | FAMILY_INET6))) ||
	    ((r->matchers & M_TYPE) && !(r->types & (TYPE_STREAM | TYPE_DGRAM | TYPE_RAW))))
		return cgbpf_error_at(err, EINVAL, file, r->line, "empty matcher list");
	for (d = 0; d < 2; d++) {
		ranges = d ? r->sport : r->dport;
		n = d ? r->n_sport : r->n_dport;
		if (!(r->matchers & (d ? M_SPORT : M_DPORT)))
			continue;
		for (k = 0; k < n; k++)
			if (ranges[k].lo > ranges[k].hi)
				return cgbpf_error_at(err, EINVAL, file, r->line,
						      "port range %u-%u is reversed", ranges[k].lo,
						      ranges[k].hi);
	}
	return 0;
}

static int add_prefixes(struct prefix_list lists[FILTER_LPM_COUNT], bool dst, const struct cidr *c,
			size_t n, size_t rule, const char *file, unsigned int line,
			struct cgbpf_error *err)
{
	struct filter_prefix p;
	size_t k;
	int family, r;

	for (k = 0; k < n; k++) {
		family = normalise_cidr(&c[k], &p);
		if (family < 0)
			return cgbpf_error_at(err, EINVAL, file, line, "invalid %s prefix",
					      dst ? "daddr" : "saddr");
		mask_set(&p.mask, rule);
		if (family == AF_INET)
			r = prefix_list_add(&lists[dst ? FILTER_LPM_DADDR4 : FILTER_LPM_SADDR4],
					    &p);
		else
			r = prefix_list_add(&lists[dst ? FILTER_LPM_DADDR6 : FILTER_LPM_SADDR6],
					    &p);
		if (r < 0)
			return cgbpf_error_set(err, r, "out of memory");
	}
	return 0;
}

static void compile_sock_rule(struct filter_config *cfg, const struct rule *r, size_t i)
{
	size_t k;

	if (r->matchers & M_FAMILY) {
		cfg->uses |= FILTER_USES_FAMILY;
		if (r->families & FAMILY_INET)
			mask_set(&cfg->family[FILTER_FAMILY_INET], i);
		if (r->families & FAMILY_INET6)
			mask_set(&cfg->family[FILTER_FAMILY_INET6], i);
	} else {
		for (k = 0; k < FILTER_N_FAMILIES; k++)
			mask_set(&cfg->family[k], i);
	}
	if (r->matchers & M_TYPE) {
		cfg->uses |= FILTER_USES_TYPE;
		if (r->types & TYPE_STREAM)
			mask_set(&cfg->type[FILTER_TYPE_STREAM], i);
		if (r->types & TYPE_DGRAM)
			mask_set(&cfg->type[FILTER_TYPE_DGRAM], i);
		if (r->types & TYPE_RAW)
			mask_set(&cfg->type[FILTER_TYPE_RAW], i);
	} else {
		for (k = 0; k < FILTER_N_TYPES; k++)
			mask_set(&cfg->type[k], i);
	}
}

static void hash_u64(struct sha256_ctx *h, uint64_t v)
{
	sha256_update(h, &v, sizeof(v));
}

static void image_compute_id(struct filter_image *img)
{
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct sha256_ctx h;
	const struct filter_prefix_set *s;
	size_t m, k, alen, r, p;
	uint64_t set[4];

	sha256_init(&h);
	sha256_update(&h, FILTER_ENGINE_VERSION, sizeof(FILTER_ENGINE_VERSION));
	hash_u64(&h, (uint64_t)img->hook);
	sha256_update(&h, &img->config, sizeof(img->config));
	hash_u64(&h, img->n_rules);
	sha256_update(&h, img->rules, img->n_rules * sizeof(img->rules[0]));
	/*
	 * The protocol table, column by column: rule i's 256-bit set. Equivalent
	 * to the table, and n_rules * 32 bytes instead of 8 KiB on every open.
	 */
	for (r = 0; r < img->n_rules; r++) {
		memset(set, 0, sizeof(set));
		for (p = 0; p < 256; p++)
			if (mask_bit(&img->proto[p], r))
				set[p / 64] |= 1ULL << (p % 64);
		sha256_update(&h, set, sizeof(set));
	}
	for (m = 0; m < FILTER_LPM_COUNT; m++) {
		s = &img->lpm[m];
		alen = filter_lpm_is_v6((enum filter_lpm_map)m) ? 16 : 4;
		hash_u64(&h, s->n);
		for (k = 0; k < s->n; k++) {
			hash_u64(&h, s->v[k].prefixlen);
			sha256_update(&h, s->v[k].addr, alen);
			sha256_update(&h, &s->v[k].mask, sizeof(s->v[k].mask));
		}
	}
	hash_u64(&h, img->dport.n);
	sha256_update(&h, img->dport.v, img->dport.n * sizeof(img->dport.v[0]));
	hash_u64(&h, img->sport.n);
	sha256_update(&h, img->sport.v, img->sport.n * sizeof(img->sport.v[0]));
	sha256_final(&h, digest);
	sha256_hex(digest, img->id);
}

/* Rule @i's action, masks and prefixes in @img; its matchers are checked first. */
static int compile_rule(struct filter_image *img, struct prefix_list *lists, enum cgbpf_hook hook,
			const struct rule *r, size_t i, const char *file, struct cgbpf_error *err)
{
	struct filter_config *cfg = &img->config;
	size_t p;
	int ret;

	ret = check_rule(hook, r, file, err);
	if (ret < 0)
		return ret;
	img->lines[i] = r->line;
	img->rules[i].action = r->action == ACT_ALLOW ? FILTER_ACT_ALLOW : FILTER_ACT_DENY;
	img->rules[i].line = 0;
	mask_set(&cfg->all, i);
	if (r->action == ACT_ALLOW)
		mask_set(&cfg->allow, i);

	if (r->matchers & M_DADDR) {
		cfg->uses |= FILTER_USES_DADDR;
		ret = add_prefixes(lists, true, r->daddr, r->n_daddr, i, file, r->line, err);
		if (ret < 0)
			return ret;
	} else {
		mask_set(&cfg->wild_daddr, i);
	}
	if (r->matchers & M_SADDR) {
		cfg->uses |= FILTER_USES_SADDR;
		ret = add_prefixes(lists, false, r->saddr, r->n_saddr, i, file, r->line, err);
		if (ret < 0)
			return ret;
	} else {
		mask_set(&cfg->wild_saddr, i);
	}
	if (r->matchers & M_DPORT)
		cfg->uses |= FILTER_USES_DPORT;
	else
		mask_set(&cfg->wild_dport, i);
	if (r->matchers & M_SPORT)
		cfg->uses |= FILTER_USES_SPORT;
	else
		mask_set(&cfg->wild_sport, i);
	if (r->matchers & M_PROTO) {
		cfg->uses |= FILTER_USES_PROTO;
		for (p = 0; p < 256; p++)
			if (r->proto[p / 64] & (1ULL << (p % 64)))
				mask_set(&img->proto[p], i);
	} else {
		mask_set(&cfg->wild_proto, i);
	}
	if (hook == HOOK_SOCK_CREATE)
		compile_sock_rule(cfg, r, i);
	return 0;
}

/* The protocol, prefix and port tables once every rule is in; @lists move into @img. */
static int finish_tables(struct filter_image *img, struct prefix_list *lists,
			 const struct rule *const *rules, size_t n_rules, struct cgbpf_error *err)
{
	struct filter_config *cfg = &img->config;
	size_t p, m;
	int ret;

	for (p = 0; p < 256; p++)
		mask_or(&img->proto[p], &cfg->wild_proto);
	for (m = 0; m < FILTER_LPM_COUNT; m++) {
		ret = prefix_list_close(&lists[m]);
		if (ret < 0)
			return cgbpf_error_set(err, ret, "out of memory");
		img->lpm[m].v = lists[m].v;
		img->lpm[m].n = lists[m].n;
		lists[m].v = NULL;
	}
	ret = build_port_table(rules, n_rules, true, &cfg->wild_dport, &img->dport,
			       &cfg->dport_steps);
	if (ret == 0)
		ret = build_port_table(rules, n_rules, false, &cfg->wild_sport, &img->sport,
				       &cfg->sport_steps);
	if (ret < 0)
		return cgbpf_error_set(err, ret, "out of memory");
	return 0;
}

static int compile_new(enum cgbpf_hook hook, const struct rule *const *rules, size_t n_rules,
		       const char *file, struct filter_image **out, struct cgbpf_error *err)
{
	struct prefix_list lists[FILTER_LPM_COUNT] = { { NULL, 0, 0 } };
	struct filter_image *img;
	size_t i, m;
	int ret = 0;

	*out = NULL;
	if ((unsigned int)hook >= HOOK_COUNT || !(hook_takes_rules(hook) || hook_is_early(hook)))
		return cgbpf_error_set(err, EINVAL, "hook %s has no built-in filter",
				       hook_name(hook));
	if (n_rules > FILTER_MAX_RULES)
		return cgbpf_error_at(err, E2BIG, file, rules[FILTER_MAX_RULES]->line,
				      "more than %d filter rules for hook %s", FILTER_MAX_RULES,
				      hook_name(hook));
	img = calloc(1, sizeof(*img));
	if (!img)
		return cgbpf_error_set(err, ENOMEM, "out of memory");
	img->hook = hook;
	img->n_rules = n_rules;
	img->config.n_rules = (uint32_t)n_rules;

	for (i = 0; i < n_rules && ret == 0; i++)
		ret = compile_rule(img, lists, hook, rules[i], i, file, err);
	if (ret == 0)
		ret = finish_tables(img, lists, rules, n_rules, err);
	if (ret < 0) {
		for (m = 0; m < FILTER_LPM_COUNT; m++)
			free(lists[m].v);
		filter_image_free(img);
		return ret;
	}
	image_compute_id(img);
	img->refs = 1;
	*out = img;
	return 0;
}

/*
 * ---- the compile cache --------------------------------------------------------------------
 * A process that opens sessions one after another (a PAM application that
 * stays, a login manager) compiles the same rules each time: the image, and
 * its SHA-256 id, depend only on the hook and on what the rules say. So the
 * last few images are kept, keyed by an exact copy of those (every field the
 * compiler reads, the prefixes and ports included), compared byte for byte:
 * a policy file that changed in any way that matters misses.
 */
#define CACHE_SLOTS   8
#define CACHE_MAX_KEY (256u << 10) /* about 14,000 prefixes */

struct cache_slot {
	uint8_t *key;
	size_t key_len;
	struct filter_image *img;
	uint64_t used;
};

static struct cache_slot cache[CACHE_SLOTS];
static uint64_t cache_clock;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

struct keybuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void key_put(struct keybuf *k, const void *v, size_t n)
{
	if (k->oom || n == 0)
		return;
	if (k->len + n > k->cap) {
		size_t cap = k->cap ? k->cap : 512;
		uint8_t *np;

		while (cap < k->len + n)
			cap *= 2;
		np = realloc(k->p, cap);
		if (!np) {
			k->oom = true;
			return;
		}
		k->p = np;
		k->cap = cap;
	}
	memcpy(k->p + k->len, v, n);
	k->len += n;
}

static void key_u64(struct keybuf *k, uint64_t v)
{
	key_put(k, &v, sizeof(v));
}

/* Everything of @rules that compile_new reads; NULL when out of memory. */
static uint8_t *cache_key(enum cgbpf_hook hook, const struct rule *const *rules, size_t n,
			  size_t *len)
{
	struct keybuf k = { 0 };

	key_u64(&k, (uint64_t)hook);
	key_u64(&k, n);
	for (size_t i = 0; i < n; i++) {
		const struct rule *r = rules[i];

		key_u64(&k, r->line);
		key_u64(&k, (uint64_t)r->action);
		key_u64(&k, r->hooks);
		key_u64(&k, r->matchers);
		key_u64(&k, r->families);
		key_u64(&k, r->types);
		key_put(&k, r->proto, sizeof(r->proto));
		key_u64(&k, r->n_daddr);
		key_put(&k, r->daddr, r->n_daddr * sizeof(*r->daddr));
		key_u64(&k, r->n_saddr);
		key_put(&k, r->saddr, r->n_saddr * sizeof(*r->saddr));
		key_u64(&k, r->n_dport);
		key_put(&k, r->dport, r->n_dport * sizeof(*r->dport));
		key_u64(&k, r->n_sport);
		key_put(&k, r->sport, r->n_sport * sizeof(*r->sport));
	}
	if (k.oom) {
		free(k.p);
		return NULL;
	}
	*len = k.len;
	return k.p;
}

static struct filter_image *image_ref(struct filter_image *img)
{
	__atomic_add_fetch(&img->refs, 1, __ATOMIC_RELAXED);
	return img;
}

int filter_compile(enum cgbpf_hook hook, const struct rule *const *rules, size_t n_rules,
		   const char *file, struct filter_image **out, struct cgbpf_error *err)
{
	struct cache_slot *victim = &cache[0];
	uint8_t *key;
	size_t len = 0;
	int r;

	*out = NULL;
	key = cache_key(hook, rules, n_rules, &len);
	if (key && len > CACHE_MAX_KEY) {
		free(key); /* a list this long is compiled each time rather than held */
		key = NULL;
	}
	/*
	 * trylock: a child forked by another thread while it held the lock sees
	 * it held for ever; then it compiles without the cache instead of hanging.
	 */
	if (key && pthread_mutex_trylock(&cache_lock) != 0) {
		free(key);
		key = NULL;
	}
	if (key) {
		for (size_t i = 0; i < CACHE_SLOTS; i++) {
			struct cache_slot *c = &cache[i];

			if (c->img && c->key_len == len && !memcmp(c->key, key, len)) {
				c->used = ++cache_clock;
				*out = image_ref(c->img);
				break;
			}
		}
		pthread_mutex_unlock(&cache_lock);
		if (*out) {
			free(key);
			return 0;
		}
	}
	r = compile_new(hook, rules, n_rules, file, out, err);
	if (r < 0 || !key || pthread_mutex_trylock(&cache_lock) != 0) {
		free(key);
		return r;
	}
	for (size_t i = 1; i < CACHE_SLOTS; i++)
		if (cache[i].used < victim->used)
			victim = &cache[i];
	free(victim->key);
	filter_image_free(victim->img);
	*victim = (struct cache_slot){ key, len, image_ref(*out), ++cache_clock };
	pthread_mutex_unlock(&cache_lock);
	return 0;
}

/* What the cache holds goes with the library (valgrind, LeakSanitizer). */
__attribute__((destructor)) static void cache_clear(void)
{
	if (pthread_mutex_trylock(&cache_lock) != 0)
		return; /* in use (or a fork's copy held): leave it to the exit */
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		free(cache[i].key);
		filter_image_free(cache[i].img);
		cache[i] = (struct cache_slot){ 0 };
	}
	pthread_mutex_unlock(&cache_lock);
}

/* Whether a rule's proto= (or its absence) lets it match a TCP or UDP socket's packets. */
static bool early_proto_possible(const struct rule *r)
{
	static const unsigned int judged[] = { 6, 17, 136 }; /* tcp, udp, udplite */

	if (!(r->matchers & M_PROTO))
		return true;
	for (size_t i = 0; i < sizeof(judged) / sizeof(judged[0]); i++)
		if (r->proto[judged[i] / 64] & (1ULL << (judged[i] % 64)))
			return true;
	return false;
}

enum filter_early_kind filter_early_kind(const struct rule *const *rules, size_t idx,
					 unsigned int *shadow_line)
{
	const struct rule *r = rules[idx];

	*shadow_line = 0;
	if (r->matchers & M_SADDR)
		return EARLY_PACKET_ADDR;
	if (!early_proto_possible(r))
		return EARLY_PACKET_PROTO;
	if (r->matchers & M_SPORT)
		return EARLY_BOUND;
	for (size_t i = 0; i < idx; i++)
		if (rules[i]->action == ACT_ALLOW && (rules[i]->matchers & (M_SADDR | M_SPORT)) &&
		    early_proto_possible(rules[i])) {
			*shadow_line = rules[i]->line;
			return EARLY_SHADOWED;
		}
	return EARLY_CONNECT;
}

bool filter_early_useful(const struct rule *const *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rules[i]->action == ACT_DENY && !(rules[i]->matchers & M_SADDR) &&
		    early_proto_possible(rules[i]))
			return true;
	return false;
}

void filter_image_free(struct filter_image *img)
{
	size_t m;

	if (!img || (__atomic_load_n(&img->refs, __ATOMIC_RELAXED) > 0 &&
		     __atomic_sub_fetch(&img->refs, 1, __ATOMIC_ACQ_REL) > 0))
		return;
	for (m = 0; m < FILTER_LPM_COUNT; m++)
		free(img->lpm[m].v);
	free(img->dport.v);
	free(img->sport.v);
	free(img);
}

const char *filter_image_id(const struct filter_image *img)
{
	return img->id;
}

enum cgbpf_hook filter_image_hook(const struct filter_image *img)
{
	return img->hook;
}

size_t filter_image_n_rules(const struct filter_image *img)
{
	return img->n_rules;
}

unsigned int filter_image_rule_line(const struct filter_image *img, size_t idx)
{
	return idx < img->n_rules ? img->lines[idx] : 0;
}
