/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ledger files under state_dir and their locks. A user's ledger is
 * <state_dir>/user-<UID>.ledger, locked with flock() for the whole of an open
 * or close; the state directory itself is the global lock, taken inside a
 * user's lock when the shared program cache or bpffs mount is touched.
 */
#ifndef CGBPF_LEDGER_FILE_H
#define CGBPF_LEDGER_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/types.h>

#include "error.h"
#include "ledger.h"

struct ledger_file {
	int fd;
	/* The locked file is empty: made by this lock, or left empty by a failed write. */
	bool fresh;
	bool removed; /* ledger_file_remove unlinked it */
	off_t size;   /* of the locked file, as the lock found it or the last write made it */
	char path[4096];
};

#define LEDGER_FILE_INIT                                                                           \
	{                                                                                          \
		.fd = -1                                                                           \
	}

/* Creates state_dir (root, 0700) when missing and refuses one others could write. */
int state_dir_ensure(const char *state_dir, struct cgbpf_error *err);

/*
 * The same checks as state_dir_ensure, without creating anything: -ENOENT,
 * with @err untouched, when there is no state_dir.
 */
int state_dir_check(const char *state_dir, struct cgbpf_error *err);

/*
 * Opens and locks a user's ledger, creating an empty file if there is none.
 * Waits for a concurrent open or close of the same user. The caller has
 * checked state_dir (state_dir_ensure or state_dir_check).
 */
int ledger_file_lock(const char *state_dir, uint32_t uid, struct ledger_file *lf,
		     struct cgbpf_error *err);

/* Reads the locked ledger; *exists is false for a fresh, empty file. */
int ledger_file_read(struct ledger_file *lf, struct ledger *l, bool *exists,
		     struct cgbpf_error *err);

/*
 * Replaces it atomically: a new file, locked, written in full and renamed over
 * the old one, so that a write cut short (RLIMIT_FSIZE, a full disk) leaves
 * the old ledger whole. Nothing is truncated, which on an ext4 /run would
 * force a flush on close. lf->fd is then the new file's, still locked.
 * A fresh (empty) ledger of at most a page is written in place instead: one
 * write of one page is whole or not at all, and a failed one leaves it empty.
 */
int ledger_file_write(struct ledger_file *lf, const struct ledger *l, struct cgbpf_error *err);

/* Unlinks the ledger, still holding the lock. */
int ledger_file_remove(struct ledger_file *lf);

/* Releases the lock; an empty file (nothing was recorded) is removed first. Accepts an unlocked
 * one. */
void ledger_file_unlock(struct ledger_file *lf);

/* The global lock: flock on the state directory. Returns the fd to close. */
int state_lock_global(const char *state_dir, struct cgbpf_error *err);

#endif
