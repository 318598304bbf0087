// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Filling and pinning the built-in filter (see filter_load.h); the loader
 * (loader.h) loads it, only when no instance is pinned already.
 *
 * One image = one program of filter.bpf.c (the one for the image's hook; the
 * others are not loaded) plus its maps, all pinned in one directory that
 * the caller names after the image id. The instance records in its "config"
 * map a fingerprint of the BPF object that made it, so an instance left by another
 * build of the engine is never mistaken for ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "sysbpf.h"

#include "engine_build.h"
#include "fault.h"
#include "filter_image.h"
#include "filter_load.h"
#include "layout.h"
#include "loader.h"

#define PROG_PIN_NAME LAYOUT_PROG_PIN

/* Map names in filter.bpf.c, which are also their pin names. */
const char *const filter_map_names[MAP_COUNT] = {
	[MAP_CONFIG] = "config",     [MAP_RULES] = "rules",   [MAP_PROTO] = "proto",
	[MAP_COUNTERS] = "counters", [MAP_DADDR4] = "daddr4", [MAP_DADDR6] = "daddr6",
	[MAP_SADDR4] = "saddr4",     [MAP_SADDR6] = "saddr6", [MAP_DPORT] = "dport",
	[MAP_SPORT] = "sport",
};
static const char *const *const map_names = filter_map_names;

static const enum filter_lpm_map lpm_of_map[MAP_COUNT] = {
	[MAP_DADDR4] = FILTER_LPM_DADDR4,
	[MAP_DADDR6] = FILTER_LPM_DADDR6,
	[MAP_SADDR4] = FILTER_LPM_SADDR4,
	[MAP_SADDR6] = FILTER_LPM_SADDR6,
};

struct map_shape {
	enum bpf_map_type type;
	__u32 key_size, value_size, max_entries;
};

size_t filter_n_maps_for(enum cgbpf_hook hook)
{
	return hook == HOOK_SOCK_CREATE ? MAP_DADDR4 : MAP_COUNT;
}

static __u32 at_least_one(size_t n)
{
	return n ? (__u32)n : 1;
}

/* What map @id of an instance of @img must look like. */
static struct map_shape map_shape_of(const struct filter_image *img, enum filter_map_id id)
{
	switch (id) {
	case MAP_CONFIG:
		return (struct map_shape){ BPF_MAP_TYPE_ARRAY, 4, sizeof(struct filter_config), 1 };
	case MAP_RULES:
		return (struct map_shape){ BPF_MAP_TYPE_ARRAY, 4, sizeof(struct filter_rule),
					   FILTER_MAX_RULES };
	case MAP_PROTO:
		return (struct map_shape){ BPF_MAP_TYPE_ARRAY, 4, sizeof(struct filter_mask), 256 };
	case MAP_COUNTERS:
		return (struct map_shape){ BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, 8,
					   sizeof(struct filter_counters_value), 0 };
	case MAP_DADDR4:
	case MAP_SADDR4:
		return (struct map_shape){ BPF_MAP_TYPE_LPM_TRIE, sizeof(struct filter_lpm4_key),
					   sizeof(struct filter_mask),
					   at_least_one(img->lpm[lpm_of_map[id]].n) };
	case MAP_DADDR6:
	case MAP_SADDR6:
		return (struct map_shape){ BPF_MAP_TYPE_LPM_TRIE, sizeof(struct filter_lpm6_key),
					   sizeof(struct filter_mask),
					   at_least_one(img->lpm[lpm_of_map[id]].n) };
	case MAP_DPORT:
		return (struct map_shape){ BPF_MAP_TYPE_ARRAY, 4,
					   sizeof(struct filter_port_interval),
					   (__u32)img->dport.n };
	case MAP_SPORT:
	default:
		return (struct map_shape){ BPF_MAP_TYPE_ARRAY, 4,
					   sizeof(struct filter_port_interval),
					   (__u32)img->sport.n };
	}
}

uint32_t filter_map_max_entries(const struct filter_image *img, enum filter_map_id id)
{
	return map_shape_of(img, id).max_entries;
}

/* The config map's value for @img: the image's config stamped with the engine digest. */
static void instance_config(const struct filter_image *img, struct filter_config *cfg)
{
	_Static_assert(sizeof(cfg->engine_digest) == sizeof(cgbpf_engine_digest),
		       "the config map's digest is the engine digest");
	*cfg = img->config;
	memcpy(cfg->engine_digest, cgbpf_engine_digest, sizeof(cfg->engine_digest));
}

/* ---- paths -------------------------------------------------------------------------------- */

static int pin_path(char *buf, size_t size, const char *dir, const char *name)
{
	return size < LAYOUT_PATH_MAX ? -ENAMETOOLONG : layout_join(buf, dir, name);
}

/* Removes the pins of an instance from @dir; missing ones are fine. */
static int unpin_all(const char *dir)
{
	char path[PATH_MAX];
	int i, r, ret = 0;

	for (i = -1; i < MAP_COUNT; i++) {
		r = pin_path(path, sizeof(path), dir, i < 0 ? PROG_PIN_NAME : map_names[i]);
		if (r == 0 && unlink(path) < 0 && errno != ENOENT)
			r = -errno;
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

/* ---- filling ------------------------------------------------------------------------------- */

static enum bpf_prog_type prog_type_for_hook(enum cgbpf_hook hook)
{
	if (hook == HOOK_SOCK_CREATE)
		return BPF_PROG_TYPE_CGROUP_SOCK;
	return hook_is_early(hook) ? BPF_PROG_TYPE_CGROUP_SOCK_ADDR : BPF_PROG_TYPE_CGROUP_SKB;
}

static int update(int fd, const void *key, const void *value, const char *name,
		  struct cgbpf_error *err)
{
	int e;

	if (sysbpf_map_update_elem(fd, key, value, BPF_ANY) < 0) {
		e = errno;
		return cgbpf_error_set(err, e, "cannot fill filter map %s: %s", name, strerror(e));
	}
	return 0;
}

static int fill_lpm(int fd, const struct filter_prefix_set *set, bool v6, const char *name,
		    struct cgbpf_error *err)
{
	struct filter_lpm6_key k6;
	struct filter_lpm4_key k4;
	size_t i;
	int r;

	for (i = 0; i < set->n; i++) {
		if (v6) {
			k6.prefixlen = set->v[i].prefixlen;
			memcpy(k6.addr, set->v[i].addr, sizeof(k6.addr));
			r = update(fd, &k6, &set->v[i].mask, name, err);
		} else {
			k4.prefixlen = set->v[i].prefixlen;
			memcpy(k4.addr, set->v[i].addr, sizeof(k4.addr));
			r = update(fd, &k4, &set->v[i].mask, name, err);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int fill_ports(int fd, const struct filter_port_table *t, const char *name,
		      struct cgbpf_error *err)
{
	__u32 i;
	int r;

	for (i = 0; i < t->n; i++) {
		r = update(fd, &i, &t->v[i], name, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Writes @img into the maps the loader made and freezes all but the counters. */
static int fill_maps(const int map_fds[MAP_COUNT], const struct filter_image *img,
		     struct cgbpf_error *err)
{
	struct filter_config cfg;
	size_t i, n_maps = filter_n_maps_for(img->hook);
	__u32 k;
	int fd, e, r = 0;

	instance_config(img, &cfg);
	for (i = 0; i < n_maps && r == 0; i++) {
		fd = map_fds[i];
		switch (i) {
		case MAP_CONFIG:
			k = 0;
			r = update(fd, &k, &cfg, map_names[i], err);
			break;
		case MAP_RULES:
			for (k = 0; k < img->n_rules && r == 0; k++)
				r = update(fd, &k, &img->rules[k], map_names[i], err);
			break;
		case MAP_PROTO:
			for (k = 0; k < 256 && r == 0; k++)
				r = update(fd, &k, &img->proto[k], map_names[i], err);
			break;
		case MAP_COUNTERS:
			continue;
		case MAP_DPORT:
			r = fill_ports(fd, &img->dport, map_names[i], err);
			break;
		case MAP_SPORT:
			r = fill_ports(fd, &img->sport, map_names[i], err);
			break;
		default:
			r = fill_lpm(fd, &img->lpm[lpm_of_map[i]], filter_lpm_is_v6(lpm_of_map[i]),
				     map_names[i], err);
			break;
		}
		if (r == 0 && sysbpf_map_freeze(fd) < 0) {
			e = errno;
			r = cgbpf_error_set(err, e, "cannot freeze filter map %s: %s", map_names[i],
					    strerror(e));
		}
	}
	return r;
}

/* ---- reusing a pinned instance ----------------------------------------------------------- */

/*
 * Checks that @dir holds a complete instance of @img made by this engine.
 * Returns 0 and the program in *prog_fd, -ENOENT when nothing or only part of
 * an instance is there, -ESTALE when it was made by another engine build,
 * -EEXIST when it is another image, another negative errno on failure.
 *
 * An instance is whole and this build's when: the program
 * pin exists (it is pinned last), its "config" map is one of the program's
 * maps, and config holds this engine's digest and this image's config. The
 * other maps are not opened: an instance whose config matches was made from
 * this image by this engine, so their shapes follow, and a login pays for two
 * objects instead of eleven.
 */
static int open_pinned(const struct filter_image *img, const char *dir, int *prog_fd)
{
	struct bpf_prog_info pinfo;
	struct bpf_map_info minfo;
	struct filter_config want, have;
	char path[PATH_MAX];
	__u32 map_ids[16] = { 0 }, len, key = 0;
	size_t j;
	int fd = -1, mfd = -1, r;
	enum bpf_prog_type want_type = prog_type_for_hook(img->hook);

	*prog_fd = -1;
	r = pin_path(path, sizeof(path), dir, PROG_PIN_NAME);
	if (r < 0)
		return r;
	fd = sysbpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(&pinfo, 0, sizeof(pinfo));
	pinfo.nr_map_ids = sizeof(map_ids) / sizeof(map_ids[0]);
	pinfo.map_ids = (__u64)(unsigned long)map_ids;
	len = sizeof(pinfo);
	if (sysbpf_obj_get_info_by_fd(fd, &pinfo, &len) < 0) {
		r = -errno;
		goto out;
	}
	if (pinfo.type != want_type || pinfo.nr_map_ids > sizeof(map_ids) / sizeof(map_ids[0])) {
		r = -ESTALE;
		goto out;
	}
	r = pin_path(path, sizeof(path), dir, map_names[MAP_CONFIG]);
	if (r < 0)
		goto out;
	mfd = sysbpf_obj_get(path);
	if (mfd < 0) {
		r = -errno;
		goto out;
	}
	memset(&minfo, 0, sizeof(minfo));
	len = sizeof(minfo);
	if (sysbpf_obj_get_info_by_fd(mfd, &minfo, &len) < 0) {
		r = -errno;
		goto out;
	}
	for (j = 0; j < pinfo.nr_map_ids && map_ids[j] != minfo.id; j++)
		;
	if (j == pinfo.nr_map_ids || minfo.value_size != sizeof(have)) {
		r = -ESTALE;
		goto out;
	}
	memset(&have, 0, sizeof(have));
	if (sysbpf_map_lookup_elem(mfd, &key, &have) < 0) {
		r = -errno;
		goto out;
	}
	instance_config(img, &want);
	if (memcmp(have.engine_digest, want.engine_digest, sizeof(have.engine_digest))) {
		r = -ESTALE;
		goto out;
	}
	if (memcmp(&have, &want, sizeof(have))) {
		r = -EEXIST;
		goto out;
	}
	*prog_fd = fd;
	fd = -1;
	r = 0;
out:
	if (mfd >= 0)
		close(mfd);
	if (fd >= 0)
		close(fd);
	return r;
}

/* ---- the API ------------------------------------------------------------------------------- */

/* Pins the maps, then the program, which marks the instance complete. */
static int pin_instance(int prog_fd, const int map_fds[MAP_COUNT], const struct filter_image *img,
			const char *dir, struct cgbpf_error *err)
{
	char path[PATH_MAX];
	size_t i, n_maps = filter_n_maps_for(img->hook);
	int r, fd, e;

	for (i = 0; i <= n_maps; i++) {
		if (i < n_maps) {
			r = pin_path(path, sizeof(path), dir, map_names[i]);
			fd = map_fds[i];
		} else {
			r = pin_path(path, sizeof(path), dir, PROG_PIN_NAME);
			fd = prog_fd;
		}
		if (r < 0)
			return cgbpf_error_set(err, r, "%s/: path too long", dir);
		/* For the rollback tests: fail with the maps pinned, the program not. */
		if (i == n_maps && fault_hit("filter_pin"))
			return cgbpf_error_set(err, EIO, "cannot pin %s: injected fault", path);
		if (sysbpf_obj_pin(fd, path) < 0) {
			e = errno;
			return cgbpf_error_set(err, e, "cannot pin %s: %s", path, strerror(e));
		}
	}
	return 0;
}

static void close_fds(int prog_fd, const int map_fds[MAP_COUNT])
{
	for (size_t i = 0; i < MAP_COUNT; i++)
		if (map_fds[i] >= 0)
			close(map_fds[i]);
	if (prog_fd >= 0)
		close(prog_fd);
}

int filter_get_shared(const struct filter_image *img, const char *dir, int *prog_fd,
		      struct cgbpf_error *err)
{
	const struct cgbpf_loader *loader;
	int map_fds[MAP_COUNT] = { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 };
	bool created = false, pinned = false;
	struct stat st;
	int r, fd = -1;

	*prog_fd = -1;
	if (mkdir(dir, 0700) == 0) {
		created = true;
	} else if (errno != EEXIST) {
		r = errno;
		return cgbpf_error_set(err, r, "cannot create %s: %s", dir, strerror(r));
	} else if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		return cgbpf_error_set(err, ENOTDIR, "%s is not a directory", dir);
	}

	if (!created) {
		r = open_pinned(img, dir, prog_fd);
		if (r == 0)
			return 0;
		if (r == -EEXIST)
			return cgbpf_error_set(err, r, "%s holds another filter image", dir);
		if (r != -ENOENT && r != -ESTALE)
			return cgbpf_error_set(err, r, "cannot open the filter pinned in %s: %s",
					       dir, strerror(-r));
		/* Nothing, a part left by a crash, or another engine build's. */
		r = unpin_all(dir);
		if (r < 0)
			return cgbpf_error_set(err, r, "cannot clear %s: %s", dir, strerror(-r));
	}

	loader = cgbpf_loader_get(err);
	r = loader ? loader->filter_load(img, &fd, map_fds, err) : -ENOEXEC;
	if (r < 0)
		goto out;
	r = fill_maps(map_fds, img, err);
	if (r < 0)
		goto out;
	pinned = true;
	r = pin_instance(fd, map_fds, img, dir, err);
	if (r < 0)
		goto out;
	*prog_fd = fd;
	fd = -1;
out:
	if (r < 0 && pinned)
		unpin_all(dir);
	if (r < 0 && created)
		rmdir(dir);
	close_fds(fd, map_fds);
	return r;
}

int filter_dry_run(const struct filter_image *img, struct cgbpf_error *err)
{
	const struct cgbpf_loader *loader = cgbpf_loader_get(err);
	int fd = -1, map_fds[MAP_COUNT];
	int r;

	r = loader ? loader->filter_load(img, &fd, map_fds, err) : -ENOEXEC;
	if (r == 0) {
		r = fill_maps(map_fds, img, err);
		close_fds(fd, map_fds);
	}
	return r;
}

static int open_pinned_map(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int r, fd;

	r = pin_path(path, sizeof(path), dir, name);
	if (r < 0)
		return r;
	fd = sysbpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int filter_read_counters(const char *dir, uint64_t cgroup_id, struct filter_counters *out)
{
	struct filter_counters_value *v = NULL;
	struct filter_config cfg;
	int cfd = -1, mfd = -1, ncpu, cpu, i, r;
	__u32 key = 0;
	__u64 id = cgroup_id;

	memset(out, 0, sizeof(*out));
	ncpu = sysbpf_num_possible_cpus();
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	cfd = open_pinned_map(dir, map_names[MAP_CONFIG]);
	if (cfd < 0)
		return cfd;
	mfd = open_pinned_map(dir, map_names[MAP_COUNTERS]);
	if (mfd < 0) {
		r = mfd;
		goto out;
	}
	if (sysbpf_map_lookup_elem(cfd, &key, &cfg) < 0) {
		r = -errno;
		goto out;
	}
	/* Per-CPU values come out 8-byte aligned; this value's size is a multiple of 8. */
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	if (sysbpf_map_lookup_elem(mfd, &id, v) < 0) {
		r = -errno;
		goto out;
	}
	out->n_rules = cfg.n_rules < FILTER_MAX_RULES ? cfg.n_rules : FILTER_MAX_RULES;
	for (cpu = 0; cpu < ncpu; cpu++) {
		out->pass_pkts += v[cpu].pass_pkts;
		out->pass_bytes += v[cpu].pass_bytes;
		out->drop_pkts += v[cpu].drop_pkts;
		out->drop_bytes += v[cpu].drop_bytes;
		for (i = 0; i < FILTER_MAX_RULES; i++)
			out->hits[i] += v[cpu].hits[i];
	}
	r = 0;
out:
	free(v);
	if (mfd >= 0)
		close(mfd);
	close(cfd);
	return r;
}

int filter_unpin_shared(const char *dir)
{
	int r;

	r = unpin_all(dir);
	if (r < 0)
		return r;
	if (rmdir(dir) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
