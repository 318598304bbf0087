// SPDX-License-Identifier: GPL-2.0
/*
 * Test object for the choice of a program= rule's program in an odd object (loader_elf.h):
 * one program in cgroup/connect4 that calls a subprogram in .text, a sibling in a section named
 * like the hook with a subsection (cgroup/connect4/extra, not the hook's section, and one
 * libbpf knows no type for), and two programs in cgroup/connect6 (so naming one is required).
 * The ELF scan and libbpf must agree on all of it; each program lets everything through.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) int allow(struct bpf_sock_addr *ctx)
{
	/* user_port holds 16 bits: never true, but not foldable either. */
	return ctx->user_port == 0x10000 ? 0 : 1;
}

SEC("cgroup/connect4")
int odd_connect4(struct bpf_sock_addr *ctx)
{
	return allow(ctx);
}

SEC("cgroup/connect4/extra")
int odd_connect4_extra(struct bpf_sock_addr *ctx)
{
	(void)ctx;
	return 1;
}

SEC("cgroup/connect6")
int odd_connect6_a(struct bpf_sock_addr *ctx)
{
	(void)ctx;
	return 1;
}

SEC("cgroup/connect6")
int odd_connect6_b(struct bpf_sock_addr *ctx)
{
	(void)ctx;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
