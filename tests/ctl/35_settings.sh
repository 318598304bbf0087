#!/usr/bin/env bash
# One sandbox, one set of settings (INTERFACE §4): a sandbox records the policy file, placement,
# cgroup_root and bpffs that made it. A session of the same user with another config=,
# cgroup_root= or bpffs= is refused with a line naming both, and the live sandbox keeps its own
# rules. cgbpfctl reload re-reads each sandbox's own policy file (never the default one); with
# --config it touches only the sandboxes made from that file. Checked with real traffic.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
start_syslog
sandbox_setup
[ -x "$CGBPFCTL" ] || die "cgbpfctl is built" "$CGBPFCTL is missing"

U1=$(mkuser cgsa)
U2=$(mkuser cgsb)
UID1=$(id -u "$U1") UID2=$(id -u "$U2")
POLICY_B=$POLDIR/b.conf
policy_b() {
	printf '%s\n' "$@" >"$POLICY_B"
	chmod 0644 "$POLICY_B"
}
policy "* egress deny daddr=127.0.0.3"
policy_b "* egress deny daddr=127.0.0.4"
SVC_A=cgbpf-ctl35a-$$ SVC_B=cgbpf-ctl35b-$$
service "$SVC_A"
service_line "$SVC_B" "session required $MODULE config=$POLICY_B cgroup_root=$CG_ROOT bpffs=$BPFFS state_dir=$STATE"
# udp USER ADDR: a datagram from inside USER's sandbox; 0 sent, 2 refused (EPERM).
udp() {
	as_sandboxed "$(id -u "$1")" "$NETPROBE" udp-send "$2" 9
}

stdin_fifo_open
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/a.out" '^opened' "$PAMSESSION" "$SVC_A" "$U1" hold ||
	die "$U1 opens a session with policy A" "$(cat "$SCRATCH/a.out")"
expect_rc "$U1's sandbox (policy A) refuses 127.0.0.3" 2 udp "$U1" 127.0.0.3
expect_rc "... and lets 127.0.0.4 through" 0 udp "$U1" 127.0.0.4

# ---- a second service with another config= ---------------------------------------------------
log_mark
expect_rc "a session of $U1 with config=B is refused (PAM_SESSION_ERR)" 14 \
	"$PAMSESSION" "$SVC_B" "$U1" open
if log_has "config=$POLICY[; ].*config=$POLICY_B"; then
	pass "the log line names both policy files"
else
	fail "the log line names both policy files" "got: $(log_since_mark | tail -3)"
fi
expect_rc "$U1's sandbox keeps policy A: 127.0.0.3 still refused" 2 udp "$U1" 127.0.0.3
expect_rc "... and policy B was not applied: 127.0.0.4 still goes through" 0 udp "$U1" 127.0.0.4
sessions() {
	"${CTL[@]}" status --json | python3 -c '
import json, sys
print([len(s["sessions"]) for s in json.load(sys.stdin)["sandboxes"] if s["uid"] == int(sys.argv[1])])' "$1"
}
check "the refused session left the ledger at one session" test "$(sessions "$UID1")" = "[1]"

# ---- other roots -------------------------------------------------------------------------------
service_line "$SVC_B" "session required $MODULE config=$POLICY cgroup_root=${CG_ROOT}x bpffs=$BPFFS state_dir=$STATE"
log_mark
expect_rc "a session of $U1 with another cgroup_root= is refused" 14 \
	"$PAMSESSION" "$SVC_B" "$U1" open
check "... the log line names both cgroup roots" log_has "cgroup_root=$CG_ROOT[; ].*cgroup_root=${CG_ROOT}x"
check "... and no cgroup was made under the other root" test ! -e "$CG2/${CG_ROOT}x"
service_line "$SVC_B" "session required $MODULE config=$POLICY cgroup_root=$CG_ROOT bpffs=${BPFFS}x state_dir=$STATE"
on_exit rm -rf "${BPFFS}x"
log_mark
expect_rc "a session of $U1 with another bpffs= is refused" 14 \
	"$PAMSESSION" "$SVC_B" "$U1" open
check "... the log line names both bpffs" log_has "bpffs=$BPFFS[; ].*bpffs=${BPFFS}x"
check "... and no link was pinned under the other bpffs" \
	test -z "$(find "${BPFFS}x" -name 'egress-*' 2>/dev/null)"
expect_rc "$U1's sandbox still has policy A" 2 udp "$U1" 127.0.0.3

# ---- reload: each sandbox's own file ----------------------------------------------------------
service_line "$SVC_B" "session required $MODULE config=$POLICY_B cgroup_root=$CG_ROOT bpffs=$BPFFS state_dir=$STATE"
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/b.out" '^opened' "$PAMSESSION" "$SVC_B" "$U2" hold ||
	die "$U2 opens a session with policy B" "$(cat "$SCRATCH/b.out")"
expect_rc "$U2's sandbox (policy B) refuses 127.0.0.4" 2 udp "$U2" 127.0.0.4
expect_rc "... and lets 127.0.0.3 through" 0 udp "$U2" 127.0.0.3

policy "* egress deny daddr=127.0.0.5"
policy_b "* egress deny daddr=127.0.0.6"
ctl reload # CTL names --config A
verdict "reload --config A: $U1's sandbox is updated" "$(has "^$U1 \(uid $UID1\): updated$" "$OUT" && echo 1)"
verdict "reload --config A: $U2's sandbox (made from B) is skipped" \
	"$(has "^$U2 \(uid $UID2\): skipped \(made from $POLICY_B\)$" "$OUT" && echo 1)"
expect_rc "after reload --config A: $U1 gets A's new rule (127.0.0.5 refused)" 2 udp "$U1" 127.0.0.5
expect_rc "... and not the old one (127.0.0.3 goes through)" 0 udp "$U1" 127.0.0.3
expect_rc "after reload --config A: $U2 keeps B's old rule (127.0.0.4 refused)" 2 udp "$U2" 127.0.0.4
expect_rc "... and B's new one is not applied yet (127.0.0.6 goes through)" 0 udp "$U2" 127.0.0.6

# Without --config, each sandbox gets its own file: B for U2, never the default policy file.
NOCONF=("$CGBPFCTL" --cgroup-root "$CG_ROOT" --bpffs "$BPFFS" --state-dir "$STATE")
"${NOCONF[@]}" reload >"$SCRATCH/reload.out" 2>&1
RC=$? OUT=$(cat "$SCRATCH/reload.out") ERR=
verdict "reload without --config succeeds" "$([ "$RC" = 0 ] && echo 1)"
verdict "... $U2's sandbox is updated from its own file" \
	"$(has "^$U2 \(uid $UID2\): updated$" "$OUT" && echo 1)"
verdict "... $U1's is unchanged" "$(has "^$U1 \(uid $UID1\): unchanged$" "$OUT" && echo 1)"
expect_rc "after reload: $U2 gets B's new rule (127.0.0.6 refused)" 2 udp "$U2" 127.0.0.6
expect_rc "... and not B's old one (127.0.0.4 goes through)" 0 udp "$U2" 127.0.0.4
expect_rc "... and $U1 still has A's (127.0.0.5 refused)" 2 udp "$U1" 127.0.0.5
check "status names each sandbox's policy file" sh -c "
	'${CGBPFCTL}' --cgroup-root '$CG_ROOT' --bpffs '$BPFFS' --state-dir '$STATE' status |
		grep -F 'config     $POLICY_B' &&
	'${CGBPFCTL}' --cgroup-root '$CG_ROOT' --bpffs '$BPFFS' --state-dir '$STATE' status |
		grep -F 'config     $POLICY'"

stdin_fifo_close
wait_clean() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ ! -e "$(ledger_of "$1")" ] && return 0
		sleep 0.1
	done
	return 1
}
check "$U1's session closes and its sandbox goes" wait_clean "$UID1"
check "$U2's session closes and its sandbox goes" wait_clean "$UID2"
assert_clean "$U1 after logout" "$UID1"
assert_clean "$U2 after logout" "$UID2"
