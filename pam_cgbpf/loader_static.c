// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cgbpf_loader_get for what links the loader's code in (cgbpfctl, the tests, the benchmarks,
 * and loader.so itself): no file to find, the same build by construction.
 */
#include "loader.h"

const struct cgbpf_loader *cgbpf_loader_get(struct cgbpf_error *err)
{
	(void)err;
	return cgbpf_loader_v1(&cgbpf_loader_host);
}
