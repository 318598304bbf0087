#!/usr/bin/env bash
# Races that the fault build's pause points make certain (fault=pause_OP:MS sleeps at OP):
#  - a login that read the policy before a `cgbpfctl reload` never puts the old rules back
#    (the policy is checked again under the user's lock);
#  - a user who SIGSTOPs their own su while it holds the machine-wide lock cannot stall other
#    users' logins (the module makes itself unsignalable by the user while it runs).
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
start_syslog
sandbox_setup

U=$(mkuser cgrace) || die mkuser "cannot create the user"
UID_U=$(id -u "$U")
SVC=cgbpf-t75-$$
FSVC=cgbpf-t75f-$$
service "$SVC"
# fault_service SPEC: FSVC through the fault build with fault=SPEC.
fault_service() {
	printf 'session required %s %s fault=%s\n' "$FAULT_MODULE" "$ARGS" "$1" >"/etc/pam.d/$FSVC"
	on_exit rm -f "/etc/pam.d/$FSVC"
}
# wait_log REGEX: up to 10 s for a log line.
wait_log() {
	local i
	for ((i = 0; i < 100; i++)); do
		log_since_mark | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}
udp_from_sandbox() { as_sandboxed "$UID_U" "$NETPROBE" udp-send 127.0.0.1 "$1"; }

# ---- a login racing a reload ----------------------------------------------------------------------
policy "* egress deny proto=udp dport=9"
stdin_fifo_open
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/live.out" '^opened' "$PAMSESSION" "$SVC" "$U" hold ||
	die "a live session" "$(cat "$SCRATCH/live.out")"
LIVE=$BG_PID
expect_rc "set-up: the old policy refuses UDP to port 9" 2 udp_from_sandbox 9

fault_service pause_policy_read:1500
log_mark
"$PAMSESSION" "$FSVC" "$U" open-close >"$SCRATCH/raced.out" 2>&1 &
RACED=$!
on_exit stop_pid "$RACED"
check "the racing login has read the old policy and waits" wait_log "fault: pausing at policy_read"
policy "* egress deny proto=udp dport=19"
ctl reload
verdict "cgbpfctl reload applies the new policy meanwhile" "$([ "$RC" = 0 ] && echo 1)"
expect_rc "the racing login then succeeds" 0 bg_wait "$RACED" 10
expect_rc "the sandbox refuses UDP to port 19 (the new rule)" 2 udp_from_sandbox 19
expect_rc "and lets UDP to port 9 through (the old rule is not back)" 0 udp_from_sandbox 9
stdin_fifo_close
expect_rc "the live session closes" 0 bg_wait "$LIVE"
assert_clean "after the reload race" "$UID_U"

# ---- a stopped su holding the machine-wide lock ---------------------------------------------------
# su runs set-uid root with the user's real uid, so the user may signal it. A set-uid copy of
# pamsession is that opener; it pauses inside the global lock for 4 s.
V=$(mkuser cgracev) || die mkuser "cannot create the second user"
SUIDDIR=$(tmpdir_root)
install -o root -g root -m 4755 "$PAMSESSION" "$SUIDDIR/pamsession-suid"
fault_service pause_global:4000
log_mark
as_user "$UID_U" "$SUIDDIR/pamsession-suid" "$FSVC" "$U" open-close >"$SCRATCH/su.out" 2>&1 &
SU=$!
on_exit stop_pid "$SU"
check "the su-like opener holds the global lock" wait_log "fault: pausing at global"
target=$(pgrep -f "pamsession-suid $FSVC" | head -1)
check "set-up: the opener is running" test -n "$target"
# Should the user have stopped it after all, the cleanup lets it go on.
[ -n "$target" ] && on_exit sh -c 'kill -CONT "$1" 2>/dev/null; true' cont "$target"
check_fails "the user cannot SIGSTOP the opener while it holds the lock" \
	as_user "$UID_U" kill -STOP "${target:-0}"
check_fails "nor SIGTSTP it" as_user "$UID_U" kill -TSTP "${target:-0}"
expect_rc "another user's login meanwhile succeeds" 0 "$PAMSESSION" "$SVC" "$V" open-close
expect_rc "the paused opener finishes too" 0 bg_wait "$SU" 15
# Once the module has returned, the opener is the user's to signal again, as su always was.
stdin_fifo_open
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/suhold.out" '^opened' \
	as_user "$UID_U" "$SUIDDIR/pamsession-suid" "$SVC" "$U" hold ||
	die "a set-uid hold" "$(cat "$SCRATCH/suhold.out")"
HOLD=$BG_PID
opener=$(sed -n 's/^opened //p' "$SCRATCH/suhold.out")
check "after the module returns, the opener's real uid is the user's again" \
	test "$(awk '/^Uid:/ { print $2 }' "/proc/${opener:-0}/status")" = "$UID_U"
stdin_fifo_close
expect_rc "that session closes" 0 bg_wait "$HOLD"
assert_clean "after the stopped-su attempt" "$UID_U"
