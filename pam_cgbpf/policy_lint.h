/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Likely mistakes in a valid policy, for `cgbpfctl check` to warn about: rule
 * lists that look closed but leave a way around them. Pure code.
 */
#ifndef CGBPF_POLICY_LINT_H
#define CGBPF_POLICY_LINT_H

#include "policy.h"

/* Called once per warning with the policy line it is about. */
typedef void (*policy_warn_fn)(void *ctx, unsigned int line, const char *msg);

/*
 * Warns about an ingress or egress list that denies IPv4 addresses but has no
 * deny that IPv6 packets can match (they end at the default allow), and about
 * `sock_create deny family=inet` without the same for inet6 (an AF_INET6
 * socket reaches IPv4 through mapped addresses, ::ffff:a.b.c.d).
 */
void policy_lint(const struct policy *p, policy_warn_fn warn, void *ctx);

#endif
