/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inside of a struct filter_image: the contents of the built-in filter's
 * maps, built by filter_compile.c and written into the maps by filter_load.c.
 * Nothing else should need it.
 */
#ifndef CGBPF_FILTER_IMAGE_H
#define CGBPF_FILTER_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/filter_types.h"
#include "filter_compile.h"

/* One entry of an LPM map; IPv4 uses addr[0..3]. */
struct filter_prefix {
	uint32_t prefixlen;
	uint8_t addr[16];
	struct filter_mask mask; /* rules whose list covers this prefix (ancestors included) */
};

enum filter_lpm_map {
	FILTER_LPM_DADDR4,
	FILTER_LPM_DADDR6,
	FILTER_LPM_SADDR4,
	FILTER_LPM_SADDR6,
	FILTER_LPM_COUNT,
};

struct filter_prefix_set {
	struct filter_prefix *v; /* sorted by (prefixlen, addr), no duplicates */
	size_t n;
};

struct filter_port_table {
	struct filter_port_interval *v; /* 1 << config.*_steps entries */
	size_t n;
};

struct filter_image {
	enum cgbpf_hook hook;
	size_t n_rules;
	unsigned int lines[FILTER_MAX_RULES];
	struct filter_config config; /* engine_digest is left zero */
	struct filter_rule rules[FILTER_MAX_RULES];
	struct filter_mask proto[256]; /* wildcard folded in */
	struct filter_prefix_set lpm[FILTER_LPM_COUNT];
	struct filter_port_table dport, sport;
	char id[65];
	unsigned int refs; /* images are shared (compile cache): filter_image_free drops one */
};

static inline int filter_lpm_is_v6(enum filter_lpm_map m)
{
	return m == FILTER_LPM_DADDR6 || m == FILTER_LPM_SADDR6;
}

#endif
