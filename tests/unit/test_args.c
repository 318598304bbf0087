// SPDX-License-Identifier: GPL-2.0-or-later
/* The module arguments: pure code, no root needed. */
#include <errno.h>
#include <string.h>

#include "args.h"
#include "unit.h"

static void test_args(void)
{
	struct cgbpf_settings s;
	struct cgbpf_error err = { { 0 } };
	const char *good[] = { "config=/etc/x.conf", "cgroup_root=a/b", "bpffs=/sys/fs/bpf/t",
			       "state_dir=/run/t",   "on_logout=kill",	"debug" };

	settings_init(&s);
	CHECK(!strcmp(s.config, "/etc/security/pam_cgbpf.conf") && s.on_logout == ON_LOGOUT_KEEP);
	CHECK(settings_parse_args(&s, 6, good, &err) == 0);
	CHECK(!strcmp(s.cgroup_root, "a/b") && s.on_logout == ON_LOGOUT_KILL && s.debug);

	static const char *const bad[][2] = {
		{ "confg=/x", "confg=/x" },
		{ "debgu", "debgu" },
		{ "on_logout=maybe", "maybe" },
		{ "cgroup_root=../x", "cgroup_root" },
		{ "cgroup_root=/abs", "cgroup_root" },
		{ "cgroup_root=.", "cgroup_root" },
		{ "config=rel.conf", "config" },
		{ "bpffs=/a//b", "bpffs" },
		{ "state_dir=/a/../b", "state_dir" },
		{ "state_dir=/", "state_dir" },
		{ "config=", "config=" },
		{ "=x", "=x" },
		{ "fault=attach:1", "fault" },
		{ "bpffs=/a/", "bpffs" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[1] = { bad[i][0] };

		memset(&err, 0, sizeof(err));
		settings_init(&s);
		CHECK(settings_parse_args(&s, 1, argv, &err) == -EINVAL);
		CHECK_STR_CONTAINS(err.msg, bad[i][1]);
	}
}

/* placement=auto|own|systemd; anything else is refused, naming the argument. */
static void test_placement(void)
{
	struct cgbpf_settings s;
	struct cgbpf_error err = { { 0 } };
	const char *own[] = { "placement=own" }, *autop[] = { "placement=auto" };
	const char *sd[] = { "placement=systemd" }, *bad[] = { "placement=logind" };

	settings_init(&s);
	CHECK(s.placement == PLACEMENT_AUTO);
	CHECK(settings_parse_args(&s, 1, own, &err) == 0 && s.placement == PLACEMENT_OWN);
	CHECK(settings_parse_args(&s, 1, autop, &err) == 0 && s.placement == PLACEMENT_AUTO);
	CHECK(settings_parse_args(&s, 1, sd, &err) == 0 && s.placement == PLACEMENT_SYSTEMD);
	memset(&err, 0, sizeof(err));
	CHECK(settings_parse_args(&s, 1, bad, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "placement=logind");
}

int main(void)
{
	RUN_TEST(test_args);
	RUN_TEST(test_placement);
	return UNIT_EXIT();
}
