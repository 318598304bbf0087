/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cleanup attributes, as in systemd: every path out of a scope frees what it owns. */
#ifndef CGBPF_UTIL_H
#define CGBPF_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_(f)	 __attribute__((cleanup(f)))
#define _cleanup_free_	 __attribute__((cleanup(freep)))
#define _cleanup_fclose_ __attribute__((cleanup(fclosep)))
#define _cleanup_close_	 __attribute__((cleanup(closep)))

/* Hands ownership of a descriptor to the caller. */
static inline int take_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

#endif
