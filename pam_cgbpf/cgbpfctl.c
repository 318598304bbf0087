// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cgbpfctl: the administrator's side of pam_cgbpf (cgbpfctl(8)).
 *
 *   check [--user NAME]   the module's parser, resolver and a dry run of every program
 *   status [--json]       every live sandbox, as the ledger and the kernel see it
 *   gc                    removes what no session uses any more
 *   reload                applies the policy file to every live sandbox
 *
 * Exit status: 0 success, 1 failure (an invalid policy for check), 2 usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "attach.h"
#include "cgroup.h"
#include "filter_compile.h"
#include "filter_load.h"
#include "ledger_file.h"
#include "loader.h"
#include "log.h"
#include "policy.h"
#include "policy_lint.h"
#include "resolve.h"
#include "safe_file.h"
#include "gc.h"
#include "sandbox.h"
#include "status.h"
#include "userdb.h"
#include "util.h"

#define EXIT_USAGE 2

static const char usage_text[] =
	"usage: cgbpfctl [OPTIONS] COMMAND\n"
	"\n"
	"commands:\n"
	"  check [--user NAME]  validate the policy file and dry-run every program it names;\n"
	"                       with --user, show the rules that apply to NAME per hook\n"
	"  status [--json]      show every live sandbox\n"
	"  gc                   remove sandboxes and shared programs nobody uses any more\n"
	"  reload               apply each live sandbox's own policy file to it again;\n"
	"                       with --config, only to the sandboxes made from that file\n"
	"\n"
	"options:\n"
	"  --config PATH        policy file (default " CGBPF_DEFAULT_CONFIG ")\n"
	"  --cgroup-root NAME   parent of the per-user cgroups (default " CGBPF_DEFAULT_CGROUP_ROOT
	")\n"
	"  --bpffs PATH         where attachments are pinned (default " CGBPF_DEFAULT_BPFFS ")\n"
	"  --state-dir PATH     where the ledgers live (default " CGBPF_DEFAULT_STATE_DIR ")\n"
	"  -v, --verbose        show libbpf's messages and the verifier's log\n"
	"  -h, --help           show this text\n";

/* ---- messages ----------------------------------------------------------------------------- */

/*
 * Everything from the library arrives here. libbpf's own lines (the verifier
 * log among them) all begin with "libbpf: " and are noise unless asked for.
 */
static void log_to_stderr(void *ctx, int priority, const char *fmt, va_list ap)
{
	bool verbose = *(const bool *)ctx;
	char buf[4096];
	size_t n;

	if (!verbose && (priority > LOG_WARNING || !strncmp(fmt, "libbpf: ", 8)))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	fprintf(stderr, "cgbpfctl: %s%s\n", priority == LOG_WARNING ? "warning: " : "", buf);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cgbpfctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'cgbpfctl --help'.\n", stderr);
	return EXIT_USAGE;
}

/* A policy diagnostic is printed bare, "FILE:LINE: message", as compilers print theirs. */
static void report_policy_error(const struct cgbpf_error *err)
{
	fprintf(stderr, "%s\n", err->msg[0] ? err->msg : "unknown error");
}

/* ---- check -------------------------------------------------------------------------------- */

/* Where each line of the policy starts, to show rules as the administrator wrote them. */
struct line_index {
	const char *buf;
	size_t len;
	size_t *start; /* start[i] = offset of line i + 1 */
	size_t n;
};

static int line_index_build(struct line_index *li, const char *buf, size_t len)
{
	size_t n = 1;

	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	li->start = calloc(n, sizeof(*li->start));
	if (!li->start)
		return -ENOMEM;
	li->buf = buf;
	li->len = len;
	li->n = 0;
	li->start[li->n++] = 0;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n' && li->n < n)
			li->start[li->n++] = i + 1;
	return 0;
}

/* Prints line @line without its comment and surrounding blanks. */
static void print_policy_line(FILE *f, const struct line_index *li, unsigned int line)
{
	const char *s, *e;
	char *text;

	if (line == 0 || line > li->n)
		return;
	s = li->buf + li->start[line - 1];
	e = line < li->n ? li->buf + li->start[line] : li->buf + li->len;
	for (const char *h = s; h < e; h++)
		if (*h == '#' || *h == '\n') {
			e = h;
			break;
		}
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	text = strndup(s, (size_t)(e - s));
	fprintf(f, "    %5u: ", line);
	term_put_string(f, text ? text : "");
	fputc('\n', f);
	free(text);
}

/* Warns once per name about users and @groups that do not exist here: they never match. */
static void warn_unknown_names(const struct policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		bool seen = false, missing;

		if (r->who != WHO_USER && r->who != WHO_GROUP)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = p->rules[j].who == r->who &&
			       !strcmp(p->rules[j].who_name, r->who_name);
		if (seen)
			continue;
		missing = r->who == WHO_USER ? getpwnam(r->who_name) == NULL
					     : getgrnam(r->who_name) == NULL;
		if (missing)
			fprintf(stderr,
				"%s:%u: warning: %s '%s%s' does not exist on this system; "
				"its rules never match\n",
				p->file, r->line, r->who == WHO_USER ? "user" : "group",
				r->who == WHO_GROUP ? "@" : "", r->who_name);
	}
}

static void print_lint_warning(void *ctx, unsigned int line, const char *msg)
{
	fprintf(stderr, "%s:%u: warning: %s\n", (const char *)ctx, line, msg);
}

/* What the dry run did, so that identical programs are loaded only once. */
struct dry_run {
	const char *file;
	bool verbose;
	char **seen;
	size_t n_seen;
	unsigned int n_filters, n_programs, n_pinned;
};

static bool dry_run_seen(struct dry_run *dr, const struct want_attach *w)
{
	char **n;

	for (size_t i = 0; i < dr->n_seen; i++)
		if (!strcmp(dr->seen[i], w->ident))
			return true;
	n = realloc(dr->seen, (dr->n_seen + 1) * sizeof(*n));
	if (!n)
		return false;
	dr->seen = n;
	dr->seen[dr->n_seen] = strdup(w->ident);
	if (dr->seen[dr->n_seen])
		dr->n_seen++;
	return false;
}

static void dry_run_free(struct dry_run *dr)
{
	for (size_t i = 0; i < dr->n_seen; i++)
		free(dr->seen[i]);
	free(dr->seen);
	dr->seen = NULL;
	dr->n_seen = 0;
}

/* Loads only the chosen program, as the module would, then drops it. */
static int program_dry_run(const struct want_attach *w, const char *file, struct cgbpf_error *err)
{
	const struct cgbpf_loader *loader = cgbpf_loader_get(err);
	int fd, r;

	r = loader ? loader->program_load(w, file, &fd, err) : -ENOEXEC;
	if (r == 0)
		close(fd);
	return r;
}

/* Loads every program @ws names the way a login would, and unloads it again. */
static int dry_run_wants(struct dry_run *dr, const struct want_set *ws, bool report)
{
	int failed = 0;

	for (size_t i = 0; i < ws->n; i++) {
		const struct want_attach *w = &ws->v[i];
		struct cgbpf_error err = { { 0 } };
		int r = 0;

		if (dry_run_seen(dr, w))
			continue;
		switch (w->kind) {
		case ATT_FILTER:
			r = filter_dry_run(w->img, &err);
			if (r < 0 && strncmp(err.msg, dr->file, strlen(dr->file)) != 0) {
				char msg[CGBPF_ERROR_MAX];

				snprintf(msg, sizeof(msg), "%s", err.msg);
				err.msg[0] = '\0';
				cgbpf_error_at(&err, r, dr->file, w->line,
					       "%s: the built-in filter (%s) does not load: %s",
					       hook_name(w->hook), w->what, msg);
			}
			dr->n_filters += r == 0;
			break;
		case ATT_PROGRAM:
			r = program_dry_run(w, dr->file, &err);
			dr->n_programs += r == 0;
			break;
		case ATT_PINNED:
			/* want_set_build opened it and checked its type already. */
			dr->n_pinned++;
			break;
		}
		if (r < 0) {
			report_policy_error(&err);
			if (!dr->verbose && w->kind == ATT_PROGRAM)
				fputs("cgbpfctl: run with --verbose to see the verifier's log\n",
				      stderr);
			failed = 1;
		} else if (report) {
			printf("dry run: %s %s %s: %s\n", hook_name(w->hook),
			       attach_kind_name(w->kind), w->what,
			       w->kind == ATT_FILTER	? "passed the verifier"
			       : w->kind == ATT_PROGRAM ? "loaded"
							: "pinned program found");
		}
	}
	return failed;
}

static void print_who(FILE *f, const struct rule *r)
{
	switch (r->who) {
	case WHO_USER:
		fprintf(f, "%s", r->who_name);
		break;
	case WHO_GROUP:
		fprintf(f, "@%s", r->who_name);
		break;
	case WHO_UID_RANGE:
		if (r->uid_lo == r->uid_hi)
			fprintf(f, "%" PRIu32, r->uid_lo);
		else if (r->uid_hi == UINT32_MAX)
			fprintf(f, "%" PRIu32 "-", r->uid_lo);
		else
			fprintf(f, "%" PRIu32 "-%" PRIu32, r->uid_lo, r->uid_hi);
		break;
	case WHO_ANY:
		fputs("*", f);
		break;
	}
}

static int who_cmp(const struct rule *a, const struct rule *b)
{
	int c;

	if (a->who != b->who)
		return a->who < b->who ? -1 : 1;
	if (a->who_name || b->who_name) {
		c = strcmp(a->who_name ? a->who_name : "", b->who_name ? b->who_name : "");
		if (c)
			return c;
	}
	if (a->uid_lo != b->uid_lo)
		return a->uid_lo < b->uid_lo ? -1 : 1;
	if (a->uid_hi != b->uid_hi)
		return a->uid_hi < b->uid_hi ? -1 : 1;
	return 0;
}

static int rule_ptr_cmp(const void *x, const void *y)
{
	const struct rule *a = *(const struct rule *const *)x, *b = *(const struct rule *const *)y;
	int c = who_cmp(a, b);

	if (c)
		return c;
	return a < b ? -1 : a > b; /* file order within one who */
}

/* The plan a user decided by the lines of one who token alone would get. */
static int plan_for_token(const struct rule *const *v, size_t n, struct resolved_policy *rp)
{
	memset(rp, 0, sizeof(*rp));
	for (int h = 0; h < HOOK_COUNT; h++) {
		struct hook_plan *plan = &rp->hook[h];

		plan->decided_by = CLASS_NONE;
		plan->filter = calloc(n, sizeof(*plan->filter));
		plan->programs = calloc(n, sizeof(*plan->programs));
		if (!plan->filter || !plan->programs) {
			resolved_policy_clear(rp);
			return -ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			const struct rule *r = v[i];

			if (!(r->hooks & HOOK_BIT(h)))
				continue;
			plan->decided_by = CLASS_ANY; /* any class: only "has a line" matters */
			if (r->action == ACT_NONE)
				plan->none = true;
			else if (r->action == ACT_ALLOW || r->action == ACT_DENY)
				plan->filter[plan->n_filter++] = r;
			else
				plan->programs[plan->n_programs++] = r;
		}
	}
	return 0;
}

/* Without --user: every who token's lines, hook by hook, as if they decided. */
static int check_all_tokens(const struct policy *p, struct dry_run *dr)
{
	_cleanup_free_ const struct rule **v = NULL;
	int failed = 0;

	if (!p->n_rules)
		return 0;
	v = calloc(p->n_rules, sizeof(*v));
	if (!v) {
		cgbpf_log(LOG_ERR, "out of memory");
		return 1;
	}
	for (size_t i = 0; i < p->n_rules; i++)
		v[i] = &p->rules[i];
	qsort(v, p->n_rules, sizeof(*v), rule_ptr_cmp);
	for (size_t i = 0, j; i < p->n_rules; i = j) {
		struct resolved_policy rp;
		struct want_set ws = { 0 };
		struct cgbpf_error err = { { 0 } };

		for (j = i + 1; j < p->n_rules && !who_cmp(v[i], v[j]); j++)
			;
		if (plan_for_token(v + i, j - i, &rp) < 0) {
			cgbpf_log(LOG_ERR, "out of memory");
			return 1;
		}
		if (want_set_build(&rp, p->file, &ws, &err) < 0) {
			report_policy_error(&err);
			failed = 1;
		} else {
			if (dr->verbose) {
				printf("who ");
				print_who(stdout, v[i]);
				printf(": %zu line%s\n", j - i, j - i == 1 ? "" : "s");
			}
			failed |= dry_run_wants(dr, &ws, dr->verbose);
		}
		want_set_free(&ws);
		resolved_policy_clear(&rp);
	}
	return failed;
}

static void print_user(const struct user_record *rec)
{
	printf("user ");
	term_put_string(stdout, rec->name);
	printf(" (uid %" PRIu32 "), groups:", rec->uid);
	for (size_t i = 0; i < rec->n_groups; i++) {
		fputc(' ', stdout);
		term_put_string(stdout, rec->groups[i]);
	}
	fputc('\n', stdout);
}

/* The deciding class's lines of hook @h in file order, "none" lines included. */
static void print_deciding_lines(const struct policy *p, const struct line_index *li,
				 const struct user_record *rec, const struct resolved_policy *rp,
				 int h)
{
	const struct hook_plan *plan = &rp->hook[h];

	/* The socket-address hooks take only program lines: shown when they have one. */
	if (!hook_takes_rules((enum cgbpf_hook)h) && plan->decided_by == CLASS_NONE)
		return;
	printf("%s: ", hook_name((enum cgbpf_hook)h));
	if (plan->decided_by == CLASS_NONE) {
		printf("no rule\n");
		return;
	}
	printf("decided by %s%s\n", who_class_name(plan->decided_by),
	       plan->none ? " (none: no sandbox on this hook)" : "");
	for (size_t i = 0; i < p->n_rules; i++) {
		struct policy single = { .file = p->file,
					 .rules = (struct rule *)&p->rules[i],
					 .n_rules = 1 };
		struct user_info ui = user_record_info(rec);
		struct resolved_policy one = { 0 };
		struct cgbpf_error ignored = { { 0 } };

		if (!(p->rules[i].hooks & HOOK_BIT(h)))
			continue;
		/* The line alone decides in its own class when it applies to the user. */
		if (policy_resolve(&single, &ui, &one, &ignored) == 0 &&
		    one.hook[h].decided_by == plan->decided_by)
			print_policy_line(stdout, li, p->rules[i].line);
		resolved_policy_clear(&one);
	}
}

/* Per egress rule: refused at connect()/sendmsg() time, or only per packet (INTERFACE §4). */
static void print_early_plan(const struct hook_plan *egress)
{
	if (egress->none || !egress->n_filter)
		return;
	if (!filter_early_useful(egress->filter, egress->n_filter)) {
		printf("egress at connect time: no check (no deny rule can be judged before a "
		       "packet exists); every rule is enforced per packet only\n");
		return;
	}
	printf("egress at connect time (connect4, connect6, sendmsg4, sendmsg6; the egress "
	       "filter still checks every packet):\n");
	for (size_t i = 0; i < egress->n_filter; i++) {
		const struct rule *r = egress->filter[i];
		bool allow = r->action == ACT_ALLOW;
		unsigned int shadow;

		printf("  line %u %s: ", r->line, allow ? "allow" : "deny ");
		switch (filter_early_kind(egress->filter, i, &shadow)) {
		case EARLY_CONNECT:
			printf(allow ? "lets the call through at connect time\n"
				     : "enforced at connect time (EPERM at once)\n");
			break;
		case EARLY_SHADOWED:
			printf(allow ? "lets the call through at connect time\n"
				     : "enforced at connect time, except where the allow rule of "
				       "line %u (saddr=/sport=) may also match: there per packet "
				       "only\n",
			       shadow);
			break;
		case EARLY_BOUND:
			printf("at connect time for a socket bound to its source port first, and "
			       "at an unconnected sendto() (bound by then); otherwise per packet "
			       "only (sport=)\n");
			break;
		case EARLY_PACKET_ADDR:
			printf("per packet only (saddr= is not known before routing)\n");
			break;
		case EARLY_PACKET_PROTO:
			printf("per packet only (connect-time checks see TCP and UDP sockets "
			       "only)\n");
			break;
		}
	}
}

/* With --user: what the module would do for this user, hook by hook. */
static int check_user(const struct policy *p, const struct line_index *li, const char *name,
		      struct dry_run *dr, bool dry)
{
	_cleanup_(user_record_clear) struct user_record rec = { 0 };
	_cleanup_(resolved_policy_clear) struct resolved_policy rp = { 0 };
	_cleanup_(want_set_free) struct want_set ws = { 0 };
	struct cgbpf_error err = { { 0 } };
	struct user_info ui;

	if (user_lookup(name, &rec, &err) < 0) {
		cgbpf_log(LOG_ERR, "%s", err.msg);
		return 1;
	}
	ui = user_record_info(&rec);
	if (policy_resolve(p, &ui, &rp, &err) < 0) {
		report_policy_error(&err);
		return 1;
	}
	print_user(&rec);
	for (int h = 0; h < HOOK_COUNT; h++)
		print_deciding_lines(p, li, &rec, &rp, h);
	print_early_plan(&rp.hook[HOOK_EGRESS]);
	if (!resolved_policy_sandboxes(&rp)) {
		printf("result: no sandbox for %s (the module returns PAM_IGNORE)\n", rec.name);
		return 0;
	}
	if (want_set_build(&rp, p->file, &ws, &err) < 0) {
		report_policy_error(&err);
		return 1;
	}
	printf("result: %s is sandboxed:", rec.name);
	for (size_t i = 0; i < ws.n; i++)
		printf(" %s:%s(%s)", hook_name(ws.v[i].hook), attach_kind_name(ws.v[i].kind),
		       ws.v[i].what);
	fputc('\n', stdout);
	return dry ? dry_run_wants(dr, &ws, true) : 0;
}

/*
 * In own placement every login moves its process: without favordynmods that
 * move can wait for an RCU grace period when no move happened shortly before.
 * Says so, with what a move costs here right now (README: the trade-off).
 */
static void note_favordynmods(void)
{
	char mount[LAYOUT_PATH_MAX];
	bool on = false;
	double us = 0;

	if (cgroup2_mount_point(mount, sizeof(mount), NULL) < 0 ||
	    cgroup2_favordynmods(mount, &on) < 0 || on)
		return;
	if (cgroup_move_cost_us(mount, &us) < 0)
		return;
	printf("note: cgroup2 at %s is mounted without favordynmods: a login's move into its "
	       "sandbox can wait for an RCU grace period (milliseconds) when no cgroup move "
	       "happened just before; a move here just took %.0f us. Mounting with favordynmods "
	       "removes that wait and makes fork and exit a little slower (see README, "
	       "Performance).\n",
	       mount, us);
}

static int cmd_check(const struct cgbpf_settings *s, const char *user, bool verbose)
{
	_cleanup_free_ char *buf = NULL;
	struct line_index li = { 0 };
	struct policy *p = NULL;
	struct cgbpf_error err = { { 0 } };
	struct dry_run dr = { .file = s->config, .verbose = verbose };
	bool dry = geteuid() == 0;
	size_t len;
	int failed = 0;

	if (safe_read_file(s->config, POLICY_MAX_FILE_SIZE, &buf, &len, &err) < 0) {
		cgbpf_log(LOG_ERR, "%s", err.msg);
		return 1;
	}
	if (policy_parse(buf, len, s->config, &p, &err) < 0) {
		report_policy_error(&err);
		return 1;
	}
	if (line_index_build(&li, buf, len) < 0) {
		policy_free(p);
		cgbpf_log(LOG_ERR, "out of memory");
		return 1;
	}
	warn_unknown_names(p);
	policy_lint(p, print_lint_warning, p->file);
	if (!dry)
		cgbpf_log(LOG_WARNING, "not running as root: the dry run (loading every program "
				       "through the verifier) is skipped");
	if (user)
		failed = check_user(p, &li, user, &dr, dry);
	else if (dry)
		failed = check_all_tokens(p, &dr);
	if (!failed && !user && !dry)
		printf("%s: valid, %zu rule%s; dry run skipped (not root)\n", s->config, p->n_rules,
		       p->n_rules == 1 ? "" : "s");
	else if (!failed && !user)
		printf("%s: valid, %zu rule%s; dry run: %u filter%s passed the verifier, "
		       "%u program%s loaded, %u pinned program%s found\n",
		       s->config, p->n_rules, p->n_rules == 1 ? "" : "s", dr.n_filters,
		       dr.n_filters == 1 ? "" : "s", dr.n_programs, dr.n_programs == 1 ? "" : "s",
		       dr.n_pinned, dr.n_pinned == 1 ? "" : "s");
	if (!failed && dry && s->placement != PLACEMENT_SYSTEMD)
		note_favordynmods();
	dry_run_free(&dr);
	free(li.start);
	policy_free(p);
	return failed;
}

/* ---- status ------------------------------------------------------------------------------- */

static int cmd_status(const struct cgbpf_settings *s, bool json)
{
	_cleanup_free_ uint32_t *uids = NULL;
	struct sandbox_status *v = NULL;
	struct status_failure *fail = NULL;
	char(*msgs)[CGBPF_ERROR_MAX] = NULL;
	size_t n_uids = 0, n = 0, n_fail = 0;
	int r, rc = 0;

	r = sandbox_list(s, &uids, &n_uids);
	if (r < 0) {
		cgbpf_log(LOG_ERR, "cannot list the sandboxes in %s: %s", s->state_dir,
			  errno_text(r));
		return 1;
	}
	v = calloc(n_uids + 1, sizeof(*v));
	fail = calloc(n_uids + 1, sizeof(*fail));
	msgs = calloc(n_uids + 1, sizeof(*msgs));
	if (!v || !fail || !msgs) {
		cgbpf_log(LOG_ERR, "out of memory");
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < n_uids; i++) {
		struct cgbpf_error err = { { 0 } };

		r = sandbox_status_collect(s, uids[i], &v[n], &err);
		if (r == -ENOENT)
			continue; /* closed meanwhile */
		if (r < 0) {
			snprintf(msgs[n_fail], sizeof(msgs[n_fail]), "%s", err.msg);
			fail[n_fail].uid = uids[i];
			fail[n_fail].message = msgs[n_fail];
			n_fail++;
			cgbpf_log(LOG_ERR, "uid %" PRIu32 ": %s", uids[i], err.msg);
			rc = 1;
			continue;
		}
		n++;
	}
	if (json) {
		status_print_json(stdout, v, n, fail, n_fail);
	} else if (n == 0) {
		printf("no live sandbox\n");
	} else {
		for (size_t i = 0; i < n; i++) {
			if (i)
				fputc('\n', stdout);
			status_print_text(stdout, &v[i]);
		}
	}
out:
	if (v)
		for (size_t i = 0; i < n; i++)
			sandbox_status_clear(&v[i]);
	free(v);
	free(fail);
	free(msgs);
	return rc;
}

/* ---- gc ----------------------------------------------------------------------------------- */

static void print_removed(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
}

static int cmd_gc(const struct cgbpf_settings *s)
{
	const struct gc_report rep = { .removed = print_removed };

	return gc_machine(s, &rep);
}

/* ---- reload ------------------------------------------------------------------------------- */

/* Every sandbox gets its own policy file again; with --config, only those made from it. */
static int cmd_reload(const struct cgbpf_settings *s, const char *only_config)
{
	static const char *const said[] = {
		[RELOAD_UNCHANGED] = "unchanged",
		[RELOAD_UPDATED] = "updated",
		[RELOAD_OTHER_FILE] = "skipped",
		[RELOAD_RECLAIMED] = "stale, removed",
	};
	_cleanup_free_ uint32_t *uids = NULL;
	size_t n = 0;
	int failed = 0, r;

	r = sandbox_list(s, &uids, &n);
	if (r < 0) {
		cgbpf_log(LOG_ERR, "cannot list the sandboxes in %s: %s", s->state_dir,
			  errno_text(r));
		return 1;
	}
	if (n == 0)
		printf("no live sandbox\n");
	for (size_t i = 0; i < n; i++) {
		struct ledger l = { 0 };
		struct cgbpf_error err = { { 0 } };
		enum reload_outcome out = RELOAD_UNCHANGED;

		r = sandbox_read(s, uids[i], &l, &err);
		if (r == -ENOENT)
			continue;
		err.msg[0] = '\0';
		printf("%s (uid %" PRIu32 "): ", l.user ? l.user : "?", uids[i]);
		r = sandbox_reload(s, uids[i], only_config, &out, &err);
		if (r < 0) {
			printf("error: %s\n", err.msg[0] ? err.msg : errno_text(r));
			failed = 1;
		} else if (out == RELOAD_OTHER_FILE) {
			printf("%s (made from %s)\n", said[out], l.config ? l.config : "?");
		} else {
			printf("%s\n", said[out]);
		}
		fflush(stdout);
		ledger_clear(&l);
	}
	return failed;
}

/* ---- main --------------------------------------------------------------------------------- */

enum {
	OPT_CONFIG = 256,
	OPT_CGROUP_ROOT,
	OPT_BPFFS,
	OPT_STATE_DIR,
	OPT_USER,
	OPT_JSON,
};

/* What the command line asks for. */
struct cli {
	struct cgbpf_settings s;
	const char *user, *cmd;
	bool json, verbose, help;
	bool config_given; /* --config named: reload touches only sandboxes made from it */
};

/* The setting an option sets, or NULL. */
static const char *option_key(int opt)
{
	switch (opt) {
	case OPT_CONFIG:
		return "config";
	case OPT_CGROUP_ROOT:
		return "cgroup_root";
	case OPT_BPFFS:
		return "bpffs";
	case OPT_STATE_DIR:
		return "state_dir";
	}
	return NULL;
}

/* Returns 0 or the exit status of a usage error. */
static int parse_options(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT },
		{ "bpffs", required_argument, NULL, OPT_BPFFS },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "user", required_argument, NULL, OPT_USER },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cgbpf_error err = { { 0 } };
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		const char *key = option_key(opt);

		if (key) {
			if (settings_set(&c->s, key, optarg, &err) < 0)
				return usage_error("%s", err.msg);
			c->config_given |= opt == OPT_CONFIG;
		} else if (opt == OPT_USER) {
			c->user = optarg;
		} else if (opt == OPT_JSON) {
			c->json = true;
		} else if (opt == 'v') {
			c->verbose = true;
		} else if (opt == 'h') {
			c->help = true;
			return 0;
		} else if (opt == ':') {
			return usage_error("option %s needs a value", argv[optind - 1]);
		} else if (optopt && optopt < 256) {
			return usage_error("unknown option -%c", optopt);
		} else {
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no command given");
	c->cmd = argv[optind];
	if (optind + 1 < argc)
		return usage_error("unexpected argument %s", argv[optind + 1]);
	return 0;
}

/* Which options go with which command. */
static int check_command(const struct cli *c)
{
	const char *cmd = c->cmd;

	if (strcmp(cmd, "check") && strcmp(cmd, "status") && strcmp(cmd, "gc") &&
	    strcmp(cmd, "reload"))
		return usage_error("unknown command %s", cmd);
	if (c->user && strcmp(cmd, "check"))
		return usage_error("--user goes with check only");
	if (c->json && strcmp(cmd, "status"))
		return usage_error("--json goes with status only");
	if (c->user && !*c->user)
		return usage_error("--user needs a name");
	return 0;
}

static int run_command(const struct cli *c)
{
	if (!strcmp(c->cmd, "check"))
		return cmd_check(&c->s, c->user, c->verbose);
	if (!strcmp(c->cmd, "status"))
		return cmd_status(&c->s, c->json);
	if (!strcmp(c->cmd, "gc"))
		return cmd_gc(&c->s);
	return cmd_reload(&c->s, c->config_given ? c->s.config : NULL);
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	bool verbose;
	int rc;

	settings_init(&c.s);
	rc = parse_options(&c, argc, argv);
	if (rc == 0 && c.help) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (rc == 0)
		rc = check_command(&c);
	if (rc != 0)
		return rc;
	verbose = c.verbose;
	cgbpf_log_set(
		(struct cgbpf_log_sink){ .fn = log_to_stderr, .ctx = &verbose, .debug = verbose });
	rc = run_command(&c);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "cgbpfctl: cannot write the output: %s\n", errno_text(errno));
		rc = 1;
	}
	return rc;
}
