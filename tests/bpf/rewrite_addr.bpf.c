// SPDX-License-Identifier: GPL-2.0
/*
 * Test object for the order of programs on connect4: an administrator's program that
 * rewrites a connect() to 127.0.0.5 into one to 127.0.0.2 (same port). The early verdict
 * must judge the rewritten address, so it has to run after this program.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("cgroup/connect4")
int rewrite_5_to_2(struct bpf_sock_addr *ctx)
{
	if (ctx->user_ip4 == bpf_htonl(0x7f000005))
		ctx->user_ip4 = bpf_htonl(0x7f000002);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
