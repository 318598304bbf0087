// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kernel switches a cgroup-BPF hook on machine-wide at the first
 * attachment and off at the last, at a cost of hundreds of microseconds each;
 * the anchor keeps every login from paying it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "attach.h"
#include "cgroup.h"
#include "filter_compile.h"
#include "filter_load.h"
#include "gc.h"
#include "layout.h"
#include "log.h"
#include "util.h"

/*
 * The anchor holds an allow-all built-in filter on every hook up to this one
 * (the socket-address hooks of the early verdict included), attached in hook
 * order; this hook's pin marks it complete.
 */
#define ANCHOR_LAST_HOOK HOOK_SENDMSG6

/* The anchor's allow-all filter on one hook, pinned at @pin. */
static int anchor_attach(const struct cgbpf_settings *s, enum cgbpf_hook h, int cg_fd,
			 const char *pin, struct cgbpf_error *err)
{
	struct filter_image *img = NULL;
	char sdir[LAYOUT_PATH_MAX];
	int prog_fd = -1, r;

	r = filter_compile(h, NULL, 0, "(anchor)", &img, err);
	if (r == 0 && layout_shared_entry(sdir, s, ATT_FILTER, filter_image_id(img)) < 0)
		r = cgbpf_error_set(err, ENAMETOOLONG, "bpffs=%s: path too long", s->bpffs);
	if (r == 0)
		r = filter_get_shared(img, sdir, &prog_fd, err);
	if (r == 0)
		r = attach_link_pin(prog_fd, cg_fd, h, BPFFS_AT_NONE, pin, err);
	if (prog_fd >= 0)
		close(prog_fd);
	filter_image_free(img);
	return r;
}

bool anchor_complete(const struct cgbpf_settings *s)
{
	char dir[LAYOUT_PATH_MAX], pin[LAYOUT_PATH_MAX];
	struct statfs st;

	return layout_anchor_dir(dir, s) == 0 &&
	       layout_join(pin, dir, hook_name(HOOK_SOCK_CREATE)) == 0 && statfs(pin, &st) == 0 &&
	       st.f_type == BPF_FS_MAGIC;
}

int anchor_ensure(const struct cgbpf_settings *s, const char *mount, struct cgbpf_error *err)
{
	char rel[LAYOUT_PATH_MAX], cg[LAYOUT_PATH_MAX], dir[LAYOUT_PATH_MAX], pin[LAYOUT_PATH_MAX];
	_cleanup_close_ int cg_fd = -1;
	bool created;
	int r;

	if (layout_anchor_dir(dir, s) < 0 ||
	    layout_join(pin, dir, hook_name(ANCHOR_LAST_HOOK)) < 0 ||
	    layout_anchor_cgroup(rel, s) < 0 || layout_join(cg, mount, rel) < 0)
		return cgbpf_error_set(err, ENAMETOOLONG, "anchor path too long");
	if (access(pin, F_OK) == 0)
		return 0;
	r = bpffs_mkdir(dir, err);
	if (r == 0)
		r = cgroup_make(mount, rel, &created, err);
	if (r < 0)
		return r;
	cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return cgbpf_error_set(err, errno, "cannot open cgroup %s: %m", cg);
	/* ANCHOR_LAST_HOOK last: its pin is the mark that the anchor is complete. */
	for (int h = 0; h <= ANCHOR_LAST_HOOK && r == 0; h++) {
		if (layout_join(pin, dir, hook_name((enum cgbpf_hook)h)) < 0)
			return cgbpf_error_set(err, ENAMETOOLONG, "anchor path too long");
		if (access(pin, F_OK) != 0)
			r = anchor_attach(s, (enum cgbpf_hook)h, cg_fd, pin, err);
	}
	return r;
}

/*
 * The anchor's links, ANCHOR_LAST_HOOK first: its pin is what marks the anchor
 * complete. (An anchor made before the early hooks had sock_create as its
 * mark; its links go all the same.)
 */
static int anchor_unpin_all(const char *dir, const struct gc_report *rep)
{
	char pin[LAYOUT_PATH_MAX];
	int failed = 0;

	for (int i = ANCHOR_LAST_HOOK; i >= 0; i--) {
		if (layout_join(pin, dir, hook_name((enum cgbpf_hook)i)) < 0 ||
		    access(pin, F_OK) != 0)
			continue;
		failed |= gc_done(rep, attach_unpin(BPFFS_AT_NONE, pin), "detach the anchor link",
				  "anchor link", pin);
	}
	return failed;
}

int anchor_remove(const struct cgbpf_settings *s, const char *mount, const struct gc_report *rep)
{
	char dir[LAYOUT_PATH_MAX], rel[LAYOUT_PATH_MAX], cg[LAYOUT_PATH_MAX];
	int failed;

	if (layout_anchor_dir(dir, s) < 0 || layout_anchor_cgroup(rel, s) < 0 ||
	    layout_join(cg, mount, rel) < 0)
		return 1;
	failed = anchor_unpin_all(dir, rep);
	if (!failed && access(dir, F_OK) == 0)
		failed = gc_done(rep, bpffs_remove_dir(dir), "remove", NULL, dir);
	if (!failed && access(cg, F_OK) == 0)
		failed = gc_done(rep, cgroup_remove(cg), "remove the anchor cgroup",
				 "anchor cgroup", cg);
	return failed;
}
