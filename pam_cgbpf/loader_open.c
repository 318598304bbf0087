// SPDX-License-Identifier: GPL-2.0-or-later
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_build.h"
#include "error.h"
#include "loader.h"

static pthread_mutex_t loader_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct cgbpf_loader *loader;

/* pam_cgbpf/loader.so in the directory of the DSO (or program) this code is linked into. */
static int loader_path(char *buf, size_t size, struct cgbpf_error *err)
{
	Dl_info info;

	if (!dladdr((void *)loader_path, &info) || !info.dli_fname)
		return cgbpf_error_set(err, ENOENT, "cannot find where the BPF loader lives");
	return cgbpf_loader_path(info.dli_fname, buf, size, err);
}

/*
 * The lowest descriptor number no loader was dlopen()ed by yet (under loader_lock). dlopen()
 * answers a name it has loaded before with that object, without opening the file. A refused
 * loader is dlclose()d, but one linked -z nodelete (the build links them so) stays mapped and
 * would answer for /proc/self/fd/N whatever file N is now: so no name is used twice.
 */
static int loader_next_name;

/* dlopen()s @fd (the loader @path) by a /proc/self/fd name never used before, into @name. */
static void *loader_dlopen(int fd, const char *path, char *name, size_t size,
			   struct cgbpf_error *err)
{
	int alias = fd;
	void *h;

	if (fd < loader_next_name) {
		alias = fcntl(fd, F_DUPFD_CLOEXEC, loader_next_name);
		if (alias < 0) {
			cgbpf_error_set(
				err, errno,
				"cannot load the BPF loader %s: no descriptor number left "
				"that a loader refused before in this process did not use: %m",
				path);
			return NULL;
		}
	}
	loader_next_name = alias + 1;
	snprintf(name, size, "/proc/self/fd/%d", alias);
	h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (alias != fd)
		close(alias);
	if (!h)
		cgbpf_error_set(err, ENOEXEC, "cannot load the BPF loader %s: %s", path, dlerror());
	return h;
}

static const struct cgbpf_loader *loader_open(struct cgbpf_error *err)
{
	char path[PATH_MAX], fdpath[64], *slash;
	const struct cgbpf_loader *l;
	cgbpf_loader_fn *entry;
	struct stat st;
	void *h;
	int dfd, fd, r;

	r = loader_path(path, sizeof(path), err);
	if (r < 0)
		return NULL;
	/*
	 * Checked and loaded through one descriptor, so what was checked is what is loaded; and
	 * its directory too, whose writers could otherwise swap in another root-owned file.
	 */
	slash = strrchr(path, '/');
	*slash = '\0';
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0) {
		cgbpf_error_set(err, errno, "cannot open the BPF loader's directory %s: %m", path);
		return NULL;
	}
	if (fstat(dfd, &st) < 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		cgbpf_error_set(err, EPERM,
				"refusing the BPF loader's directory %s: not owned by root and "
				"writable by root only",
				path);
		close(dfd);
		return NULL;
	}
	*slash = '/';
	fd = openat(dfd, slash + 1, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	close(dfd);
	if (fd < 0) {
		cgbpf_error_set(err, errno, "cannot open the BPF loader %s: %m", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		cgbpf_error_set(err, EPERM,
				"refusing the BPF loader %s: not a regular file owned by root and "
				"writable by root only",
				path);
		close(fd);
		return NULL;
	}
	h = loader_dlopen(fd, path, fdpath, sizeof(fdpath), err);
	close(fd);
	if (!h)
		return NULL;
	entry = (cgbpf_loader_fn *)dlsym(h, CGBPF_LOADER_SYMBOL);
	l = entry ? entry(&cgbpf_loader_host) : NULL;
	/* The two share structures and name shared instances by one digest: one build only. */
	if (!l || l->version != CGBPF_LOADER_VERSION || l->size < sizeof(*l) ||
	    strcmp(l->abi, CGBPF_LOADER_ABI) != 0 ||
	    memcmp(l->engine_digest, cgbpf_engine_digest, sizeof(cgbpf_engine_digest)) != 0) {
		cgbpf_error_set(err, ENOEXEC, "the BPF loader %s is not of this module's build",
				path);
		dlclose(h);
		return NULL;
	}
	/* Ours: kept for the process (by name, which dlopen() resolves before any file). */
	if (!dlopen(fdpath, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD | RTLD_NODELETE)) {
		cgbpf_error_set(err, ENOEXEC, "cannot keep the BPF loader %s loaded: %s", path,
				dlerror());
		dlclose(h);
		return NULL;
	}
	return l;
}

const struct cgbpf_loader *cgbpf_loader_get(struct cgbpf_error *err)
{
	const struct cgbpf_loader *l;

	pthread_mutex_lock(&loader_lock);
	if (!loader)
		loader = loader_open(err);
	l = loader;
	pthread_mutex_unlock(&loader_lock);
	return l;
}
