// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Where the module looks for its loader (loader.h), from the module's own path: pure, so
 * test_loader_path checks it without a dlopen.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "loader.h"

int cgbpf_loader_path(const char *module_path, char *buf, size_t size, struct cgbpf_error *err)
{
	const char *slash = strrchr(module_path, '/');
	int n;

	/* A relative name would have the loader found from whatever the caller's cwd is. */
	if (module_path[0] != '/' || !slash)
		return cgbpf_error_set(
			err, EINVAL,
			"refusing to look for the BPF loader: the module's path \"%s\" "
			"is not absolute, so the loader would be found relative to the "
			"current directory",
			module_path);
	n = snprintf(buf, size, "%.*s/pam_cgbpf/loader.so", (int)(slash - module_path),
		     module_path);
	if (n < 0 || (size_t)n >= size)
		return cgbpf_error_set(err, ENAMETOOLONG,
				       "the BPF loader's path beside %s is too long", module_path);
	return 0;
}
