#!/usr/bin/env bash
# Failure in the middle of open leaves nothing; the user cannot escape, detach or read our
# state; valgrind finds no leak, invalid access or stray descriptor.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
start_syslog
sandbox_setup

U=$(mkuser cgf)
UID_U=$(id -u "$U")
SVC=cgbpf-t40-$$
FSVC=cgbpf-t40f-$$
service "$SVC"
policy "* ingress deny" "* egress deny" "* sock_create deny"

# The anchor is made by the first open; make it now so that attach:3 hits the user's third.
expect_rc "a first open and close (sets up the anchor)" 0 "$PAMSESSION" "$SVC" "$U" open-close

fault_case() {
	local spec=$1
	printf 'session required %s %s fault=%s\n' "$FAULT_MODULE" "$ARGS" "$spec" >"/etc/pam.d/$FSVC"
	on_exit rm -f "/etc/pam.d/$FSVC"
	log_mark
	expect_rc "fault $spec: open fails with PAM_SESSION_ERR" 14 "$PAMSESSION" "$FSVC" "$U" open
	check "fault $spec: the log says why" log_has "injected fault"
	assert_clean "fault $spec" "$UID_U"
}
fault_case attach:3
fault_case attach:1
fault_case move:1
fault_case ledger:1

# A failure while another session is live must not touch that session's sandbox.
stdin_fifo_open
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/live.out" '^opened' "$PAMSESSION" "$SVC" "$U" hold
LIVE=$BG_PID
before=$(bpftool cgroup show "$(cg_of "$UID_U")" | sort)
policy "* ingress deny" "* egress deny dport=9" "* sock_create deny"
printf 'session required %s %s fault=ledger:1\n' "$FAULT_MODULE" "$ARGS" >"/etc/pam.d/$FSVC"
expect_rc "a failing second open beside a live session" 14 "$PAMSESSION" "$FSVC" "$U" open
after=$(bpftool cgroup show "$(cg_of "$UID_U")" | sort)
if [ "$before" = "$after" ]; then pass "the live sandbox's attachments are exactly as before"; else
	fail "the live sandbox's attachments are exactly as before" "before: $before after: $after"; fi
n=$(grep -c '^session ' "$(ledger_of "$UID_U")")
if [ "$n" = 1 ]; then pass "the ledger still holds just the live session"; else
	fail "the ledger still holds just the live session" "saw $n"; fi

# ---- escape attempts from inside the sandbox ------------------------------------------------------
CGD=$(cg_of "$UID_U")
in_sb() { as_sandboxed "$UID_U" sh -c "$1" >/dev/null 2>&1; }
check_fails "the user cannot move itself to the root cgroup" in_sb "echo \$\$ > $CG2/cgroup.procs"
check_fails "the user cannot move itself to cgroup_root" in_sb "echo \$\$ > $CG2/$CG_ROOT/cgroup.procs"
check_fails "the user cannot make a child cgroup" in_sb "mkdir $CGD/escape"
check_fails "the user cannot list the pin directory" in_sb "ls $(pins_of "$UID_U")"
check_fails "the user cannot remove a pinned link" in_sb "rm -f $(pins_of "$UID_U")/egress-*"
check_fails "the user cannot read the ledger" in_sb "cat $(ledger_of "$UID_U")"
id=$(bpftool cgroup show "$CGD" | awk '$2 ~ /egress/ {print $1; exit}')
check_fails "the user cannot detach a program with bpftool" \
	in_sb "bpftool cgroup detach $CGD egress id $id"
check "after the attempts the sandbox still has its three programs and $EARLY early ones" \
	test "$(attached "$UID_U")" = $((3 + EARLY))
expect_rc "and a socket is still refused inside" 2 as_sandboxed "$UID_U" "$NETPROBE" socket inet stream
kill -TERM "$LIVE"
expect_rc "the live session closes" 0 bg_wait "$LIVE"
assert_clean "after the escape attempts" "$UID_U"

# ---- a teardown that died half-way: the ledger is never trusted alone ---------------------------
# The last close detached the links, then died before removing the ledger (SIGKILL, OOM).
policy "* egress deny" "* sock_create deny"
expect_rc "open (the opener exits, its session goes stale)" 0 pamtester "$SVC" "$U" open_session
rm -f "$(pins_of "$UID_U")"/*
check "the links are gone while the ledger still records them" \
	test "$(attached "$UID_U")" = 0 -a "$(grep -c '^attach ' "$(ledger_of "$UID_U")")" = $((2 + EARLY))
expect_rc "the next open of the user" 0 pamtester "$SVC" "$U" open_session
check "it attached the programs again instead of trusting the ledger" \
	test "$(attached "$UID_U")" = $((2 + EARLY))
expect_rc "and a socket is refused again" 2 as_sandboxed "$UID_U" "$NETPROBE" socket inet stream
check "the ledger records just the 2 + $EARLY new attachments" \
	test "$(grep -c '^attach ' "$(ledger_of "$UID_U")")" = $((2 + EARLY))
expect_rc "close" 0 pamtester "$SVC" "$U" close_session
assert_clean "after a half-done teardown" "$UID_U"

# ---- valgrind over the PAM stack ----------------------------------------------------------------
vg() {
		local name=$1 want=$2 out=$SCRATCH/vg.$RANDOM
	shift 2
	valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
		--error-exitcode=99 --track-fds=yes --suppressions=tests/valgrind.supp \
		--log-file="$out" "$@" >/dev/null 2>&1
	local rc=$?
	if [ "$rc" = "$want" ]; then pass "valgrind: $name: exit $want, no error or leak"; else
		fail "valgrind: $name" "exit $rc (want $want):"
		grep -vE '^==[0-9]+== *$|WARNING: unhandled eBPF' "$out" | head -60 | sed 's/^/    vg| /'
	fi
	# Descriptors open at exit that the process did not inherit: the module's leaks.
	local leaked
	leaked=$(awk '/Open file descriptor [0-9]+:/ { fd = $5; getline; if ($0 !~ /inherited from parent/) print fd, $0 }' "$out")
	if grep -q 'FILE DESCRIPTORS' "$out" && [ -z "$leaked" ]; then
		pass "valgrind: $name: no descriptor left open"
	else
		fail "valgrind: $name: no descriptor left open" "$leaked"
	fi
}
policy "* ingress deny" "* egress deny daddr=127.0.0.3 dport=9" "* sock_create deny type=raw"
vg "open+close in one process" 0 "$PAMSESSION" "$SVC" "$U" open-close
vg "open in one process" 0 "$PAMSESSION" "$SVC" "$U" open
vg "close in another process" 0 "$PAMSESSION" "$SVC" "$U" close
assert_clean "after valgrind's sessions" "$UID_U"
policy "* egress deny daddr=10.0.0.0/33"
vg "a refused policy" 14 "$PAMSESSION" "$SVC" "$U" open
printf 'session required %s %s bogus=1\n' "$MODULE" "$ARGS" >"/etc/pam.d/$SVC"
vg "a refused argument" 14 "$PAMSESSION" "$SVC" "$U" open
assert_clean "after valgrind's refusals" "$UID_U"
