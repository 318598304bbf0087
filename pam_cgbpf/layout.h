/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every name pam_cgbpf gives to something on disk, in one place:
 *
 *   <mount>/<cgroup_root>/user-<UID>        a user's own cgroup (placement=own)
 *   <mount>/<cgroup_root>/anchor            the anchor cgroup
 *   <bpffs>/user-<UID>/<hook>-<N>           a user's pinned links
 *   <bpffs>/anchor/<hook>                   the anchor's links
 *   <bpffs>/shared/<kind>-<ident>/prog      the shared program cache (filter-<id>/ also
 *                                           holds the filter's maps, by map name)
 *   <state_dir>/user-<UID>.ledger           a user's ledger
 *
 * Every path fits LAYOUT_PATH_MAX; a longer one is -ENAMETOOLONG, never cut.
 */
#ifndef CGBPF_LAYOUT_H
#define CGBPF_LAYOUT_H

#include <stdint.h>

#include "args.h"
#include "ledger.h"

#define LAYOUT_PATH_MAX 4096
#define LAYOUT_ANCHOR	"anchor"
#define LAYOUT_PROG_PIN "prog" /* the program pin inside a shared cache entry */
/* A built-in filter's maps are pinned beside it under their names in bpf/filter.bpf.c. */
#define LAYOUT_FILTER_CONFIG "config"
#define LAYOUT_FILTER_RULES  "rules"

/* "A/B"; @b must not overlap @buf (@a may be @buf itself). */
int layout_join(char *buf, const char *a, const char *b);
/* @path below @dir: what follows "@dir/" in it (not empty), or NULL. */
const char *layout_below(const char *dir, const char *path);

/* <cgroup_root>/user-<UID>, relative to the cgroup v2 mount. */
int layout_user_cgroup(char *buf, const struct cgbpf_settings *s, uint32_t uid);
/* <cgroup_root>/anchor, relative to the cgroup v2 mount. */
int layout_anchor_cgroup(char *buf, const struct cgbpf_settings *s);
/* <bpffs>/user-<UID> */
int layout_pin_dir(char *buf, const struct cgbpf_settings *s, uint32_t uid);
/* <bpffs>/user-<UID>/<link> */
int layout_pin(char *buf, const struct cgbpf_settings *s, uint32_t uid, const char *link);
/* <bpffs>/anchor */
int layout_anchor_dir(char *buf, const struct cgbpf_settings *s);
/* <bpffs>/shared */
int layout_shared_dir(char *buf, const struct cgbpf_settings *s);
/* <bpffs>/shared/<kind>-<ident>, ':' in ident spelled '-' (a pin name cannot hold it). */
int layout_shared_entry(char *buf, const struct cgbpf_settings *s, enum attach_kind kind,
			const char *ident);
/* Whether the shared cache entry @name holds a built-in filter (filter-<id>). */
bool layout_shared_is_filter(const char *name);
/* <state_dir>/user-<UID>.ledger */
int layout_ledger(char *buf, const char *state_dir, uint32_t uid);
/* The name of a user's link pin: <hook>-<serial>. */
int layout_link_name(char *buf, size_t size, enum cgbpf_hook hook, uint32_t serial);

/* Whether @name is "user-<UID>" (a pin directory or cgroup); sets *uid. */
bool layout_parse_user_dir(const char *name, uint32_t *uid);
/* Whether @name is "user-<UID>.ledger"; sets *uid. */
bool layout_parse_ledger(const char *name, uint32_t *uid);

#endif
