/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Collecting what nobody uses any more: stale sessions and empty sandboxes,
 * stray and defunct pins, the shared program cache, and the anchor once the
 * last sandbox is gone. The library made them, so the library collects them;
 * cgbpfctl gc only prints what this reports.
 */
#ifndef CGBPF_GC_H
#define CGBPF_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "args.h"
#include "error.h"

/* Where gc says what it removed, one line each ("removed link: PATH (egress filter)"). */
struct gc_report {
	void (*removed)(void *ctx, const char *line);
	void *ctx;
};

void gc_say(const struct gc_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The outcome of removing @path: logs "cannot DOING PATH: error" and returns 1
 * when @r failed, else reports "removed DONE: PATH" (unless @done is NULL).
 */
int gc_done(const struct gc_report *rep, int r, const char *doing, const char *done,
	    const char *path);

/* Everything of the machine under these settings; errors are logged. Returns 0 or 1 (failed). */
int gc_machine(const struct cgbpf_settings *s, const struct gc_report *rep);

/* The anchor's last pin is there, on bpffs: the anchor and bpffs were set up before. */
bool anchor_complete(const struct cgbpf_settings *s);
/*
 * The anchor: an allow-all program on every hook, attached to an empty cgroup
 * and never detached by a logout. Made under the global lock.
 */
int anchor_ensure(const struct cgbpf_settings *s, const char *mount, struct cgbpf_error *err);
/* Detaches and removes the anchor; errors are logged. Returns 0 or 1 (failed). */
int anchor_remove(const struct cgbpf_settings *s, const char *mount, const struct gc_report *rep);

#endif
