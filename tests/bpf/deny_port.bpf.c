// SPDX-License-Identifier: GPL-2.0
/*
 * Test object for "program PATH[:NAME]" rules: deny_port_9 drops TCP and UDP packets to port 9
 * (discard), allow_all passes everything, so a test can pick either by name.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define DENIED_PORT    9
#define IP_OFFSET_MASK 0x1fff

/* For cgroup_skb the data starts at the network header; extension headers are not walked. */
SEC("cgroup_skb/egress")
int deny_port_9(struct __sk_buff *skb)
{
	__u32 l4_offset;
	__be16 dport;
	__u8 proto;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr iph;

		if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)) < 0)
			return 1;
		/* Only the first fragment carries the ports. */
		if (iph.frag_off & bpf_htons(IP_OFFSET_MASK))
			return 1;
		proto = iph.protocol;
		l4_offset = iph.ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6h;

		if (bpf_skb_load_bytes(skb, 0, &ip6h, sizeof(ip6h)) < 0)
			return 1;
		proto = ip6h.nexthdr;
		l4_offset = sizeof(ip6h);
	} else {
		return 1;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 1;
	/* The destination port sits at offset 2 in both the TCP and the UDP header. */
	if (bpf_skb_load_bytes(skb, l4_offset + 2, &dport, sizeof(dport)) < 0)
		return 1;
	return dport == bpf_htons(DENIED_PORT) ? 0 : 1;
}

SEC("cgroup_skb/egress")
int allow_all(struct __sk_buff *skb)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
