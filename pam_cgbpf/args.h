/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Module arguments (pam_cgbpf(8), OPTIONS). Pure code. */
#ifndef CGBPF_ARGS_H
#define CGBPF_ARGS_H

#include <stdbool.h>

#include "error.h"

#define CGBPF_DEFAULT_CONFIG	  "/etc/security/pam_cgbpf.conf"
#define CGBPF_DEFAULT_CGROUP_ROOT "pam_cgbpf"
#define CGBPF_DEFAULT_BPFFS	  "/sys/fs/bpf/pam_cgbpf"
#define CGBPF_DEFAULT_STATE_DIR	  "/run/pam_cgbpf"

enum on_logout {
	ON_LOGOUT_KEEP,
	ON_LOGOUT_KILL,
};

/* Where sandboxes live (placement=): AUTO only in settings; a sandbox is OWN or SYSTEMD. */
enum placement_kind {
	PLACEMENT_AUTO,
	PLACEMENT_OWN,
	PLACEMENT_SYSTEMD,
};

/* Strings point into the argv they were parsed from (or at the defaults). */
struct cgbpf_settings {
	const char *config;
	const char *cgroup_root; /* relative to the cgroup v2 mount, no "..", no leading '/' */
	const char *bpffs;	 /* absolute */
	const char *state_dir;	 /* absolute */
	enum on_logout on_logout;
	enum placement_kind placement;
	bool debug;
	const char *fault; /* fault=OP:N, only in the fault-injection test build */
};

void settings_init(struct cgbpf_settings *s);

/*
 * Parses PAM module arguments. An unknown or malformed argument is an error
 * naming it: a typo must never silently weaken the sandbox.
 */
int settings_parse_args(struct cgbpf_settings *s, int argc, const char **argv,
			struct cgbpf_error *err);

/* Checks one setting's value; shared with cgbpfctl's options. */
int settings_set(struct cgbpf_settings *s, const char *key, const char *value,
		 struct cgbpf_error *err);

#endif
