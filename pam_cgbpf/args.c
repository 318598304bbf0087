// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "args.h"

void settings_init(struct cgbpf_settings *s)
{
	*s = (struct cgbpf_settings){
		.config = CGBPF_DEFAULT_CONFIG,
		.cgroup_root = CGBPF_DEFAULT_CGROUP_ROOT,
		.bpffs = CGBPF_DEFAULT_BPFFS,
		.state_dir = CGBPF_DEFAULT_STATE_DIR,
		.on_logout = ON_LOGOUT_KEEP,
		.placement = PLACEMENT_AUTO,
	};
}

static bool has_dotdot(const char *p)
{
	const char *c = p;

	while ((c = strstr(c, "..")) != NULL) {
		bool starts = c == p || c[-1] == '/';
		bool ends = c[2] == '\0' || c[2] == '/';

		if (starts && ends)
			return true;
		c += 2;
	}
	return false;
}

/* An absolute, normalised-enough path: no "..", no "//", no trailing '/'. */
static bool path_ok(const char *p, bool absolute)
{
	size_t n = strlen(p);

	if (n == 0 || n > 4000)
		return false;
	if (absolute != (p[0] == '/'))
		return false;
	if (has_dotdot(p) || strstr(p, "//") || (n > 1 && p[n - 1] == '/'))
		return false;
	for (const char *c = p; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

static int placement_set(struct cgbpf_settings *s, const char *value, struct cgbpf_error *err)
{
	if (!strcmp(value, "auto"))
		s->placement = PLACEMENT_AUTO;
	else if (!strcmp(value, "own"))
		s->placement = PLACEMENT_OWN;
	else if (!strcmp(value, "systemd"))
		s->placement = PLACEMENT_SYSTEMD;
	else
		return cgbpf_error_set(
			err, EINVAL, "argument placement=%s: must be auto, own or systemd", value);
	return 0;
}

int settings_set(struct cgbpf_settings *s, const char *key, const char *value,
		 struct cgbpf_error *err)
{
	if (!strcmp(key, "config")) {
		if (!path_ok(value, true))
			goto bad_path;
		s->config = value;
	} else if (!strcmp(key, "cgroup_root")) {
		/* "." or "/" would put users' cgroups straight under the mount. */
		if (!path_ok(value, false) || !strcmp(value, "."))
			return cgbpf_error_set(err, EINVAL,
					       "argument cgroup_root=%s: must be a relative path "
					       "below the cgroup v2 mount, without \"..\"",
					       value);
		s->cgroup_root = value;
	} else if (!strcmp(key, "bpffs")) {
		if (!path_ok(value, true) || !strcmp(value, "/"))
			goto bad_path;
		s->bpffs = value;
	} else if (!strcmp(key, "state_dir")) {
		if (!path_ok(value, true) || !strcmp(value, "/"))
			goto bad_path;
		s->state_dir = value;
	} else if (!strcmp(key, "on_logout")) {
		if (!strcmp(value, "keep"))
			s->on_logout = ON_LOGOUT_KEEP;
		else if (!strcmp(value, "kill"))
			s->on_logout = ON_LOGOUT_KILL;
		else
			return cgbpf_error_set(
				err, EINVAL, "argument on_logout=%s: must be keep or kill", value);
	} else if (!strcmp(key, "placement")) {
		return placement_set(s, value, err);
#ifdef CGBPF_FAULT_INJECTION
	} else if (!strcmp(key, "fault")) {
		s->fault = value;
#endif
	} else {
		return cgbpf_error_set(err, EINVAL, "unknown argument %s=%s", key, value);
	}
	return 0;

bad_path:
	return cgbpf_error_set(err, EINVAL,
			       "argument %s=%s: must be an absolute path without \"..\", \"//\" "
			       "or a trailing '/'",
			       key, value);
}

int settings_parse_args(struct cgbpf_settings *s, int argc, const char **argv,
			struct cgbpf_error *err)
{
	char key[32];

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		size_t klen;
		int r;

		if (!eq) {
			if (!strcmp(arg, "debug")) {
				s->debug = true;
				continue;
			}
			return cgbpf_error_set(err, EINVAL, "unknown argument %s", arg);
		}
		klen = (size_t)(eq - arg);
		if (klen == 0 || klen >= sizeof(key))
			return cgbpf_error_set(err, EINVAL, "unknown argument %s", arg);
		memcpy(key, arg, klen);
		key[klen] = '\0';
		if (eq[1] == '\0')
			return cgbpf_error_set(err, EINVAL, "argument %s has an empty value", arg);
		r = settings_set(s, key, eq + 1, err);
		if (r < 0)
			return r;
	}
	return 0;
}
