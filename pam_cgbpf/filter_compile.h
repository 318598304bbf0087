/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Built-in filter rules -> the contents of the built-in BPF program's maps.
 * Pure code: no libbpf, no PAM. The image has a stable identity (a SHA-256 of
 * its canonical form and the engine version) so that sandboxes with identical
 * rules can share one loaded program.
 */
#ifndef CGBPF_FILTER_COMPILE_H
#define CGBPF_FILTER_COMPILE_H

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

/* 64 lowercase hex digits; stable across runs for the same rules and engine. */
const char *filter_image_id(const struct filter_image *img);

enum cgbpf_hook filter_image_hook(const struct filter_image *img);
size_t filter_image_n_rules(const struct filter_image *img);
/* Policy line of rule @idx, for reporting per-rule hits. */
unsigned int filter_image_rule_line(const struct filter_image *img, size_t idx);

#endif
