/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the sysbpf tests work on: a private bpffs and a program that passes everything. */
#ifndef CGBPF_BPF_SCRATCH_H
#define CGBPF_BPF_SCRATCH_H

#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>

/* Mounts a bpffs on a new directory made from the mkdtemp template @dir; 0 or -errno. */
static inline int scratch_bpffs_mount(char *dir)
{
	int e;

	if (!mkdtemp(dir))
		return -errno;
	if (mount("bpf", dir, "bpf", 0, "mode=0700") == 0)
		return 0;
	e = errno;
	rmdir(dir);
	return -e;
}

static inline void scratch_bpffs_umount(const char *dir)
{
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

/* r0 = 1; exit: a cgroup skb program that passes everything. */
static inline int load_pass_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, "pass", "GPL", insns, 2, NULL);
}

#endif
