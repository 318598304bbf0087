/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Loading the built-in filter program, filling its maps from a filter_image
 * and pinning it, so that every sandbox with the same rules shares it.
 *
 * A shared instance lives in one bpffs directory (root-only, 0700):
 *   DIR/prog      the program
 *   DIR/counters  per-cgroup counters (cgroup storage), keyed by cgroup id
 *   DIR/rules     (and any other map the engine needs)
 * The caller serialises calls on the same DIR (it holds a lock).
 */
#ifndef CGBPF_FILTER_LOAD_H
#define CGBPF_FILTER_LOAD_H

#include <stdint.h>

#include "bpf/filter_types.h" /* FILTER_MAX_RULES */
#include "error.h"
#include "filter_compile.h"
#include "loader.h" /* enum filter_map_id */

/*
 * Returns in *prog_fd a program for @img: the one pinned in @dir when @dir
 * holds a complete instance, else a newly loaded one, pinned there. On error
 * nothing new is left in @dir.
 */
int filter_get_shared(const struct filter_image *img, const char *dir, int *prog_fd,
		      struct cgbpf_error *err);

struct filter_counters {
	uint64_t pass_pkts, pass_bytes;
	uint64_t drop_pkts, drop_bytes;
	uint32_t n_rules;
	uint64_t hits[FILTER_MAX_RULES];
};

/*
 * Sums the per-CPU counters of one cgroup the filter is (or was) attached to;
 * -ENOENT when it has none (the kernel frees them with the cgroup).
 */
int filter_read_counters(const char *dir, uint64_t cgroup_id, struct filter_counters *out);

/* Removes a shared instance's pins and the directory. */
int filter_unpin_shared(const char *dir);

/*
 * Loads the program for @img, runs it through the verifier, fills its maps and
 * unloads it again (cgbpfctl check's dry run).
 */
int filter_dry_run(const struct filter_image *img, struct cgbpf_error *err);

/* What the loader needs to make an instance's maps: their names, how many, how large. */
extern const char *const filter_map_names[MAP_COUNT];
size_t filter_n_maps_for(enum cgbpf_hook hook);
uint32_t filter_map_max_entries(const struct filter_image *img, enum filter_map_id id);

#endif
