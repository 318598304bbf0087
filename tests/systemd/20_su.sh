#!/usr/bin/env bash
# su - USER by root from its own ssh session, with pam_cgbpf after "@include common-session" in
# /etc/pam.d/su: logind makes no new session (the caller sits in root's scope), so placement=auto
# gives the su'd process tree tester's own cgroup, sandboxed by tester's rules; nothing is left
# afterwards and root's session is untouched. A user whose sandbox lives in one placement and
# who gets a session needing the other is refused, never left unsandboxed.
# shellcheck source=tests/systemd/sd-sandbox-lib.sh
. "$(dirname "$0")/sd-sandbox-lib.sh"

sd_suite_start 20_su
listen_tcp 127.0.0.2 || die listen_tcp "no listener on 127.0.0.2"
P2=$PORT
listen_tcp 127.0.0.3 || die listen_tcp "no listener on 127.0.0.3"
P3=$PORT
sd_policy "tester egress allow daddr=127.0.0.2" "tester egress deny"
sd_pam_line su after "" || die sd_pam_line "cannot edit /etc/pam.d/su in the container"
sd_pam_line sshd after "" || die sd_pam_line "cannot edit /etc/pam.d/sshd in the container"
check "Debian's su-l includes su (so su - gets the module too)" \
	sd_exec grep -qE '^session[[:space:]]+include[[:space:]]+su$' /etc/pam.d/su-l

su_tester() { # CMD: root's ssh login runs su - tester -c CMD
	sd_ssh root "su - tester -c '$1'" </dev/null
}
expect_rc "control: root's own login reaches 127.0.0.3 (TCP)" 0 \
	sd_ssh root "$NP" tcp-connect 127.0.0.3 "$P3" 2000 </dev/null
expect_rc "su - tester -c CMD by root: denied traffic refused (EPERM)" 2 \
	su_tester "$NP udp-send 127.0.0.3 $P3"
check "su - tester -c CMD by root: denied TCP never connects" \
	never_connects su_tester "$NP tcp-connect 127.0.0.3 $P3 1000"
expect_rc "su - tester -c CMD by root: allowed traffic goes through" 0 \
	su_tester "$NP tcp-connect 127.0.0.2 $P2 2000"
cg=$(su_tester 'sed -n "s/^0:://p" /proc/self/cgroup')
check "su - tester runs CMD in tester's own cgroup (own placement), not in root's scope" \
	test "$cg" = /pam_cgbpf/user-1000
expect_rc "root's session is untouched after su returns: 127.0.0.3 still reachable" 0 \
	sd_ssh root "su - tester -c true; $NP tcp-connect 127.0.0.3 $P3 2000" </dev/null
check "after su: cgbpfctl status lists no sandbox" test "$(status_sandboxes)" = 0
check "after su: tester's own cgroup is gone" sd_exec test ! -e /sys/fs/cgroup/pam_cgbpf/user-1000
check "after su: no pins of tester are left" sd_exec test ! -e /sys/fs/bpf/pam_cgbpf/user-1000

# ---- mixed placements: one sandbox, one set of settings -----------------------------------------
hold_open A tester || die "ssh login A" "the login did not come up"
check "tester's ssh login has its sandbox on the slice (systemd placement)" \
	has_effective "/sys/fs/cgroup$HOLD_CG_A" cgroup_inet_egress
journal_mark "$SCRATCH/cursor"
out=$(su_tester 'echo CMD-RAN' 2>&1)
rc=$?
check "while tester's systemd sandbox lives, root's su - tester is refused" \
	test "$rc" != 0
check "... and CMD does not run" not_ran "$out"
jr=$(journal_since "$SCRATCH/cursor")
check "... and the journal's line names both placements" \
	grep -E 'pam_cgbpf.*placement.*(systemd.*own|own.*systemd)' <<<"$jr"
expect_rc "tester's ssh login is still sandboxed (denied traffic refused)" 2 \
	hold_run A "$NP udp-send 127.0.0.3 $P3"
check "login A logs out" hold_close A
check "... and its sandbox goes" wait_sessions 0

# The reverse: root's su - tester holds an own-placement sandbox; tester's ssh login is refused.
hold_open R root || die "ssh login R" "root's login did not come up"
hold_run R "su - tester -c 'sleep 30' </dev/null >/dev/null 2>&1 & echo \$! >/tmp/cgbpf-su.pid"
su_up() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(sessions_of_tester)" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}
check "root's background su - tester has an own-placement sandbox" su_up
out=$(sd_ssh tester 'echo CMD-RAN' </dev/null 2>&1)
check "while it lives, tester's ssh login is refused and its command does not run" \
	not_ran "$out"
hold_run R 'kill $(pgrep -u tester -x sleep); wait'
check "once the su ends, its sandbox goes" wait_sessions 0
out=$(sd_ssh tester 'echo CMD-RAN' </dev/null 2>&1)
check "... and tester logs in again" grep -q CMD-RAN <<<"$out"
hold_close R
check "in the end cgbpfctl status lists no sandbox" wait_sessions 0
