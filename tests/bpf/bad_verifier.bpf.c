// SPDX-License-Identifier: GPL-2.0-or-later
/* Compiles, but the verifier refuses it: a packet read with no bounds check. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("cgroup_skb/egress")
int unchecked_read(struct __sk_buff *skb)
{
	unsigned char *p = (unsigned char *)(long)skb->data;

	return p[0] & 1;
}

char LICENSE[] SEC("license") = "GPL";
