/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Built-in filter rules -> the contents of the built-in BPF program's maps.
 * Pure code: no libbpf, no PAM. The image has a stable identity (a SHA-256 of
 * its canonical form and the engine version) so that sandboxes with identical
 * rules can share one loaded program.
 */
#ifndef CGBPF_FILTER_COMPILE_H
#define CGBPF_FILTER_COMPILE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "policy.h"

struct filter_image; /* defined in filter_image.h, for filter_compile.c and filter_load.c */

/*
 * Compiles the ordered allow/deny rules (first match wins, no match = allow)
 * for one hook. Errors come back as "FILE:LINE: message" using @file.
 */
int filter_compile(enum cgbpf_hook hook, const struct rule *const *rules, size_t n_rules,
		   const char *file, struct filter_image **out, struct cgbpf_error *err);

void filter_image_free(struct filter_image *img);

/* How the early verdict (connect4/6, sendmsg4/6) treats one egress rule. */
enum filter_early_kind {
	EARLY_CONNECT,	   /* decided at connect()/sendmsg() time */
	EARLY_BOUND,	   /* at connect time once the socket is bound (sport=), else per packet */
	EARLY_SHADOWED,	   /* at connect time, except where an earlier allow rule with saddr= or
			      sport= also matches (that line in *shadow_line) */
	EARLY_PACKET_ADDR, /* per packet only: saddr= is not known before routing */
	EARLY_PACKET_PROTO /* per packet only: no TCP or UDP in proto= */
};

/* Classifies rule @idx of the ordered egress list @rules (cgbpfctl check --user). */
enum filter_early_kind filter_early_kind(const struct rule *const *rules, size_t idx,
					 unsigned int *shadow_line);

/* Whether the early verdict of @rules can ever refuse: else it is not attached. */
bool filter_early_useful(const struct rule *const *rules, size_t n);

/* 64 lowercase hex digits; stable across runs for the same rules and engine. */
const char *filter_image_id(const struct filter_image *img);

enum cgbpf_hook filter_image_hook(const struct filter_image *img);
size_t filter_image_n_rules(const struct filter_image *img);
/* Policy line of rule @idx, for reporting per-rule hits. */
unsigned int filter_image_rule_line(const struct filter_image *img, size_t idx);

#endif
