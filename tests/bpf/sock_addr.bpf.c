// SPDX-License-Identifier: GPL-2.0
/*
 * Test object for program rules on the socket-address hooks: deny_connect4_port_9 refuses
 * connect() and unconnected sendto() over IPv4 to port 9 (EPERM), deny_bind4_port_9 refuses
 * binding to it; the sections tell the hooks apart.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define DENIED_PORT 9

SEC("cgroup/connect4")
int deny_connect4_port_9(struct bpf_sock_addr *ctx)
{
	return ctx->user_port == bpf_htons(DENIED_PORT) ? 0 : 1;
}

SEC("cgroup/sendmsg4")
int deny_sendmsg4_port_9(struct bpf_sock_addr *ctx)
{
	return ctx->user_port == bpf_htons(DENIED_PORT) ? 0 : 1;
}

SEC("cgroup/bind4")
int deny_bind4_port_9(struct bpf_sock_addr *ctx)
{
	return ctx->user_port == bpf_htons(DENIED_PORT) ? 0 : 1;
}

char LICENSE[] SEC("license") = "GPL";
