// SPDX-License-Identifier: GPL-2.0-or-later
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "placement_choice.h"
#include "util.h"

#define LEDGER_MAGIC "pam_cgbpf-ledger 1"

static const char *const kind_names[] = {
	[ATT_FILTER] = "filter",
	[ATT_PROGRAM] = "program",
	[ATT_PINNED] = "pinned",
};

const char *attach_kind_name(enum attach_kind kind)
{
	return kind_names[kind];
}

/* A growing text buffer; on allocation failure it remembers and stops. */
struct sbuf {
	char *p;
	size_t len, cap;
	int error;
};

static void sb_putc(struct sbuf *b, char c)
{
	if (b->error)
		return;
	if (b->len + 2 > b->cap) {
		size_t ncap = b->cap ? 2 * b->cap : 512;
		char *np = realloc(b->p, ncap);

		if (!np) {
			b->error = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	while (*s)
		sb_putc(b, *s++);
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	sb_puts(b, tmp);
}

/* A field: "-" for NULL, otherwise %XX for '%', '-' at the start, spaces and controls. */
static void sb_field(struct sbuf *b, const char *s)
{
	sb_putc(b, ' ');
	if (!s) {
		sb_putc(b, '-');
		return;
	}
	if (!*s) {
		sb_puts(b, "%");
		return;
	}
	for (const char *c = s; *c; c++) {
		unsigned char u = (unsigned char)*c;

		if (u <= ' ' || u == '%' || u == 0x7f || (c == s && u == '-'))
			sb_printf(b, "%%%02X", u);
		else
			sb_putc(b, (char)u);
	}
}

int ledger_encode(const struct ledger *l, char **buf, size_t *len)
{
	struct sbuf b = { 0 };

	sb_puts(&b, LEDGER_MAGIC "\n");
	sb_printf(&b, "uid %" PRIu32 "\n", l->uid);
	sb_puts(&b, "user");
	sb_field(&b, l->user);
	sb_puts(&b, "\nboot");
	sb_field(&b, l->boot_id);
	sb_puts(&b, "\ncgroup");
	sb_field(&b, l->cgroup);
	sb_printf(&b, " %" PRIu64 "\n", l->cgroup_id);
	sb_printf(&b, "placement %s\n", l->placement == PLACEMENT_SYSTEMD ? "systemd" : "own");
	sb_puts(&b, "settings");
	sb_field(&b, l->config);
	sb_field(&b, l->cgroup_root);
	sb_field(&b, l->bpffs);
	sb_putc(&b, '\n');
	sb_printf(&b, "next_link %" PRIu32 "\n", l->next_link);
	for (size_t i = 0; i < l->n_att; i++) {
		const struct ledger_attach *a = &l->att[i];

		sb_printf(&b, "attach %s %s", hook_name(a->hook), attach_kind_name(a->kind));
		sb_field(&b, a->ident);
		sb_field(&b, a->link);
		sb_field(&b, a->what);
		sb_field(&b, a->lines);
		sb_putc(&b, '\n');
	}
	for (size_t i = 0; i < l->n_ses; i++) {
		const struct ledger_session *s = &l->ses[i];

		sb_printf(&b, "session %" PRId32 " %" PRIu64 " %" PRId64, s->pid, s->start_time,
			  s->opened);
		sb_field(&b, s->origin);
		sb_field(&b, s->service);
		sb_field(&b, s->tty);
		sb_field(&b, s->rhost);
		sb_putc(&b, '\n');
	}
	sb_puts(&b, "end\n");
	if (b.error) {
		free(b.p);
		return b.error;
	}
	*buf = b.p;
	*len = b.len;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes one field written by sb_field; *out is NULL for "-". */
static int field_decode(const char *tok, char **out)
{
	size_t n = strlen(tok);
	char *s, *d;

	*out = NULL;
	if (!strcmp(tok, "-"))
		return 0;
	s = malloc(n + 1);
	if (!s)
		return -ENOMEM;
	d = s;
	if (!strcmp(tok, "%")) {
		*d = '\0';
		*out = s;
		return 0;
	}
	for (const char *c = tok; *c; c++) {
		if (*c == '%') {
			int hi = hexval(c[1]), lo = hi < 0 ? -1 : hexval(c[2]);

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(s);
				return -EINVAL;
			}
			*d++ = (char)(hi * 16 + lo);
			c += 2;
		} else {
			*d++ = *c;
		}
	}
	*d = '\0';
	*out = s;
	return 0;
}

#define MAX_TOKENS 12

static size_t tokenize(char *line, char **tok)
{
	size_t n = 0;

	for (char *save = NULL, *t = strtok_r(line, " ", &save); t && n < MAX_TOKENS;
	     t = strtok_r(NULL, " ", &save))
		tok[n++] = t;
	return n;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static int parse_i64(const char *s, int64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno || *end || end == s ? -EINVAL : 0;
}

static int parse_hook(const char *s, enum cgbpf_hook *h)
{
	for (int i = 0; i < HOOK_COUNT; i++)
		if (!strcmp(s, hook_name((enum cgbpf_hook)i))) {
			*h = (enum cgbpf_hook)i;
			return 0;
		}
	return -EINVAL;
}

static int parse_kind(const char *s, enum attach_kind *k)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (!strcmp(s, kind_names[i])) {
			*k = (enum attach_kind)i;
			return 0;
		}
	return -EINVAL;
}

/* Decodes @n fields in a row; stops at the first error. */
static int fields_decode(char **tok, char **const out[], size_t n)
{
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++)
		r = field_decode(tok[i], out[i]);
	return r;
}

static void fields_free(char **const f[], size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(*f[i]);
}

/* attach HOOK KIND IDENT LINK WHAT LINES */
static int decode_attach(struct ledger *l, char **tok)
{
	struct ledger_attach a = { 0 };
	char **const f[] = { &a.ident, &a.link, &a.what, &a.lines };
	int r;

	if (parse_hook(tok[1], &a.hook) < 0 || parse_kind(tok[2], &a.kind) < 0)
		return -EINVAL;
	r = fields_decode(tok + 3, f, 4);
	if (r == 0 && (!a.ident || !a.link))
		r = -EINVAL;
	if (r == 0)
		r = ledger_add_attach(l, &a);
	fields_free(f, 4);
	return r;
}

/* session PID START OPENED ORIGIN SERVICE TTY RHOST */
static int decode_session(struct ledger *l, char **tok)
{
	struct ledger_session s = { 0 };
	char **const f[] = { &s.origin, &s.service, &s.tty, &s.rhost };
	int64_t i64;
	int r;

	if (parse_i64(tok[1], &i64) < 0 || i64 <= 0 || i64 > INT32_MAX)
		return -EINVAL;
	s.pid = (int32_t)i64;
	if (parse_u64(tok[2], &s.start_time) < 0 || parse_i64(tok[3], &s.opened) < 0)
		return -EINVAL;
	r = fields_decode(tok + 4, f, 4);
	if (r == 0)
		r = ledger_add_session(l, &s);
	fields_free(f, 4);
	return r;
}

static int decode_u32(const char *tok, uint32_t *out)
{
	uint64_t u;

	if (parse_u64(tok, &u) < 0 || u > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)u;
	return 0;
}

static int decode_placement(const char *tok, enum placement_kind *out)
{
	if (!strcmp(tok, "own"))
		*out = PLACEMENT_OWN;
	else if (!strcmp(tok, "systemd"))
		*out = PLACEMENT_SYSTEMD;
	else
		return -EINVAL;
	return 0;
}

/* settings CONFIG CGROUP_ROOT BPFFS: what made the sandbox. */
static int decode_settings(struct ledger *l, char **tok)
{
	char **const f[] = { &l->config, &l->cgroup_root, &l->bpffs };

	return fields_decode(tok + 1, f, 3);
}

static int decode_line(struct ledger *l, char **tok, size_t n, bool *ended)
{
	if (!strcmp(tok[0], "end") && n == 1) {
		*ended = true;
		return 0;
	}
	if (!strcmp(tok[0], "uid") && n == 2)
		return decode_u32(tok[1], &l->uid);
	if (!strcmp(tok[0], "user") && n == 2 && !l->user)
		return field_decode(tok[1], &l->user);
	if (!strcmp(tok[0], "boot") && n == 2 && !l->boot_id)
		return field_decode(tok[1], &l->boot_id);
	if (!strcmp(tok[0], "cgroup") && n == 3 && !l->cgroup) {
		if (parse_u64(tok[2], &l->cgroup_id) < 0)
			return -EINVAL;
		return field_decode(tok[1], &l->cgroup);
	}
	if (!strcmp(tok[0], "settings") && n == 4 && !l->config && !l->cgroup_root && !l->bpffs)
		return decode_settings(l, tok);
	if (!strcmp(tok[0], "placement") && n == 2 && !l->placement)
		return decode_placement(tok[1], &l->placement);
	if (!strcmp(tok[0], "next_link") && n == 2)
		return decode_u32(tok[1], &l->next_link);
	if (!strcmp(tok[0], "attach") && n == 7)
		return decode_attach(l, tok);
	if (!strcmp(tok[0], "session") && n == 8)
		return decode_session(l, tok);
	return -EINVAL;
}

int ledger_decode(const char *buf, size_t len, struct ledger *out, struct cgbpf_error *err)
{
	_cleanup_free_ char *copy = NULL;
	struct ledger l = { 0 };
	bool ended = false;
	unsigned int lineno = 0;
	char *save = NULL;
	int r = 0;

	*out = (struct ledger){ 0 };
	copy = strndup(buf, len);
	if (!copy)
		return -ENOMEM;
	if (strlen(copy) != len)
		return cgbpf_error_set(err, EINVAL, "ledger holds a NUL byte");
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok[MAX_TOKENS + 1];
		size_t n;

		lineno++;
		/*
		 * Bytes after "end" are what a shorter rewrite left when its writer
		 * died between pwrite and ftruncate: not part of the ledger.
		 */
		if (ended)
			break;
		if (lineno == 1) {
			if (strcmp(line, LEDGER_MAGIC) != 0) {
				r = -EINVAL;
				break;
			}
			continue;
		}
		n = tokenize(line, tok);
		if (n == 0) {
			r = -EINVAL;
			break;
		}
		r = decode_line(&l, tok, n, &ended);
		if (r < 0)
			break;
	}
	if (r == 0 && (!ended || !l.cgroup || !l.boot_id))
		r = -EINVAL;
	if (l.placement == PLACEMENT_AUTO)
		l.placement = PLACEMENT_OWN; /* ledgers from before placements existed */
	if (r < 0) {
		ledger_clear(&l);
		if (r == -ENOMEM)
			return r;
		return cgbpf_error_set(err, EINVAL, "line %u is not what pam_cgbpf writes",
				       lineno ? lineno : 1);
	}
	*out = l;
	return 0;
}

static void attach_free(struct ledger_attach *a)
{
	free(a->ident);
	free(a->link);
	free(a->what);
	free(a->lines);
}

static void session_free(struct ledger_session *s)
{
	free(s->origin);
	free(s->service);
	free(s->tty);
	free(s->rhost);
}

void ledger_clear(struct ledger *l)
{
	for (size_t i = 0; i < l->n_att; i++)
		attach_free(&l->att[i]);
	for (size_t i = 0; i < l->n_ses; i++)
		session_free(&l->ses[i]);
	free(l->att);
	free(l->ses);
	free(l->user);
	free(l->boot_id);
	free(l->cgroup);
	free(l->config);
	free(l->cgroup_root);
	free(l->bpffs);
	*l = (struct ledger){ 0 };
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

int ledger_add_session(struct ledger *l, const struct ledger_session *s)
{
	struct ledger_session c = *s, *n;

	c.origin = c.service = c.tty = c.rhost = NULL;
	if (dup_opt(s->origin, &c.origin) < 0 || dup_opt(s->service, &c.service) < 0 ||
	    dup_opt(s->tty, &c.tty) < 0 || dup_opt(s->rhost, &c.rhost) < 0)
		goto oom;
	n = realloc(l->ses, (l->n_ses + 1) * sizeof(*n));
	if (!n)
		goto oom;
	l->ses = n;
	l->ses[l->n_ses++] = c;
	return 0;
oom:
	session_free(&c);
	return -ENOMEM;
}

void ledger_remove_session(struct ledger *l, size_t idx)
{
	session_free(&l->ses[idx]);
	memmove(&l->ses[idx], &l->ses[idx + 1], (l->n_ses - idx - 1) * sizeof(l->ses[0]));
	l->n_ses--;
}

int ledger_add_attach(struct ledger *l, const struct ledger_attach *a)
{
	struct ledger_attach c = *a, *n;

	c.ident = c.link = c.what = c.lines = NULL;
	if (dup_opt(a->ident, &c.ident) < 0 || dup_opt(a->link, &c.link) < 0 ||
	    dup_opt(a->what, &c.what) < 0 || dup_opt(a->lines, &c.lines) < 0)
		goto oom;
	n = realloc(l->att, (l->n_att + 1) * sizeof(*n));
	if (!n)
		goto oom;
	l->att = n;
	l->att[l->n_att++] = c;
	return 0;
oom:
	attach_free(&c);
	return -ENOMEM;
}

void ledger_remove_attach(struct ledger *l, size_t idx)
{
	attach_free(&l->att[idx]);
	memmove(&l->att[idx], &l->att[idx + 1], (l->n_att - idx - 1) * sizeof(l->att[0]));
	l->n_att--;
}

long ledger_find_session(const struct ledger *l, int32_t pid, uint64_t start_time)
{
	for (size_t i = 0; i < l->n_ses; i++)
		if (l->ses[i].pid == pid && l->ses[i].start_time == start_time)
			return (long)i;
	return -1;
}

/* One key of the settings check: appends " KEY=LIVE" and " KEY=NEW" when they differ. */
static void settings_diff(char *live, size_t live_size, char *now, size_t now_size, const char *key,
			  const char *a, const char *b)
{
	size_t n;

	if (!a || !strcmp(a, b))
		return; /* a ledger older than the record, or the same */
	n = strlen(live);
	snprintf(live + n, live_size - n, " %s=%s", key, a);
	n = strlen(now);
	snprintf(now + n, now_size - n, " %s=%s", key, b);
}

int ledger_check_settings(const struct ledger *l, const struct cgbpf_settings *s,
			  enum placement_kind kind, struct cgbpf_error *err)
{
	char live[CGBPF_ERROR_MAX / 2] = "", now[CGBPF_ERROR_MAX / 2] = "";

	settings_diff(live, sizeof(live), now, sizeof(now), "placement",
		      placement_kind_name(l->placement), placement_kind_name(kind));
	settings_diff(live, sizeof(live), now, sizeof(now), "config", l->config, s->config);
	settings_diff(live, sizeof(live), now, sizeof(now), "cgroup_root", l->cgroup_root,
		      s->cgroup_root);
	settings_diff(live, sizeof(live), now, sizeof(now), "bpffs", l->bpffs, s->bpffs);
	if (!live[0])
		return 0;
	return cgbpf_error_set(err, EBUSY,
			       "the live sandbox of %s (uid %" PRIu32 ") was made with%s; this "
			       "session has%s: refused, one sandbox has one set of settings",
			       l->user ? l->user : "?", l->uid, live, now);
}
