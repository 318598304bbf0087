// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

#define USER_PREFIX   "user-"
#define LEDGER_SUFFIX ".ledger"

static int layout_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int layout_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

/* The most used one, so without printf: a login joins some thirty paths. */
int layout_join(char *buf, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + 1 + lb >= LAYOUT_PATH_MAX) {
		buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	memmove(buf, a, la);
	buf[la] = '/';
	memmove(buf + la + 1, b, lb + 1);
	return 0;
}

const char *layout_below(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	/* Never an absolute rest: an *at call would resolve it from / and not from @dir. */
	return n && !strncmp(path, dir, n) && path[n] == '/' && path[n + 1] && path[n + 1] != '/'
		       ? path + n + 1
		       : NULL;
}

int layout_user_cgroup(char *buf, const struct cgbpf_settings *s, uint32_t uid)
{
	return layout_fmt(buf, LAYOUT_PATH_MAX, "%s/" USER_PREFIX "%" PRIu32, s->cgroup_root, uid);
}

int layout_anchor_cgroup(char *buf, const struct cgbpf_settings *s)
{
	return layout_join(buf, s->cgroup_root, LAYOUT_ANCHOR);
}

int layout_pin_dir(char *buf, const struct cgbpf_settings *s, uint32_t uid)
{
	return layout_fmt(buf, LAYOUT_PATH_MAX, "%s/" USER_PREFIX "%" PRIu32, s->bpffs, uid);
}

int layout_pin(char *buf, const struct cgbpf_settings *s, uint32_t uid, const char *link)
{
	return layout_fmt(buf, LAYOUT_PATH_MAX, "%s/" USER_PREFIX "%" PRIu32 "/%s", s->bpffs, uid,
			  link);
}

int layout_anchor_dir(char *buf, const struct cgbpf_settings *s)
{
	return layout_join(buf, s->bpffs, LAYOUT_ANCHOR);
}

int layout_shared_dir(char *buf, const struct cgbpf_settings *s)
{
	return layout_join(buf, s->bpffs, "shared");
}

int layout_shared_entry(char *buf, const struct cgbpf_settings *s, enum attach_kind kind,
			const char *ident)
{
	char name[256];
	size_t i;

	/* Never cut: two identities alike in their first 255 bytes would share one entry. */
	for (i = 0; ident[i]; i++) {
		if (i == sizeof(name) - 1) {
			buf[0] = '\0';
			return -ENAMETOOLONG;
		}
		name[i] = ident[i] == ':' ? '-' : ident[i];
	}
	name[i] = '\0';
	return layout_fmt(buf, LAYOUT_PATH_MAX, "%s/shared/%s-%s", s->bpffs, attach_kind_name(kind),
			  name);
}

bool layout_shared_is_filter(const char *name)
{
	const char *kind = attach_kind_name(ATT_FILTER);
	size_t n = strlen(kind);

	return !strncmp(name, kind, n) && name[n] == '-';
}

int layout_ledger(char *buf, const char *state_dir, uint32_t uid)
{
	return layout_fmt(buf, LAYOUT_PATH_MAX, "%s/" USER_PREFIX "%" PRIu32 LEDGER_SUFFIX,
			  state_dir, uid);
}

int layout_link_name(char *buf, size_t size, enum cgbpf_hook hook, uint32_t serial)
{
	return layout_fmt(buf, size, "%s-%" PRIu32, hook_name(hook), serial);
}

/* "user-<UID>" followed by exactly @suffix. */
static bool parse_user_name(const char *name, const char *suffix, uint32_t *uid)
{
	const size_t plen = strlen(USER_PREFIX);
	unsigned long v;
	char *end;

	if (strncmp(name, USER_PREFIX, plen) || name[plen] < '0' || name[plen] > '9')
		return false;
	errno = 0;
	v = strtoul(name + plen, &end, 10);
	if (errno || strcmp(end, suffix) || v > UINT32_MAX)
		return false;
	*uid = (uint32_t)v;
	return true;
}

bool layout_parse_user_dir(const char *name, uint32_t *uid)
{
	return parse_user_name(name, "", uid);
}

bool layout_parse_ledger(const char *name, uint32_t *uid)
{
	return parse_user_name(name, LEDGER_SUFFIX, uid);
}
