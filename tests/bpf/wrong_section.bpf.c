// SPDX-License-Identifier: GPL-2.0
/*
 * Test object whose only program is for sock_create: naming it on an egress or ingress line must
 * be refused as the wrong section for the hook.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("cgroup/sock_create")
int sock_create_allow(struct bpf_sock *ctx)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
