// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * `cgbpfctl status`: collecting one sandbox's state from its ledger, its
 * cgroup and the kernel's view of its pinned links, and printing it for a
 * terminal or as JSON.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sysbpf.h"

#include "attach.h"
#include "bpf/filter_types.h"
#include "cgroup.h"
#include "layout.h"
#include "placement_choice.h"
#include "sandbox.h"
#include "status.h"
#include "util.h"

/* ---- strings that came from elsewhere ---------------------------------------------------- */

/* Length of the valid UTF-8 sequence at @s (NUL-terminated), 0 when there is none. */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		/* Overlong forms and UTF-16 surrogates are not UTF-8. */
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

void json_put_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	while (*p) {
		size_t n = utf8_seq_len(p);

		if (n == 0) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		if (n > 1) {
			fwrite(p, 1, n, f);
			p += n;
			continue;
		}
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
		p++;
	}
	fputc('"', f);
}

char *json_escape(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	json_put_string(f, s);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void term_put_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s)
		return;
	while (*p) {
		size_t n = utf8_seq_len(p);

		/* C0 and C1 controls and DEL would be read by the terminal, not shown. */
		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			fprintf(f, "\\x%02x", *p);
			p++;
			continue;
		}
		fwrite(p, 1, n, f);
		p += n;
	}
}

/* ---- collecting --------------------------------------------------------------------------- */

static int read_pids(const char *cgroup_dir, pid_t **pids, size_t *n)
{
	char path[8300];
	_cleanup_fclose_ FILE *f = NULL;
	long pid;

	*pids = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup_dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%ld", &pid) == 1) {
		pid_t *np = realloc(*pids, (*n + 1) * sizeof(**pids));

		if (!np)
			return -ENOMEM;
		*pids = np;
		(*pids)[(*n)++] = (pid_t)pid;
	}
	return 0;
}

/* The processes in the session-<ID>.scope cgroups of logind's slice @slice_dir. */
static void read_scope_pids(const char *slice_dir, pid_t **pids, size_t *n)
{
	DIR *d = opendir(slice_dir);
	struct dirent *e;

	*pids = NULL;
	*n = 0;
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char scope[LAYOUT_PATH_MAX];
		pid_t *more = NULL;
		size_t n_more = 0;

		if (e->d_type != DT_DIR || !logind_is_session_scope(e->d_name) ||
		    layout_join(scope, slice_dir, e->d_name) < 0)
			continue;
		read_pids(scope, &more, &n_more);
		if (n_more) {
			pid_t *np = realloc(*pids, (*n + n_more) * sizeof(**pids));

			if (np) {
				memcpy(np + *n, more, n_more * sizeof(*more));
				*pids = np;
				*n += n_more;
			}
		}
		free(more);
	}
	closedir(d);
}

static void set_error(char **dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(char **dst, const char *fmt, ...)
{
	va_list ap;

	free(*dst);
	va_start(ap, fmt);
	if (vasprintf(dst, fmt, ap) < 0)
		*dst = NULL;
	va_end(ap);
}

/*
 * The rules of a loaded filter: verdicts from its own maps (they describe the
 * program that is attached, which the policy file may no longer do), policy
 * lines from the ledger (a shared program serves sandboxes whose identical
 * rules stand on different lines).
 */
static void read_filter_rules(const char *dir, uint32_t n_rules, struct status_attach *a)
{
	const char *lines = a->att->lines;
	char path[LAYOUT_PATH_MAX];
	_cleanup_close_ int fd = -1;

	if (n_rules > FILTER_MAX_RULES)
		n_rules = FILTER_MAX_RULES;
	if (n_rules == 0) {
		struct filter_config cfg;
		uint32_t key = 0;
		_cleanup_close_ int cfd = -1;

		if (layout_join(path, dir, LAYOUT_FILTER_CONFIG) < 0)
			return;
		cfd = sysbpf_obj_get(path);
		if (cfd < 0 || sysbpf_map_lookup_elem(cfd, &key, &cfg) < 0)
			return;
		n_rules = cfg.n_rules < FILTER_MAX_RULES ? cfg.n_rules : FILTER_MAX_RULES;
	}
	if (n_rules == 0)
		return;
	a->rules = calloc(n_rules, sizeof(*a->rules));
	if (!a->rules)
		return;
	a->n_rules = n_rules;
	fd = layout_join(path, dir, LAYOUT_FILTER_RULES) == 0 ? sysbpf_obj_get(path) : -1;
	for (uint32_t i = 0; i < n_rules; i++) {
		struct filter_rule fr;

		if (fd >= 0 && sysbpf_map_lookup_elem(fd, &i, &fr) == 0)
			a->rules[i].allow = fr.action == FILTER_ACT_ALLOW;
		if (lines && *lines) {
			a->rules[i].line = (unsigned int)strtoul(lines, (char **)&lines, 10);
			if (*lines == ',')
				lines++;
		}
	}
}

static void collect_counters(const struct cgbpf_settings *s, const struct sandbox_status *st,
			     struct status_attach *a)
{
	const struct ledger *l = &st->l;
	char dir[LAYOUT_PATH_MAX];
	struct filter_counters *c;
	int r;

	if (layout_shared_entry(dir, s, a->att->kind, a->att->ident) < 0) {
		set_error(&a->counters_error, "path too long");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		set_error(&a->counters_error, "out of memory");
		return;
	}
	r = filter_read_counters(dir, l->cgroup_id, c);
	if (r == -ENOENT && access(dir, F_OK) == 0) {
		/* Nothing counted for this cgroup yet. */
		memset(c, 0, sizeof(*c));
		r = 0;
	}
	if (r < 0) {
		set_error(&a->counters_error, "cannot read the counters in %s: %s", dir,
			  errno_text(r));
		free(c);
		return;
	}
	a->has_counters = true;
	a->pass_pkts = c->pass_pkts;
	a->pass_bytes = c->pass_bytes;
	a->drop_pkts = c->drop_pkts;
	a->drop_bytes = c->drop_bytes;
	read_filter_rules(dir, c->n_rules, a);
	for (size_t i = 0; i < a->n_rules && i < FILTER_MAX_RULES; i++)
		a->rules[i].hits = c->hits[i];
	free(c);
}

static void collect_attach(const struct cgbpf_settings *s, const struct sandbox_status *st,
			   struct status_attach *a)
{
	struct bpf_link_info li;
	struct bpf_prog_info pi;
	__u32 len;
	char pin[LAYOUT_PATH_MAX];
	_cleanup_close_ int fd = -1, pfd = -1;

	if (layout_pin(pin, s, st->l.uid, a->att->link) < 0) {
		set_error(&a->error, "path too long");
		return;
	}
	a->pin = strdup(pin);
	fd = sysbpf_obj_get(pin);
	if (fd < 0) {
		set_error(&a->error, "cannot open the pinned link %s: %s", pin, errno_text(errno));
		return;
	}
	memset(&li, 0, sizeof(li));
	len = sizeof(li);
	if (sysbpf_obj_get_info_by_fd(fd, &li, &len) < 0) {
		set_error(&a->error, "cannot read the link %s: %s", pin, errno_text(errno));
		return;
	}
	a->link_id = li.id;
	a->prog_id = li.prog_id;
	if (li.type == BPF_LINK_TYPE_CGROUP)
		a->link_cgroup_id = li.cgroup.cgroup_id;
	if (a->link_cgroup_id == 0)
		set_error(&a->error, "the link is defunct: its cgroup is gone");
	pfd = sysbpf_prog_get_fd_by_id(li.prog_id);
	if (pfd >= 0) {
		memset(&pi, 0, sizeof(pi));
		len = sizeof(pi);
		if (sysbpf_obj_get_info_by_fd(pfd, &pi, &len) == 0) {
			memcpy(a->prog_name, pi.name, sizeof(a->prog_name) - 1);
			a->prog_name[sizeof(a->prog_name) - 1] = '\0';
		}
	}
	if (a->att->kind == ATT_FILTER)
		collect_counters(s, st, a);
}

int sandbox_status_collect(const struct cgbpf_settings *s, uint32_t uid, struct sandbox_status *out,
			   struct cgbpf_error *err)
{
	struct cgbpf_settings made;
	char mount[LAYOUT_PATH_MAX], dir[LAYOUT_PATH_MAX];
	int r;

	memset(out, 0, sizeof(*out));
	r = sandbox_read(s, uid, &out->l, err);
	if (r == -ENOENT)
		return cgbpf_error_set(err, r, "uid %" PRIu32 " has no sandbox", uid);
	if (r < 0)
		return r;
	out->live = calloc(out->l.n_ses + 1, sizeof(*out->live));
	out->att = calloc(out->l.n_att + 1, sizeof(*out->att));
	if (!out->live || !out->att) {
		sandbox_status_clear(out);
		return cgbpf_oom(err);
	}
	for (size_t i = 0; i < out->l.n_ses; i++) {
		out->live[i] = session_is_live(&out->l.ses[i]);
		out->n_live += out->live[i];
	}
	r = cgroup2_mount_point(mount, sizeof(mount), err);
	if (r < 0) {
		sandbox_status_clear(out);
		return r;
	}
	if (layout_join(dir, mount, out->l.cgroup ? out->l.cgroup : "") < 0) {
		sandbox_status_clear(out);
		return cgbpf_error_set(err, ENAMETOOLONG, "cgroup path too long");
	}
	out->cgroup_dir = strdup(dir);
	if (!out->cgroup_dir) {
		sandbox_status_clear(out);
		return cgbpf_oom(err);
	}
	out->cgroup_exists = access(out->cgroup_dir, F_OK) == 0;
	out->slice = out->l.placement == PLACEMENT_SYSTEMD;
	if (out->cgroup_exists && out->slice) {
		/* What keeps the sandbox is what is left in the session scopes. */
		read_scope_pids(out->cgroup_dir, &out->pids, &out->n_pids);
	} else if (out->cgroup_exists) {
		read_pids(out->cgroup_dir, &out->pids, &out->n_pids);
	}
	/* Pins and counters are where the sandbox's own settings put them. */
	made = *s;
	if (out->l.bpffs)
		made.bpffs = out->l.bpffs;
	for (size_t j = 0; j < out->l.n_att; j++) {
		out->att[j].att = &out->l.att[j];
		collect_attach(&made, out, &out->att[j]);
	}
	return 0;
}

void sandbox_status_clear(struct sandbox_status *st)
{
	if (st->att)
		for (size_t j = 0; j < st->l.n_att; j++) {
			free(st->att[j].pin);
			free(st->att[j].error);
			free(st->att[j].counters_error);
			free(st->att[j].rules);
		}
	free(st->att);
	free(st->live);
	free(st->cgroup_dir);
	free(st->pids);
	ledger_clear(&st->l);
	memset(st, 0, sizeof(*st));
}

bool sandbox_status_reclaimable(const struct sandbox_status *st)
{
	return st->n_live == 0 && st->n_pids == 0;
}

/* ---- the terminal ------------------------------------------------------------------------- */

static void human_bytes(uint64_t b, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)b;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%" PRIu64 " B", b);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
}

static void format_time(int64_t t, bool utc_iso, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!(utc_iso ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm)) ||
	    !strftime(buf, size, utc_iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, size, "%" PRId64, t);
}

static void text_counters(FILE *f, const struct status_attach *a)
{
	char pb[32], db[32];

	if (a->counters_error) {
		fputs("      counters: ", f);
		term_put_string(f, a->counters_error);
		fputc('\n', f);
		return;
	}
	if (!a->has_counters)
		return;
	if (a->att->hook == HOOK_SOCK_CREATE) {
		/* Here the filter sees sockets being created, not packets. */
		fprintf(f, "      allowed %12" PRIu64 " sockets\n", a->pass_pkts);
		fprintf(f, "      refused %12" PRIu64 " sockets\n", a->drop_pkts);
	} else if (hook_is_early(a->att->hook)) {
		/* The early verdict sees connect() and sendmsg() calls. */
		fprintf(f, "      refused %12" PRIu64 " calls (EPERM)\n", a->drop_pkts);
		fprintf(f, "      passed  %12" PRIu64 " calls (on to the packet filter)\n",
			a->pass_pkts);
	} else {
		human_bytes(a->pass_bytes, pb, sizeof(pb));
		human_bytes(a->drop_bytes, db, sizeof(db));
		fprintf(f, "      passed  %12" PRIu64 " packets  %12s\n", a->pass_pkts, pb);
		fprintf(f, "      dropped %12" PRIu64 " packets  %12s\n", a->drop_pkts, db);
	}
	for (size_t i = 0; i < a->n_rules; i++)
		fprintf(f, "      rule %-3zu line %-5" PRIu32 " %-5s %12" PRIu64 " hit%s\n", i + 1,
			a->rules[i].line, a->rules[i].allow ? "allow" : "deny", a->rules[i].hits,
			a->rules[i].hits == 1 ? "" : "s");
}

void status_print_text(FILE *f, const struct sandbox_status *st)
{
	const struct ledger *l = &st->l;

	term_put_string(f, l->user ? l->user : "?");
	fprintf(f, " (uid %" PRIu32 ")%s\n", l->uid,
		sandbox_status_reclaimable(st) ? "  [no live session, no process: gc removes it]"
					       : "");
	fprintf(f, "  placement  %s\n", placement_kind_name(l->placement));
	fputs(st->slice ? "  slice      /" : "  cgroup     /", f);
	term_put_string(f, l->cgroup);
	fprintf(f, " (id %" PRIu64 ")%s\n", l->cgroup_id, st->cgroup_exists ? "" : "  [missing]");
	fputs("  config     ", f);
	term_put_string(f, l->config ? l->config : "?");
	fputc('\n', f);
	fprintf(f, "  processes  %zu", st->n_pids);
	for (size_t i = 0; i < st->n_pids; i++)
		fprintf(f, "%s%d", i ? " " : ": ", (int)st->pids[i]);
	fputc('\n', f);
	fprintf(f, "  sessions   %zu (%zu live, %zu stale)\n", l->n_ses, st->n_live,
		l->n_ses - st->n_live);
	for (size_t i = 0; i < l->n_ses; i++) {
		const struct ledger_session *ses = &l->ses[i];
		char when[64];

		format_time(ses->opened, false, when, sizeof(when));
		fprintf(f, "    pid %-7d %-5s  opened %s  service ", ses->pid,
			st->live[i] ? "live" : "stale", when);
		term_put_string(f, ses->service ? ses->service : "-");
		fputs("  tty ", f);
		term_put_string(f, ses->tty ? ses->tty : "-");
		fputs("  from ", f);
		term_put_string(f, ses->rhost ? ses->rhost : "local");
		fputc('\n', f);
	}
	for (int h = 0; h < HOOK_COUNT; h++) {
		bool any = false;

		/* The socket-address hooks are shown only when something is attached there. */
		for (size_t j = 0; j < l->n_att && !hook_takes_rules((enum cgbpf_hook)h); j++)
			any |= st->att[j].att->hook == (enum cgbpf_hook)h;
		if (!hook_takes_rules((enum cgbpf_hook)h) && !any)
			continue;
		any = false;
		fprintf(f, "  %s\n", hook_name((enum cgbpf_hook)h));
		for (size_t j = 0; j < l->n_att; j++) {
			const struct status_attach *a = &st->att[j];

			if (a->att->hook != (enum cgbpf_hook)h)
				continue;
			any = true;
			fprintf(f, "    %-7s ", attach_kind_name(a->att->kind));
			term_put_string(f, a->att->what ? a->att->what : "");
			if (a->prog_id)
				fprintf(f, "  program %s (id %" PRIu32 ")  link id %" PRIu32,
					a->prog_name[0] ? a->prog_name : "?", a->prog_id,
					a->link_id);
			fputc('\n', f);
			if (a->error) {
				fputs("      error: ", f);
				term_put_string(f, a->error);
				fputc('\n', f);
			}
			text_counters(f, a);
		}
		if (!any)
			fputs("    (nothing attached)\n", f);
	}
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void json_u64_or_null(FILE *f, bool have, uint64_t v)
{
	if (have)
		fprintf(f, "%" PRIu64, v);
	else
		fputs("null", f);
}

static void json_counters(FILE *f, const struct status_attach *a)
{
	if (!a->has_counters) {
		fputs("null", f);
		return;
	}
	fprintf(f,
		"{\"passed_packets\": %" PRIu64 ", \"passed_bytes\": %" PRIu64
		", \"dropped_packets\": %" PRIu64 ", \"dropped_bytes\": %" PRIu64 ", \"rules\": [",
		a->pass_pkts, a->pass_bytes, a->drop_pkts, a->drop_bytes);
	for (size_t i = 0; i < a->n_rules; i++)
		fprintf(f,
			"%s{\"index\": %zu, \"line\": %" PRIu32
			", \"action\": \"%s\", \"hits\": %" PRIu64 "}",
			i ? ", " : "", i + 1, a->rules[i].line,
			a->rules[i].allow ? "allow" : "deny", a->rules[i].hits);
	fputs("]}", f);
}

static void json_attach(FILE *f, const struct status_attach *a)
{
	bool have = a->prog_id != 0;

	fputs("{\"kind\": ", f);
	json_put_string(f, attach_kind_name(a->att->kind));
	fputs(", \"what\": ", f);
	json_put_string(f, a->att->what);
	fputs(", \"ident\": ", f);
	json_put_string(f, a->att->ident);
	fputs(", \"link\": ", f);
	json_put_string(f, a->pin);
	fputs(", \"link_id\": ", f);
	json_u64_or_null(f, have, a->link_id);
	fputs(", \"program_id\": ", f);
	json_u64_or_null(f, have, a->prog_id);
	fputs(", \"program_name\": ", f);
	json_put_string(f, have ? a->prog_name : NULL);
	fputs(", \"link_cgroup_id\": ", f);
	json_u64_or_null(f, have, a->link_cgroup_id);
	fputs(", \"error\": ", f);
	json_put_string(f, a->error);
	fputs(", \"counters\": ", f);
	json_counters(f, a);
	fputs(", \"counters_error\": ", f);
	json_put_string(f, a->counters_error);
	fputc('}', f);
}

static void json_sandbox(FILE *f, const struct sandbox_status *st)
{
	const struct ledger *l = &st->l;
	char rel[4200];

	snprintf(rel, sizeof(rel), "/%s", l->cgroup ? l->cgroup : "");
	fputs("    {\"user\": ", f);
	json_put_string(f, l->user);
	fprintf(f, ", \"uid\": %" PRIu32 ",\n     \"cgroup\": ", l->uid);
	json_put_string(f, rel);
	fputs(", \"placement\": ", f);
	json_put_string(f, placement_kind_name(l->placement));
	fputs(", \"slice\": ", f);
	json_put_string(f, st->slice ? rel : NULL);
	fputs(", \"config\": ", f);
	json_put_string(f, l->config);
	fprintf(f,
		",\n     \"cgroup_id\": %" PRIu64 ", \"cgroup_exists\": %s, \"reclaimable\": %s,\n",
		l->cgroup_id, st->cgroup_exists ? "true" : "false",
		sandbox_status_reclaimable(st) ? "true" : "false");
	fprintf(f, "     \"processes\": {\"count\": %zu, \"pids\": [", st->n_pids);
	for (size_t i = 0; i < st->n_pids; i++)
		fprintf(f, "%s%d", i ? ", " : "", (int)st->pids[i]);
	fputs("]},\n     \"sessions\": [", f);
	for (size_t i = 0; i < l->n_ses; i++) {
		const struct ledger_session *ses = &l->ses[i];
		char iso[64];

		format_time(ses->opened, true, iso, sizeof(iso));
		fprintf(f, "%s\n       {\"pid\": %d, \"service\": ", i ? "," : "", ses->pid);
		json_put_string(f, ses->service);
		fputs(", \"tty\": ", f);
		json_put_string(f, ses->tty);
		fputs(", \"rhost\": ", f);
		json_put_string(f, ses->rhost);
		fprintf(f, ", \"opened\": %" PRId64 ", \"opened_iso\": ", ses->opened);
		json_put_string(f, iso);
		fputs(", \"origin\": ", f);
		json_put_string(f, ses->origin);
		fprintf(f, ", \"live\": %s, \"state\": \"%s\"}", st->live[i] ? "true" : "false",
			st->live[i] ? "live" : "stale");
	}
	fputs(l->n_ses ? "\n     ],\n     \"hooks\": {" : "],\n     \"hooks\": {", f);
	for (int h = 0; h < HOOK_COUNT; h++) {
		bool first = true;

		fprintf(f, "%s\n       \"%s\": [", h ? "," : "", hook_name((enum cgbpf_hook)h));
		for (size_t j = 0; j < l->n_att; j++) {
			if (st->att[j].att->hook != (enum cgbpf_hook)h)
				continue;
			fputs(first ? "\n         " : ",\n         ", f);
			json_attach(f, &st->att[j]);
			first = false;
		}
		fputs(first ? "]" : "\n       ]", f);
	}
	fputs("\n     }}", f);
}

void status_print_json(FILE *f, const struct sandbox_status *v, size_t n,
		       const struct status_failure *fail, size_t n_fail)
{
	fputs("{\n  \"version\": 1,\n  \"sandboxes\": [", f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_sandbox(f, &v[i]);
	}
	fputs(n ? "\n  ],\n  \"errors\": [" : "],\n  \"errors\": [", f);
	for (size_t i = 0; i < n_fail; i++) {
		fprintf(f, "%s\n    {\"uid\": %" PRIu32 ", \"message\": ", i ? "," : "",
			fail[i].uid);
		json_put_string(f, fail[i].message);
		fputc('}', f);
	}
	fputs(n_fail ? "\n  ]\n}\n" : "]\n}\n", f);
}
