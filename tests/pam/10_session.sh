#!/usr/bin/env bash
# The core of a session through the real PAM stack: open, sandbox proven by real traffic and
# real sockets, close (in the same process and in another), shared sandboxes, stale sessions.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
start_syslog
sandbox_setup

U=$(mkuser cgs)
UID_U=$(id -u "$U")
SVC=cgbpf-t10-$$
service "$SVC"

# ---- one process: open_session close_session --------------------------------------------------
policy "* egress deny" "* sock_create deny type=raw"
log_mark
expect_rc "pamtester open_session close_session in one process" 0 \
	pamtester "$SVC" "$U" open_session close_session
check "open is logged at INFO with user, uid, cgroup and hooks" \
	log_has "session opened for user $U \\(uid $UID_U\\).*cgroup /$CG_ROOT/user-$UID_U, hooks egress:filter.*sock_create:filter"
check "close is logged with the sandbox removed" \
	log_has "session closed for user $U \\(uid $UID_U\\).*sandbox removed"
assert_clean "open+close in one process" "$UID_U"

# ---- two processes: open_session, then close_session ------------------------------------------
listen_tcp 127.0.0.1
TCP_PORT=$PORT
expect_rc "the user reaches the listener before any session" 0 \
	as_user "$UID_U" "$NETPROBE" tcp-connect 127.0.0.1 "$TCP_PORT" 1000

expect_rc "pamtester open_session (process 1)" 0 pamtester "$SVC" "$U" open_session
check "the user's cgroup exists" test -d "$(cg_of "$UID_U")"
n=$(attached "$UID_U")
if [ "$n" -eq $((2 + EARLY)) ]; then pass "bpftool cgroup show lists 2 + $EARLY early programs on user-$UID_U"; else
	fail "bpftool cgroup show lists 2 + $EARLY early programs on user-$UID_U" "saw $n: $(bpftool cgroup show "$(cg_of "$UID_U")" 2>&1)"; fi
check "links are pinned in a root-only directory" \
	test "$(stat -c '%u %a' "$(pins_of "$UID_U")")" = "0 700"
check "the cgroup is root-owned and not writable by the user" \
	test "$(stat -c '%u %a' "$(cg_of "$UID_U")")" = "0 755"
check "the ledger records the session" grep -q '^session ' "$(ledger_of "$UID_U")"
expect_rc "egress deny: a TCP connect from inside the sandbox fails with EPERM" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" tcp-connect 127.0.0.1 "$TCP_PORT" 1000
expect_rc "egress deny: a UDP send from inside the sandbox gets EPERM" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" udp-send 127.0.0.1 "$TCP_PORT"
expect_rc "sock_create deny type=raw: a raw socket is refused with EPERM, even for root" 2 \
	root_in_sandbox "$UID_U" "$NETPROBE" socket inet raw icmp
expect_rc "root outside the sandbox still opens a raw socket" 0 \
	"$NETPROBE" socket inet raw icmp
expect_rc "root inside the sandbox still opens a TCP socket" 0 \
	root_in_sandbox "$UID_U" "$NETPROBE" socket inet stream
expect_rc "the same user outside the sandbox still connects" 0 \
	as_user "$UID_U" "$NETPROBE" tcp-connect 127.0.0.1 "$TCP_PORT" 1000
expect_rc "pamtester close_session (process 2) cleans up from the ledger" 0 \
	pamtester "$SVC" "$U" close_session
assert_clean "open and close in two processes" "$UID_U"
expect_rc "a fresh process's traffic flows again" 0 \
	as_user "$UID_U" "$NETPROBE" tcp-connect 127.0.0.1 "$TCP_PORT" 1000

# ---- sock_create deny ---------------------------------------------------------------------------
policy "* sock_create deny"
expect_rc "open with * sock_create deny" 0 pamtester "$SVC" "$U" open_session
expect_rc "socket(AF_INET, SOCK_STREAM) fails with EPERM inside" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" socket inet stream
expect_rc "socket(AF_INET6, SOCK_DGRAM) fails with EPERM inside" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" socket inet6 dgram
expect_rc "socket(AF_UNIX) is not an inet socket and still works" 0 \
	as_sandboxed "$UID_U" "$NETPROBE" socket unix stream
expect_rc "socket(AF_INET) works outside" 0 as_user "$UID_U" "$NETPROBE" socket inet stream
expect_rc "close" 0 pamtester "$SVC" "$U" close_session
assert_clean "sock_create deny" "$UID_U"

# ---- a program rule: a compiled object decides --------------------------------------------------
OBJDIR=$(tmpdir_root)
install -m 0644 "$TEST_BPF/deny_port.bpf.o" "$OBJDIR/deny_port.bpf.o"
policy "* egress program $OBJDIR/deny_port.bpf.o:deny_port_9"
expect_rc "open with a program rule" 0 pamtester "$SVC" "$U" open_session
n=$(attached "$UID_U")
if [ "$n" -eq 1 ]; then pass "the object's program is attached"; else
	fail "the object's program is attached" "saw $n"; fi
expect_rc "the object drops UDP to port 9 (EPERM)" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" udp-send 127.0.0.1 9
expect_rc "the object drops TCP to port 9 (SYN never answered)" 3 \
	as_sandboxed "$UID_U" "$NETPROBE" tcp-connect 127.0.0.1 9 800
expect_rc "the object lets other ports through" 0 \
	as_sandboxed "$UID_U" "$NETPROBE" tcp-connect 127.0.0.1 "$TCP_PORT" 1000
expect_rc "close" 0 pamtester "$SVC" "$U" close_session
assert_clean "program rule" "$UID_U"
expect_rc "port 9 is merely closed again afterwards (ECONNREFUSED)" 1 \
	as_user "$UID_U" "$NETPROBE" tcp-connect 127.0.0.1 9 800

# ---- program rules on the socket-address hooks (connect4, sendmsg4) -----------------------------
install -m 0644 "$TEST_BPF/sock_addr.bpf.o" "$OBJDIR/sock_addr.bpf.o"
policy "* connect4 program $OBJDIR/sock_addr.bpf.o" \
	"* sendmsg4 program $OBJDIR/sock_addr.bpf.o:deny_sendmsg4_port_9"
expect_rc "open with connect4 and sendmsg4 program rules" 0 pamtester "$SVC" "$U" open_session
n=$(attached "$UID_U")
if [ "$n" -eq 2 ]; then pass "the two socket-address programs are attached"; else
	fail "the two socket-address programs are attached" "saw $n"; fi
expect_rc "the connect4 program refuses a TCP connect to port 9 at once (EPERM)" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" tcp-connect 127.0.0.1 9 3000
expect_rc "the sendmsg4 program refuses a datagram to port 9 (EPERM)" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" udp-send 127.0.0.1 9
expect_rc "and other ports connect" 0 \
	as_sandboxed "$UID_U" "$NETPROBE" tcp-connect 127.0.0.1 "$TCP_PORT" 1000
expect_rc "close" 0 pamtester "$SVC" "$U" close_session
assert_clean "socket-address program rules" "$UID_U"

# ---- two live sessions share one sandbox --------------------------------------------------------
policy "* egress deny"
stdin_fifo_open
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/s1.out" '^opened' "$PAMSESSION" "$SVC" "$U" hold
P1=$BG_PID
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/s2.out" '^opened' "$PAMSESSION" "$SVC" "$U" hold
P2=$BG_PID
n=$(grep -c '^session ' "$(ledger_of "$UID_U")" 2>/dev/null)
if [ "$n" = 2 ]; then pass "the ledger counts two sessions"; else
	fail "the ledger counts two sessions" "saw $n"; fi
n=$(attached "$UID_U")
if [ "$n" = $((1 + EARLY)) ]; then pass "the two sessions share one set of attachments (egress + $EARLY early)"; else
	fail "the two sessions share one set of attachments (egress + $EARLY early)" "saw $n"; fi
check "both session processes are in the cgroup" \
	grep -qx "$P1" "$(cg_of "$UID_U")/cgroup.procs"
check "the second session process is in the cgroup" \
	grep -qx "$P2" "$(cg_of "$UID_U")/cgroup.procs"
kill -TERM "$P1"
expect_rc "the first session closes" 0 bg_wait "$P1"
check "after the first close the sandbox is still there" test -d "$(cg_of "$UID_U")"
n=$(attached "$UID_U")
if [ "$n" = $((1 + EARLY)) ]; then pass "after the first close the attachments stay"; else
	fail "after the first close the attachments stay" "saw $n"; fi
expect_rc "and still refuses traffic (EPERM)" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" tcp-connect 127.0.0.1 "$TCP_PORT" 800
kill -TERM "$P2"
expect_rc "the second session closes" 0 bg_wait "$P2"
assert_clean "the last of two sessions closed" "$UID_U"

# ---- a SIGKILLed session is reclaimed by the next open ------------------------------------------
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/k.out" '^opened' "$PAMSESSION" "$SVC" "$U" hold
PK=$BG_PID
kill -KILL "$PK"
wait "$PK" 2>/dev/null
check "the killed session is still in the ledger" grep -q "^session $PK " "$(ledger_of "$UID_U")"
log_mark
expect_rc "the next open of the user" 0 pamtester "$SVC" "$U" open_session
check "the stale session was reclaimed" log_has "reclaiming stale session of uid $UID_U \\(pid $PK"
n=$(grep -c '^session ' "$(ledger_of "$UID_U")")
if [ "$n" = 1 ]; then pass "only the new session is left in the ledger"; else
	fail "only the new session is left in the ledger" "saw $n"; fi
expect_rc "close" 0 pamtester "$SVC" "$U" close_session
assert_clean "after reclaiming a SIGKILLed session" "$UID_U"

# ---- a user with no rule: PAM_IGNORE, no sandbox --------------------------------------------------
policy "nosuchuser-xyz egress deny"
service_line "$SVC-req" "session required $MODULE $ARGS
session required pam_permit.so"
expect_rc "a user without rules is not sandboxed and the session opens" 0 \
	"$PAMSESSION" "$SVC-req" "$U" open-close
check "no cgroup was made for the unmatched user" test ! -e "$(cg_of "$UID_U")"
# The module's own return is seen through a jump: ignore skips pam_deny, anything else hits it.
service_line "$SVC-ign" "session [ignore=1 default=bad] $MODULE $ARGS
session requisite pam_deny.so
session required pam_permit.so"
expect_rc "the module returns PAM_IGNORE for a user without rules" 0 \
	"$PAMSESSION" "$SVC-ign" "$U" open-close
policy "* egress deny"
expect_rc "and not PAM_IGNORE for a user with rules (pam_deny then fails the stack)" 6 \
	"$PAMSESSION" "$SVC-ign" "$U" open
expect_rc "close that one" 0 "$PAMSESSION" "$SVC" "$U" close
assert_clean "after the PAM_IGNORE checks" "$UID_U"

# ---- libbpf's voice goes to syslog, never to the terminal; the caller's printer comes back -----
OBJDIR2=$(tmpdir_root)
install -m 0644 "$TEST_BPF/bad_verifier.bpf.o" "$OBJDIR2/bad_verifier.bpf.o"
policy "* egress program $OBJDIR2/bad_verifier.bpf.o"
log_mark
expect_rc "a program the verifier refuses: nothing on the terminal, the app's printer restored" 0 \
	"$HELPERS/libbpf_print_check" "$SVC" "$U"
check "the refusal is logged with the policy line" \
	log_has "session refused for user $U: $POLICY:1: program .*bad_verifier.bpf.o.*refused to load"
check "libbpf's own words (the verifier log) went to syslog" log_has "libbpf|verifier|invalid"
assert_clean "after a verifier refusal" "$UID_U"
policy "* egress deny"
expect_rc "a successful open: nothing on the terminal, the app's printer restored" 0 \
	"$HELPERS/libbpf_print_check" "$SVC" "$U"
expect_rc "close it" 0 "$PAMSESSION" "$SVC" "$U" close
assert_clean "after the printer check" "$UID_U"

# ---- bpffs is mounted at /sys/fs/bpf when nothing is mounted there -------------------------------
# In a private mount namespace, so that the machine's own bpffs (if any) is not touched.
out=$(unshare -m --propagation private bash -c '
	umount /sys/fs/bpf 2>/dev/null
	if [ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ]; then echo "still mounted"; exit 1; fi
	"$1" "$2" "$3" open-close || exit 2
	stat -f -c %T /sys/fs/bpf' _ "$PAMSESSION" "$SVC" "$U" 2>&1)
if [ "$out" = bpf_fs ]; then pass "with nothing at /sys/fs/bpf, open mounts bpffs there"; else
	fail "with nothing at /sys/fs/bpf, open mounts bpffs there" "$out"; fi
assert_clean "after the bpffs mount check" "$UID_U"
