#!/usr/bin/env bash
# Processes left in a session scope at the last logout, in systemd placement: with
# on_logout=keep they stay sandboxed (the links stay on the slice) until they exit, and the
# sandbox goes with them at the next gc; with on_logout=kill they are killed at the last logout
# and the sandbox goes at once. The closing sshd itself, which sits in the scope, is neither
# counted nor killed: its logout completes.
# shellcheck source=tests/systemd/sd-sandbox-lib.sh
. "$(dirname "$0")/sd-sandbox-lib.sh"

sd_suite_start 50_logout
sd_policy "tester egress deny daddr=127.0.0.3"

# leave_behind: a login that starts a detached loop sending to 127.0.0.3 every 0.2 s and
# logging each send's status, then logs out. Prints the loop's pid.
leave_behind() {
	sd_ssh tester "setsid sh -c 'while :; do $NP udp-send 127.0.0.3 9 >/dev/null 2>&1; echo \$? >>/tmp/cgbpf-left.log; sleep 0.2; done' </dev/null >/dev/null 2>&1 & echo \$!" </dev/null
}
last_rc() {
	sleep 0.5
	sd_exec tail -n 1 /tmp/cgbpf-left.log
}

# ---- keep ---------------------------------------------------------------------------------------
sd_pam_line sshd after "on_logout=keep" || die sd_pam_line "cannot edit /etc/pam.d/sshd"
LEFT=$(leave_behind)
check "keep: a process is left behind in the closed session's scope" sd_exec test -e "/proc/$LEFT"
check "keep: the logout completed (no session left in the ledger)" wait_sessions 0
check "keep: the sandbox stays (cgbpfctl status lists it)" test "$(status_sandboxes)" = 1
check "keep: the programs stay on the slice" has_effective "$SLICE" cgroup_inet_egress
check "keep: the process left behind is still refused (EPERM)" test "$(last_rc)" = 2
gc_out=$(sd_exec cgbpfctl gc 2>&1)
check "keep: gc does not remove it while the process lives" test "$(status_sandboxes)" = 1
sd_exec kill -TERM -- "-$LEFT" # its process group: the loop and its sleep
gone() {
	local i
	for ((i = 0; i < 50; i++)); do
		sd_exec test -e "/proc/$1" || return 0
		sleep 0.1
	done
	return 1
}
check "keep: the process exits" gone "$LEFT"
settled() { # nothing left in tester's session scopes (what gc looks at)
	local i
	for ((i = 0; i < 50; i++)); do
		[ -z "$(sd_exec sh -c 'cat /sys/fs/cgroup/user.slice/user-1000.slice/session-*.scope/cgroup.procs 2>/dev/null')" ] && return 0
		sleep 0.1
	done
	return 1
}
check "keep: nothing is left in tester's session scopes" settled
gc_out=$(sd_exec cgbpfctl gc 2>&1)
check "keep: then gc removes the sandbox" grep -q 'removed sandbox: user tester' <<<"$gc_out"
check "keep: nothing of the module is left on the slice" no_module_progs "$SLICE"

# ---- kill ---------------------------------------------------------------------------------------
sd_pam_line sshd after "on_logout=kill" || die sd_pam_line "cannot edit /etc/pam.d/sshd"
LEFT=$(leave_behind)
check "kill: the process left behind is killed at the last logout" gone "$LEFT"
check "kill: the logout completed and the sandbox is gone" wait_sessions 0
check "kill: cgbpfctl status lists no sandbox" test "$(status_sandboxes)" = 0
check "kill: nothing of the module is left on the slice" no_module_progs "$SLICE"

# kill with two sessions: the first logout kills nothing.
hold_open A tester || die "ssh login A" "the login did not come up"
LEFT=$(leave_behind)
check "kill: with another session open, the process left behind lives on" sd_exec test -e "/proc/$LEFT"
check "kill: ... still sandboxed" test "$(last_rc)" = 2
check "kill: the last logout" hold_close A
check "kill: ... kills it" gone "$LEFT"
check "kill: ... and the sandbox goes" wait_sessions 0
check "kill: ... status lists no sandbox" test "$(status_sandboxes)" = 0
