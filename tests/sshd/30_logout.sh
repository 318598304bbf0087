#!/usr/bin/env bash
# What a real ssh logout leaves: with on_logout=keep a process left behind (setsid, nohup) stays
# in user-<UID> and stays filtered until it exits, and its sandbox is then removed by cgbpfctl gc
# or by the user's next open/close; with on_logout=kill it dies at the last logout (not before)
# and everything goes; and a plain logout removes the sandbox every time.
# shellcheck source=tests/sshd/sshd-lib.sh
. "$(dirname "$0")/sshd-lib.sh"
need_root
need_sshd
start_syslog
sandbox_setup

U=$(login_user cglo) || die login_user "cannot create the test user"
UID_U=$(id -u "$U")
sshd_setup
policy "* egress allow daddr=127.0.0.2" "* egress deny"
sshd_pam required on_logout=keep
sshd_start "$U"
CG=$(cg_of "$UID_U")

listen_udp 127.0.0.3 || die listen_udp "no UDP listener on 127.0.0.3"
P3=$PORT
expect_rc "control: the user outside any sandbox sends UDP to 127.0.0.3" 0 \
	as_user "$UID_U" "$NP" udp-send 127.0.0.3 "$P3"

# kill_in_cg PID: kills PID if it is still one of the sandbox's processes (never a reused pid).
kill_in_cg() {
	pid_in_cg "$UID_U" "$1" && kill -KILL "$1" 2>/dev/null
	return 0
}
gone() { ! kill -0 "$1" 2>/dev/null; }
lines() { wc -l <"$1" 2>/dev/null || echo 0; }

# ---- on_logout=keep: a left-behind loop stays sandboxed -----------------------------------------
LOOP_OUT=$SHARED/loop.out
LOOP_PIDF=$SHARED/loop.pid
log_mark
expect_rc "keep: a login leaves a setsid/nohup loop of UDP sends behind" 0 \
	ssh_as "$U" "setsid nohup sh -c 'echo \$\$ > $LOOP_PIDF; while :; do $NP udp-send 127.0.0.3 $P3 >/dev/null 2>&1; echo \$? >> $LOOP_OUT; sleep 0.2; done' >/dev/null 2>&1 </dev/null &"
wait_until 5 test -s "$LOOP_PIDF"
LOOP_PID=$(cat "$LOOP_PIDF" 2>/dev/null)
[ -n "$LOOP_PID" ] || die "keep: the loop started" "no pid in $LOOP_PIDF"
on_exit kill_in_cg "$LOOP_PID"
check "keep: the logout is logged, keeping the left-behind process sandboxed" \
	log_has "last session of uid $UID_U closed; $CG keeps running processes sandboxed"
expect_eq "keep: after logout the ledger counts no session" 0 "$(sessions_of "$UID_U")"
check "keep: the loop outlived the logout" kill -0 "$LOOP_PID"
check "keep: the loop is still in user-$UID_U" pid_in_cg "$UID_U" "$LOOP_PID"
n=$(attached "$UID_U")
if [ "$n" -ge 1 ]; then pass "keep: the programs stay attached ($n)"; else
	fail "keep: the programs stay attached" "bpftool sees $n"; fi
check "keep: the links stay pinned" test -n "$(ls -A "$(pins_of "$UID_U")" 2>/dev/null)"
mark=$(lines "$LOOP_OUT")
wait_until 5 test "$(lines "$LOOP_OUT")" -ge $((mark + 4))
after=$(tail -n "+$((mark + 1))" "$LOOP_OUT" | sort -u | tr '\n' ' ')
expect_eq "keep: the loop's sends after logout still fail with EPERM (2)" "2 " "$after"
expect_eq "keep: and so did every send before it" "2 " "$(sort -u "$LOOP_OUT" | tr '\n' ' ')"
"${CTL[@]}" gc >"$SCRATCH/gc1.out" 2>&1
check "keep: cgbpfctl gc leaves a sandbox whose process still runs" test -d "$CG"
check "keep: and the loop still runs in it" pid_in_cg "$UID_U" "$LOOP_PID"
check "keep: cgbpfctl status lists the kept sandbox" grep -q "$U" <("${CTL[@]}" status 2>&1)

kill -KILL "$LOOP_PID"
check "keep: the loop is gone once killed" wait_until 5 gone "$LOOP_PID"
check "keep: the sandbox is still there until somebody reclaims it" test -d "$CG"
"${CTL[@]}" gc >"$SCRATCH/gc2.out" 2>&1
rc=$?
expect_eq "keep: cgbpfctl gc exits 0" 0 "$rc"
check "keep: cgbpfctl gc says it removed the sandbox" grep -q "removed sandbox: user $U (uid $UID_U)" "$SCRATCH/gc2.out"
assert_clean "keep: after the loop exited and gc ran" "$UID_U"

# ---- keep, then the user's next open/close reclaims it ------------------------------------------
log_mark
out=$(ssh_as "$U" 'setsid sleep 300 >/dev/null 2>&1 </dev/null & echo $!')
SLEEP_PID=$out
if [ -n "$SLEEP_PID" ] && [ "$SLEEP_PID" -gt 0 ] 2>/dev/null; then
	on_exit kill_in_cg "$SLEEP_PID"
	pass "keep: a login leaves a setsid sleep behind"
else
	die "keep: a login leaves a setsid sleep behind" "got '$out'"
fi
check "keep: the logout keeps the sleep's sandbox" \
	log_has "last session of uid $UID_U closed; $CG keeps running processes sandboxed"
check "keep: the sleep is still in user-$UID_U after logout" pid_in_cg "$UID_U" "$SLEEP_PID"
kill -KILL "$SLEEP_PID"
wait_until 5 gone "$SLEEP_PID"
check "keep: after the sleep exited the sandbox is still there" test -d "$CG"
# The next open/close through PAM alone (pamtester has no children, so its close is never
# confused by a dying sshd child; see the last section).
service "$SVC-pt" on_logout=keep
expect_rc "keep: the user's next open and close" 0 \
	pamtester "$SVC-pt" "$U" open_session close_session
assert_clean "keep: after the next open/close of the user" "$UID_U"

# ---- on_logout=kill: left-behind processes die at the last logout, not before --------------------
sshd_pam required on_logout=kill
if ssh_hold "$U"; then
	H_PID=$HOLD_PID H_FD=$HOLD_FD
	pass "kill: a first session is held open"
else
	die "kill: a first session is held open" "$(cat "$HOLD_OUT")"
fi
rm -f "$LOOP_OUT" "$LOOP_PIDF"
out=$(ssh_as "$U" "setsid sleep 300 >/dev/null 2>&1 </dev/null & echo \$!; setsid nohup sh -c 'echo \$\$ > $LOOP_PIDF; while :; do $NP udp-send 127.0.0.3 $P3 >/dev/null 2>&1; echo \$? >> $LOOP_OUT; sleep 0.2; done' >/dev/null 2>&1 </dev/null &")
SLEEP_PID=$out
wait_until 5 test -s "$LOOP_PIDF"
LOOP_PID=$(cat "$LOOP_PIDF" 2>/dev/null)
if [ -n "$SLEEP_PID" ] && [ -n "$LOOP_PID" ]; then
	on_exit kill_in_cg "$SLEEP_PID"
	on_exit kill_in_cg "$LOOP_PID"
	pass "kill: a second login leaves a sleep and a loop behind"
else
	die "kill: a second login leaves a sleep and a loop behind" "sleep '$out', loop '$LOOP_PID'"
fi
wait_until 5 test "$(sessions_of "$UID_U")" = 1
expect_eq "kill: the second logout leaves one session" 1 "$(sessions_of "$UID_U")"
sleep 0.3
check "kill: not the last logout: the sleep lives on" pid_in_cg "$UID_U" "$SLEEP_PID"
check "kill: not the last logout: the loop lives on" pid_in_cg "$UID_U" "$LOOP_PID"
log_mark
expect_rc "kill: the last logout" 0 ssh_release "$H_FD" "$H_PID"
check "kill: the last logout kills the sleep" wait_until 5 gone "$SLEEP_PID"
check "kill: the last logout kills the loop" wait_until 5 gone "$LOOP_PID"
wait_until 5 is_clean "$UID_U"
assert_clean "kill: after the last logout" "$UID_U"
check "kill: the close is logged with the sandbox removed" \
	log_has "session closed for user $U \\(uid $UID_U\\).*0 sessions left, sandbox removed"

# ---- a plain logout removes the sandbox, every time -----------------------------------------------
# sshd's privileged process closes the PAM session as soon as its unprivileged child has hung
# up, while that child may still be exiting inside user-<UID>: it must not count as left behind.
# On an idle machine the child is nearly always gone in time (about 1 login in 40 loses the
# race); busy CPUs preempt it often enough for 10 logins to show the race when it is there.
sshd_pam required on_logout=keep
busy=()
for ((b = 0; b <= $(nproc); b++)); do
	timeout 60 sh -c 'while :; do :; done' &
	busy+=("$!")
	on_exit stop_pid "$!"
done
left=0 detail="" unsandboxed=0
for ((i = 1; i <= 10; i++)); do
	log_mark
	cgline=$(ssh_as "$U" 'tail -n 1 /proc/self/cgroup')
	[ "$cgline" = "0::/$CG_ROOT/user-$UID_U" ] || unsandboxed=$((unsandboxed + 1))
	if ! wait_until 1 is_clean "$UID_U"; then
		left=$((left + 1))
		if [ -z "$detail" ]; then
			detail="login $i: $(log_since_mark | grep -o 'last session of uid.*' | head -n 1);"
			while read -r p; do
				detail="$detail still in the cgroup: pid $p $(cut -d' ' -f2,3 "/proc/$p/stat" 2>/dev/null)"
			done < <(cat "$CG/cgroup.procs" 2>/dev/null)
		fi
		"${CTL[@]}" gc >/dev/null 2>&1
	fi
done
stop_pid "${busy[@]}"
expect_eq "10 plain ssh logins all ran in user-$UID_U" 0 "$unsandboxed"
if [ "$left" -eq 0 ]; then
	pass "10 plain ssh logouts in a row each removed the sandbox"
else
	fail "10 plain ssh logouts in a row each removed the sandbox" "$left of 10 left it behind; $detail"
fi
