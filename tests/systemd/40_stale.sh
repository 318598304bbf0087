#!/usr/bin/env bash
# A slice that systemd removed and made anew: a login whose sshd is SIGKILLed never closes its
# PAM session, so the ledger keeps it; logind then removes the empty scope and, the user having no
# session left, the slice (its links go defunct). The stale sandbox is recognised (the cgroup is
# gone, or a new slice has a new cgroup id) and reclaimed by cgbpfctl gc, by the next open (which
# sandboxes the new slice) and by a close.
# shellcheck source=tests/systemd/sd-sandbox-lib.sh
. "$(dirname "$0")/sd-sandbox-lib.sh"

sd_suite_start 40_stale
sd_policy "tester egress deny daddr=127.0.0.3"
sd_pam_line sshd after "" || die sd_pam_line "cannot edit /etc/pam.d/sshd in the container"

slice_id() {
	sd_exec stat -c %i "$SLICE" 2>/dev/null
}
slice_gone() {
	local i
	for ((i = 0; i < 300; i++)); do
		sd_exec test -d "$SLICE" || return 0
		sleep 0.1
	done
	return 1
}
# crash_login: a held login whose sshd (the PAM caller) is SIGKILLed; waits for the slice to go.
crash_login() {
	local pids
	hold_open X tester || return 1
	pids=$(sd_exec pgrep -u root -f '^sshd: tester') || return 1
	# shellcheck disable=SC2086
	sd_exec kill -KILL $pids
	hold_close X
	slice_gone
}
ledger_sessions() {
	sessions_of_tester
}

# ---- gc ------------------------------------------------------------------------------------------
check "a login whose sshd is killed: its slice goes, its ledger stays" crash_login
check "... the ledger still records its session" test "$(ledger_sessions)" = 1
gc_out=$(sd_exec cgbpfctl gc 2>&1)
check "cgbpfctl gc removes the stale sandbox" grep -q 'removed sandbox: user tester' <<<"$gc_out"
check "... and status lists no sandbox" test "$(status_sandboxes)" = 0
check "... and no pins are left" sd_exec test ! -e /sys/fs/bpf/pam_cgbpf/user-1000

# ---- the next open ------------------------------------------------------------------------------
check "again a login whose sshd is killed, its slice gone" crash_login
journal_mark "$SCRATCH/cursor"
hold_open A tester || die "ssh login A" "the login did not come up"
jr=$(journal_since "$SCRATCH/cursor")
check "the next login reclaims the stale sandbox (and says so)" \
	grep -E 'pam_cgbpf.*is gone or was made anew.*reclaiming its stale sandbox' <<<"$jr"
check "... the ledger now has only the new login" test "$(ledger_sessions)" = 1
new_id=$(slice_id)
status_id=$(sd_exec cgbpfctl status --json | sd_exec python3 -c \
	'import json, sys; print(json.load(sys.stdin)["sandboxes"][0]["cgroup_id"])')
check "... and records the new slice's cgroup id" test "$status_id" = "$new_id"
expect_rc "... and the new slice is sandboxed (denied traffic refused)" 2 \
	hold_run A "$NP udp-send 127.0.0.3 9"
check "... the programs are in effect on the new login's scope" \
	has_effective "/sys/fs/cgroup$HOLD_CG_A" cgroup_inet_egress
check "login A logs out" hold_close A
check "... and its sandbox goes" wait_sessions 0

# ---- a close ------------------------------------------------------------------------------------
check "once more a login whose sshd is killed, its slice gone" crash_login
sd_exec pamtester sshd tester close_session >/dev/null 2>&1
check "a close (pamtester close_session) reclaims the stale sandbox" test "$(status_sandboxes)" = 0
check "... and no pins are left" sd_exec test ! -e /sys/fs/bpf/pam_cgbpf/user-1000
