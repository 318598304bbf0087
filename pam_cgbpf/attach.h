/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a user's policy wants attached, getting the programs (from the shared
 * cache (layout.h) when an identical one is loaded already), and the
 * pinned bpf_links that attach them to a cgroup.
 */
#ifndef CGBPF_ATTACH_H
#define CGBPF_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "error.h"
#include "filter_compile.h"
#include "ledger.h"
#include "resolve.h"

/* One program the policy wants on one hook. */
/* The largest object file a program rule may name. */
#define OBJECT_MAX_SIZE (64u << 20)

struct want_attach {
	enum cgbpf_hook hook;
	enum attach_kind kind;
	char *ident; /* as in struct ledger_attach */
	char *what;  /* for people */
	char *lines; /* ATT_FILTER: policy line of each rule, as in struct ledger_attach */
	unsigned int line;
	struct filter_image *img; /* ATT_FILTER */
	char *obj;		  /* ATT_PROGRAM: the object file's bytes */
	size_t obj_len;
	const char *path;      /* ATT_PROGRAM, ATT_PINNED: points into the policy */
	const char *prog_name; /* ATT_PROGRAM: NULL = the one program fitting the hook */
};

struct want_set {
	struct want_attach *v;
	size_t n;
};

/*
 * Compiles the filters and reads and checks every object the resolved policy
 * names, without touching the kernel's state: errors are "FILE:LINE: ...".
 */
int want_set_build(const struct resolved_policy *rp, const char *policy_file, struct want_set *out,
		   struct cgbpf_error *err);
void want_set_free(struct want_set *ws);

/* Mounts bpffs at /sys/fs/bpf when nothing is mounted there; creates DIR 0700. */
int bpffs_ensure(const char *dir, struct cgbpf_error *err);

/*
 * An open bpffs directory (O_PATH) that paths below it are resolved from, which
 * spares the walk down to it (sysbpf_obj_get_at); fd -1: none, whole paths.
 */
struct bpffs_at {
	int fd;
	const char *dir;
};

#define BPFFS_AT_NONE ((struct bpffs_at){ .fd = -1, .dir = "" })

/* mkdir of a root-only directory on bpffs, tolerating an existing one. */
int bpffs_mkdir(const char *dir, struct cgbpf_error *err);
/* bpffs_mkdir from @at; *@created says whether it made the directory (so it is empty). */
int bpffs_mkdir_new(struct bpffs_at at, const char *dir, bool *created, struct cgbpf_error *err);

/*
 * A program fd for @w: from the shared cache (layout_shared_entry), or loaded
 * now and added to it. The caller holds the global lock.
 */
int attach_get_prog(const struct want_attach *w, const struct cgbpf_settings *s, struct bpffs_at at,
		    const char *policy_file, int *prog_fd, struct cgbpf_error *err);

/* Attaches @prog_fd to @cg_fd as a bpf_link (multi semantics) and pins the link at @pin. */
int attach_link_pin(int prog_fd, int cg_fd, enum cgbpf_hook hook, struct bpffs_at at,
		    const char *pin, struct cgbpf_error *err);

/* The cgroup id of the cgroup link pinned at @pin (0: its cgroup is gone); -EINVAL: no such link.
 */
int attach_link_cgroup(const char *pin, uint64_t *cgroup_id);

/* Whether the link pinned at @pin exists and is attached to the cgroup @cgroup_id. */
bool attach_link_alive(const char *pin, uint64_t cgroup_id);

/* Detaches the link pinned at @pin and removes the pin; a missing pin is not an error. */
int attach_unpin(struct bpffs_at at, const char *pin);
/* Removes the pin @pin (no detach: for a link whose cgroup is gone); missing is no error. */
int attach_unlink(struct bpffs_at at, const char *pin);
/* Whether @path (on bpffs) exists. */
bool attach_exists(struct bpffs_at at, const char *path);
/* Removes the empty directory @dir on bpffs; missing is no error. */
int attach_rmdir(struct bpffs_at at, const char *dir);

/* Removes every pin in @dir and @dir itself. */
int bpffs_remove_dir(const char *dir);

#endif
