#!/usr/bin/env bash
# placement=auto on a real systemd host, over real ssh logins with pam_cgbpf after
# "@include common-session" in /etc/pam.d/sshd: the login stays in its logind session scope,
# the module's programs sit on user-1000.slice and are in effect on the scope and on
# user@1000.service, traffic is allowed and refused by the policy, systemd's own IPAddressDeny=
# programs keep working beside them, a second session stays sandboxed when the first logs out,
# `loginctl terminate-session` still ends a session, and the last logout leaves nothing: no
# program of the module on the slice, no sandbox in `cgbpfctl status`, no cgroup of our own.
# shellcheck source=tests/systemd/sd-sandbox-lib.sh
. "$(dirname "$0")/sd-sandbox-lib.sh"

sd_suite_start 10_placement

# Listeners on the host (the network is shared): .2 and .4 allowed by our policy, .3 denied;
# .4 is what systemd's IPAddressDeny= refuses later on.
listen_tcp 127.0.0.2 || die listen_tcp "no listener on 127.0.0.2"
P2=$PORT
listen_tcp 127.0.0.3 || die listen_tcp "no listener on 127.0.0.3"
P3=$PORT
listen_tcp 127.0.0.4 || die listen_tcp "no listener on 127.0.0.4"
P4=$PORT

sd_policy "tester egress allow daddr=127.0.0.2,127.0.0.4" "tester egress deny" \
	"tester sock_create deny family=inet6 type=dgram"
sd_pam_line sshd after "" || die sd_pam_line "cannot edit /etc/pam.d/sshd in the container"
check "the module's line comes right after @include common-session in /etc/pam.d/sshd" \
	sd_exec grep -A1 -x '@include common-session' /etc/pam.d/sshd

tcp() { # ADDR PORT: a connect from a new ssh login as tester
	sd_ssh tester "$NP" tcp-connect "$1" "$2" 2000 </dev/null
}
udp() { # ADDR PORT: a datagram from a new ssh login as tester
	sd_ssh tester "$NP" udp-send "$1" "$2" </dev/null
}

# ---- one login --------------------------------------------------------------------------------
hold_open A tester || die "ssh login A" "the login did not come up"
if [[ $HOLD_CG_A =~ ^/user\.slice/user-1000\.slice/session-([0-9a-z]+)\.scope$ ]] &&
	[ "${BASH_REMATCH[1]}" = "$HOLD_SID_A" ]; then
	pass "login A stays in its session scope $HOLD_CG_A"
else
	fail "login A stays in its session scope" "cgroup '$HOLD_CG_A', session '$HOLD_SID_A'"
fi
SCOPE_A=/sys/fs/cgroup$HOLD_CG_A
check "systemctl is-active session-$HOLD_SID_A.scope says active" \
	test "$(sd_exec systemctl is-active "session-$HOLD_SID_A.scope")" = active
check "loginctl terminate-session would find it: loginctl shows its scope" \
	test "$(sd_exec loginctl show-session "$HOLD_SID_A" -p Scope --value)" = "session-$HOLD_SID_A.scope"
check "the module's egress and sock_create programs are attached to user-1000.slice" \
	has_effective "$SLICE" cgroup_inet_egress cgroup_inet_sock_create
check "... and in effect on session-$HOLD_SID_A.scope (bpftool cgroup show effective)" \
	has_effective "$SCOPE_A" cgroup_inet_egress cgroup_inet_sock_create
check "... and in effect on user@1000.service" \
	has_effective "$SLICE/user@1000.service" cgroup_inet_egress cgroup_inet_sock_create
check "cgbpfctl status shows placement systemd and the slice" \
	sd_exec sh -c 'cgbpfctl status | grep -E "placement +systemd" &&
		cgbpfctl status | grep -F "/user.slice/user-1000.slice"'
check "no cgroup of the module's own exists (nothing made outside systemd's tree)" \
	sd_exec test ! -e /sys/fs/cgroup/pam_cgbpf

expect_rc "in login A: allowed traffic (127.0.0.2) goes through" 0 \
	hold_run A "$NP tcp-connect 127.0.0.2 $P2 2000"
check "in login A: denied TCP (127.0.0.3) never connects" \
	never_connects hold_run A "$NP tcp-connect 127.0.0.3 $P3 1000"
expect_rc "in login A: denied UDP (127.0.0.3) is refused (EPERM)" 2 \
	hold_run A "$NP udp-send 127.0.0.3 $P3"
# The filter counts into the cgroup storage of the cgroup it is attached to: the slice.
check "cgbpfctl status counts the session's passed packets (the slice's counters)" \
	test "$(filter_count egress passed_packets)" -ge 1
expect_rc "in login A: the denied socket (inet6 dgram) is refused" 2 \
	hold_run A "$NP socket inet6 dgram"
expect_rc "in login A: another socket (inet dgram) is allowed" 0 \
	hold_run A "$NP socket inet dgram"
expect_rc "a second, short login: denied traffic refused (EPERM)" 2 udp 127.0.0.3 "$P3"
check "a second, short login: denied TCP never connects" never_connects tcp 127.0.0.3 "$P3"
expect_rc "a second, short login: allowed traffic goes through" 0 tcp 127.0.0.2 "$P2"

# user@1000.service (systemd --user) is under the slice too: a user unit is sandboxed.
UNIT_DIR=/home/tester/.config/systemd/user
sd_exec install -d -o tester -g tester "/home/tester/.config" "/home/tester/.config/systemd" "$UNIT_DIR"
user_unit() { # ADDR PORT: netprobe udp-send run as a user service of tester; its exit status
	printf '[Service]\nType=oneshot\nExecStart=/bin/sh -c "sed -n s/^0:://p /proc/self/cgroup >/tmp/cgbpf-unit.cg; exec %s udp-send %s %s"\n' \
		"$NP" "$1" "$2" | sd_write "$UNIT_DIR/cgbpf-probe.service" 0644
	hold_run A '(systemctl --user daemon-reload; systemctl --user start cgbpf-probe.service; exit "$(systemctl --user show -p ExecMainStatus --value cgbpf-probe.service)")'
}
expect_rc "a unit of systemctl --user (in user@1000.service): denied traffic refused" 2 \
	user_unit 127.0.0.3 "$P3"
check "... the unit ran in user@1000.service" \
	test "$(sd_exec cat /tmp/cgbpf-unit.cg)" = /user.slice/user-1000.slice/user@1000.service/app.slice/cgbpf-probe.service
expect_rc "a unit of systemctl --user: allowed traffic goes through" 0 user_unit 127.0.0.2 "$P2"

# ---- two sessions, first logout, terminate-session --------------------------------------------
hold_open B tester || die "ssh login B" "the login did not come up"
hold_run B 'sleep 1000 & echo "$!" >/tmp/cgbpf-sleep.pid'
SLEEP_PID=$(sd_exec cat /tmp/cgbpf-sleep.pid)
SCOPE_A_ID=$(sd_exec stat -c %i "$SCOPE_A")
SLICE_ID=$(sd_exec stat -c %i /sys/fs/cgroup/user.slice/user-1000.slice)
only_slice_counts() { # the shared filters hold counters for the slice and no scope's
	local keys
	keys=$(counter_keys)
	grep -qx "$SLICE_ID" <<<"$keys" && ! grep -qx "$SCOPE_A_ID" <<<"$keys"
}
check "the shared filters count for the slice, not per scope (nothing to forget at logout)" \
	only_slice_counts
check "login A logs out" hold_close A
check "... and its PAM session is closed (one session left)" wait_sessions 1
check "... and the slice's counters are still there for login B" only_slice_counts
expect_rc "after A's logout, login B: denied traffic still refused" 2 \
	hold_run B "$NP udp-send 127.0.0.3 $P3"
expect_rc "after A's logout, login B: allowed traffic still goes through" 0 \
	hold_run B "$NP tcp-connect 127.0.0.2 $P2 2000"
check "after A's logout, the programs are still in effect on B's scope" \
	has_effective "/sys/fs/cgroup$HOLD_CG_B" cgroup_inet_egress cgroup_inet_sock_create

check "loginctl terminate-session $HOLD_SID_B" sd_exec loginctl terminate-session "$HOLD_SID_B"
gone() { # PID: gone from the container within 5 s
	local i
	for ((i = 0; i < 50; i++)); do
		sd_exec test -e "/proc/$1" || return 0
		sleep 0.1
	done
	echo "process $1 still runs: $(sd_exec cat "/proc/$1/cgroup" 2>&1 | tail -n 1)"
	return 1
}
check "terminate-session ends the sandboxed session's processes (its background sleep)" \
	gone "$SLEEP_PID"
ended() { # PID: the process ended within 10 s, whatever its status
	bg_wait "$1" 10
	[ "$?" != 124 ]
}
check "... and its ssh connection" ended "$_HOLD_PID_B"
session_gone() {
	local i
	for ((i = 0; i < 50; i++)); do
		sd_exec systemctl is-active -q "session-$1.scope" || return 0
		sleep 0.1
	done
	return 1
}
check "... and its scope" session_gone "$HOLD_SID_B"
check "... and sshd closed its PAM session (no session left)" wait_sessions 0

# ---- after the last logout ----------------------------------------------------------------------
check "after the last logout, no program of the module on user-1000.slice" no_module_progs "$SLICE"
check "after the last logout, cgbpfctl status lists no sandbox" \
	test "$(status_sandboxes)" = 0
check "after the last logout, no pins are left under /sys/fs/bpf/pam_cgbpf/user-1000" \
	sd_exec test ! -e /sys/fs/bpf/pam_cgbpf/user-1000
check "no cgroup was made outside systemd's tree" sd_exec test ! -e /sys/fs/cgroup/pam_cgbpf

# ---- systemd's own programs beside ours -----------------------------------------------------
# IPAddressDeny= on every user slice: systemd attaches its sd_fw programs when it makes the slice.
sd_exec mkdir -p /etc/systemd/system/user-.slice.d
printf '[Slice]\nIPAddressDeny=127.0.0.4\nIPAccounting=yes\n' |
	sd_write /etc/systemd/system/user-.slice.d/50-cgbpf-test.conf 0644
sd_exec systemctl daemon-reload
slice_gone() {
	local i
	for ((i = 0; i < 300; i++)); do
		sd_exec test -d "$SLICE" || return 0
		sleep 0.1
	done
	return 1
}
# A fresh slice (the old one goes ~10 s after the last logout), so that the drop-in applies.
check "the slice goes after the last logout" slice_gone
hold_open C tester || die "ssh login C" "the login did not come up"
sd_fw() {
	progs "$SLICE" | grep -q 'cgroup_inet_egress sd_fw_egress' || {
		progs "$SLICE"
		return 1
	}
}
check "with IPAddressDeny=: systemd's sd_fw_egress stays on the slice beside ours" sd_fw
check "with IPAddressDeny=: ours are on the slice too" \
	has_effective "/sys/fs/cgroup$HOLD_CG_C" cgroup_inet_egress cgroup_inet_sock_create
expect_rc "with IPAddressDeny=: what both allow goes through (127.0.0.2)" 0 \
	hold_run C "$NP tcp-connect 127.0.0.2 $P2 2000"
expect_rc "with IPAddressDeny=: what only systemd denies is refused (127.0.0.4)" 2 \
	hold_run C "$NP udp-send 127.0.0.4 $P4"
check "with IPAddressDeny=: ... and TCP to it never connects" \
	never_connects hold_run C "$NP tcp-connect 127.0.0.4 $P4 1000"
expect_rc "with IPAddressDeny=: what only we deny is refused (127.0.0.3)" 2 \
	hold_run C "$NP udp-send 127.0.0.3 $P3"
check "with IPAddressDeny=: ... and TCP to it never connects" \
	never_connects hold_run C "$NP tcp-connect 127.0.0.3 $P3 1000"
check "login C logs out" hold_close C
check "... and its PAM session is closed" wait_sessions 0
after_c() {
	# The slice may be gone already (~10 s after the last logout): then nothing is on it.
	sd_exec test -d "$SLICE" || return 0
	sd_fw && no_module_progs "$SLICE"
}
check "after C's logout, systemd's programs stay on the slice and none of ours" after_c
check "after C's logout, cgbpfctl status lists no sandbox" test "$(status_sandboxes)" = 0
