#!/usr/bin/env bash
# The systemd host of tests/systemd/lib.sh is a real one: systemd is PID 1, an ssh login lands
# in its logind session scope, and root inside can load and attach cgroup BPF programs that
# really drop a session's traffic.
# shellcheck source=tests/systemd/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
[ -x "$NETPROBE" ] && [ -f "$BUILD/tests/bpf/deny_port.bpf.o" ] ||
	die 00_host "netprobe or the test BPF objects are not built (make tests)"
sd_start
sd_install

check "systemd is PID 1 in the container" \
	test "$(sd_exec cat /proc/1/comm)" = systemd
state=$(sd_exec systemctl is-system-running)
case $state in
running | degraded) pass "the container's systemd is up ($state)" ;;
*) fail "the container's systemd is up" "is-system-running says '$state'" ;;
esac
check "the container has a pure cgroup2 tree at /sys/fs/cgroup" \
	test "$(sd_exec stat -f -c %T /sys/fs/cgroup)" = cgroup2fs
check "systemd-logind is active" sd_exec systemctl is-active --quiet systemd-logind.service

# A login that stays open until we close its stdin: its session scope, seen from inside.
stdin_fifo_open || die 00_host "no fifo"
hold=$SCRATCH/hold.out
BG_STDIN=$STDIN_FIFO bg_start "$hold" '^ready$' ssh "${SD_SSH_OPTS[@]}" tester@127.0.0.1 \
	'cat /proc/self/cgroup; echo "session=$XDG_SESSION_ID"; echo ready; read -r _' ||
	die "ssh login as tester" "no session: $(tr '\n' ' ' <"$hold")"
hold_pid=$BG_PID
cg=$(sed -n 's/^0:://p' "$hold")
sid=$(sed -n 's/^session=//p' "$hold")
if [[ $cg =~ ^/user\.slice/user-1000\.slice/session-([0-9]+)\.scope$ ]] &&
	[ "${BASH_REMATCH[1]}" = "$sid" ]; then
	pass "an ssh login as tester lands in $cg"
else
	fail "an ssh login as tester lands in its session scope" "cgroup '$cg', session '$sid'"
fi
check "systemctl is-active session-$sid.scope" \
	test "$(sd_exec systemctl is-active "session-$sid.scope")" = active
session_listed() {
	sd_exec loginctl list-sessions --no-legend | awk -v s="$1" '$1 == s && $3 == "tester"' | grep -q .
}
check "loginctl lists session $sid of tester" session_listed "$sid"
check "loginctl shows session $sid as the scope's unit" \
	test "$(sd_exec loginctl show-session "$sid" -p Scope --value)" = "session-$sid.scope"

# cgroup BPF inside: deny_port_9 attached by root inside to tester's user slice drops tester's
# datagrams to port 9, and only those, and only tester's.
udp9() {
	sd_ssh "$1" /usr/local/bin/netprobe udp-send 127.0.0.1 9 </dev/null
}
expect_rc "before the attach, tester's udp to port 9 goes out" 0 udp9 tester
pin=/sys/fs/bpf/cgbpf-sd-smoke
slice=/sys/fs/cgroup/user.slice/user-1000.slice
if sd_exec bpftool prog loadall /usr/local/lib/cgbpf-tests/bpf/deny_port.bpf.o "$pin" \
	type cgroup/skb && sd_exec bpftool cgroup attach "$slice" egress pinned "$pin/deny_port_9" multi; then
	pass "root inside loads a cgroup_skb program and attaches it to $slice"
else
	fail "root inside loads a cgroup_skb program and attaches it to $slice"
fi
attached() {
	sd_exec bpftool cgroup show "$slice" | grep -q deny_port_9
}
check "bpftool cgroup show inside lists it on user-1000.slice" attached
expect_rc "tester's new ssh login: udp to port 9 is refused (EPERM)" 2 udp9 tester
listen_udp 127.0.0.1 --timeout 10000 --expect 1 || die 00_host "no udp listener"
expect_rc "tester's udp to another port still goes out" 0 \
	sd_ssh tester /usr/local/bin/netprobe udp-send 127.0.0.1 "$PORT" </dev/null
bg_wait "$BG_PID" 10
check "... and arrives at a listener on the host" grep -q '^from 127.0.0.1' "$BG_OUT"
expect_rc "root's ssh login is not in tester's slice: its udp to port 9 goes out" 0 udp9 root
sd_exec bpftool cgroup detach "$slice" egress pinned "$pin/deny_port_9"
expect_rc "after the detach, tester's udp to port 9 goes out again" 0 udp9 tester

stdin_fifo_close
bg_wait "$hold_pid" 5
session_gone() {
	local i
	for ((i = 0; i < 50; i++)); do
		sd_exec systemctl is-active -q "session-$1.scope" || return 0
		sleep 0.1
	done
	return 1
}
check "the held session's scope goes when its ssh connection closes" session_gone "$sid"
