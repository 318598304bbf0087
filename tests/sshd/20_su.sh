#!/usr/bin/env bash
# su -l, su and login -f get the same sandbox as an ssh login: the command runs in
# user-<UID>, denied traffic is refused, and the sandbox is gone once su/login returns.
#
# The real /etc/pam.d/su-l, su and login are never touched: pam_wrapper (LD_PRELOAD) makes
# libpam read the service files from our own directory (PAM_WRAPPER_SERVICE_DIR; it calls
# pam_start_confdir). As root, su's set-uid bit changes no id, so the loader honours LD_PRELOAD.
# One catch, seen with Linux-PAM 1.5: "include"/"@include" lines are still resolved in
# /etc/pam.d, so our su-l cannot include our su; each service file here is self-contained.
# The nested include of the real Debian files (su-l includes su) is checked through pamtester
# with a pair of throw-away services in /etc/pam.d instead.
# shellcheck source=tests/sshd/sshd-lib.sh
. "$(dirname "$0")/sshd-lib.sh"
need_root
if [ -z "$PAM_WRAPPER_LIB" ] || ! command -v su >/dev/null || ! command -v script >/dev/null; then
	skip "$(basename "$0")" "needs libpam-wrapper, su and script"
	exit 0
fi
start_syslog
sandbox_setup
work_setup
on_exit pam_wrapper_cleanup "$CG_ROOT"

U=$(login_user cgsu) || die login_user "cannot create the test user"
UID_U=$(id -u "$U")
CG=$(cg_of "$UID_U")
policy "* egress allow daddr=127.0.0.2" "* egress deny"

listen_tcp 127.0.0.2 || die listen_tcp "no listener on 127.0.0.2"
P2=$PORT
listen_tcp 127.0.0.3 || die listen_tcp "no listener on 127.0.0.3"
P3=$PORT O3=$BG_OUT
expect_rc "control: the user outside any sandbox reaches 127.0.0.3" 0 \
	as_user "$UID_U" "$NP" tcp-connect 127.0.0.3 "$P3" 1000

# The service files: Debian 12's su-l (= su-l + the su it includes), su and login, each with
# pam_cgbpf last in the session stack.
PWDIR=$(tmpdir_root)/pam.d
mkdir -m 0755 "$PWDIR"
write_services() {
	local control=$1
	cat >"$PWDIR/su" <<EOF
auth       sufficient pam_rootok.so
session    required   pam_env.so readenv=1
session    required   pam_env.so readenv=1 envfile=/etc/default/locale
session    required   pam_limits.so
@include common-auth
@include common-account
@include common-session
session    $control   $MODULE $ARGS
EOF
	cat >"$PWDIR/su-l" <<EOF
auth       sufficient pam_rootok.so
@include common-auth
@include common-account
@include common-password
session    optional   pam_keyinit.so force revoke
session    required   pam_env.so readenv=1
session    required   pam_env.so readenv=1 envfile=/etc/default/locale
session    required   pam_limits.so
@include common-session
session    $control   $MODULE $ARGS
EOF
	cat >"$PWDIR/login" <<EOF
auth       sufficient pam_rootok.so
auth       requisite  pam_nologin.so
@include common-auth
@include common-account
session [success=ok ignore=ignore module_unknown=ignore default=bad] pam_selinux.so close
session    required   pam_loginuid.so
session    optional   pam_keyinit.so force revoke
session [success=ok ignore=ignore module_unknown=ignore default=bad] pam_selinux.so open
session    required   pam_env.so readenv=1
session    required   pam_env.so readenv=1 envfile=/etc/default/locale
session    required   pam_limits.so
@include common-session
session    $control   $MODULE $ARGS
EOF
	# Anything else must fail rather than fall back to /etc/pam.d/other.
	printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" \
		"password required pam_deny.so" "session required pam_deny.so" >"$PWDIR/other"
}
write_services required

# wrapped CMD...: CMD with libpam reading our service directory and logging to syslog.
wrapped() {
	LD_PRELOAD=$PAM_WRAPPER_LIB PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$PWDIR \
		PAM_WRAPPER_USE_SYSLOG=1 "$@"
}

# ---- su -l (PAM service su-l) ---------------------------------------------------------------------
log_mark
out=$(wrapped su -l "$U" -c 'tail -n 1 /proc/self/cgroup; id -u' 2>"$SCRATCH/su.err")
rc=$?
expect_eq "su -l runs the command" 0 "$rc"
expect_match "su -l: the command is in /$CG_ROOT/user-$UID_U" "^0::/$CG_ROOT/user-$UID_U\$" "$out"
expect_match "su -l: the command runs as the user" "^$UID_U\$" "$out"
check "su -l: the open is logged for the service su-l" \
	log_has "pam_cgbpf\\(su-l:session\\): session opened for user $U \\(uid $UID_U\\) by su-l: cgroup /$CG_ROOT/user-$UID_U"
check "su -l: the close is logged with the sandbox removed" \
	log_has "pam_cgbpf\\(su-l:session\\): session closed for user $U \\(uid $UID_U\\).*sandbox removed"
assert_clean "su -l: once su returned" "$UID_U"

expect_rc "su -l: TCP to the allowed 127.0.0.2 connects" 0 \
	wrapped su -l "$U" -c "$NP tcp-connect 127.0.0.2 $P2 2000"
expect_rc "su -l: TCP to 127.0.0.3 fails with EPERM (egress deny)" 2 \
	wrapped su -l "$U" -c "$NP tcp-connect 127.0.0.3 $P3 1000"
expect_rc "su -l: UDP to 127.0.0.3 fails with EPERM" 2 \
	wrapped su -l "$U" -c "$NP udp-send 127.0.0.3 $P3"
expect_eq "su -l: the 127.0.0.3 listener saw only the control connection" 1 "$(grep -c '^accepted ' "$O3")"
assert_clean "su -l: after the traffic checks" "$UID_U"

# ---- su -l while the sandbox is in use: a second session of the same user --------------------------
stdin_fifo_open
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/hold.out" '^held$' \
	wrapped su -l "$U" -c 'tail -n 1 /proc/self/cgroup; echo held; cat >/dev/null'
SU_PID=$BG_PID
expect_eq "a held su -l session is counted in the ledger" 1 "$(sessions_of "$UID_U")"
out=$(wrapped su -l "$U" -c "tail -n 1 /proc/self/cgroup; $NP tcp-connect 127.0.0.3 $P3 800 >/dev/null; echo probe=\$?" 2>/dev/null)
expect_match "a second su -l joins the same user-$UID_U" "^0::/$CG_ROOT/user-$UID_U\$" "$out"
expect_match "and is filtered the same" '^probe=2$' "$out"
expect_eq "after the second su returned the first session is still counted" 1 "$(sessions_of "$UID_U")"
check "and its sandbox is still there" test -d "$CG"
stdin_fifo_close
expect_rc "the held su -l ends" 0 bg_wait "$SU_PID" 10
assert_clean "after both su -l sessions" "$UID_U"

# ---- su without -l (PAM service su) ---------------------------------------------------------------
log_mark
out=$(wrapped su "$U" -c "tail -n 1 /proc/self/cgroup; $NP tcp-connect 127.0.0.3 $P3 800 >/dev/null; echo probe=\$?" 2>/dev/null)
expect_match "su (service su): the command is in user-$UID_U" "^0::/$CG_ROOT/user-$UID_U\$" "$out"
expect_match "su (service su): denied traffic is refused (EPERM)" '^probe=2$' "$out"
check "su (service su): the open is logged for the service su" \
	log_has "pam_cgbpf\\(su:session\\): session opened for user $U "
assert_clean "su (service su)" "$UID_U"

# ---- login -f on a pty (PAM service login) ---------------------------------------------------------
log_mark
out=$(printf '%s\n' "tail -n 1 /proc/self/cgroup; $NP tcp-connect 127.0.0.3 $P3 800 >/dev/null; echo probe=\$?; exit" |
	wrapped timeout 20 script -qec "login -f $U" /dev/null 2>/dev/null | tr -d '\r')
expect_match "login -f: the login shell is in user-$UID_U" "0::/$CG_ROOT/user-$UID_U\$" "$out"
expect_match "login -f: denied traffic is refused (EPERM)" 'probe=2$' "$out"
assert_clean "login -f, after logout" "$UID_U"

# ---- a broken policy: what su shows, and what it leaves --------------------------------------------
policy "* egress allow daddr=127.0.0.2" "* egress deny dport=70000"
log_mark
out=$(wrapped su -l "$U" -c 'echo COMMAND-RAN' 2>"$SCRATCH/su-refused.err")
rc=$?
if [ "$rc" -ne 0 ]; then pass "su -l + broken policy (required): su fails ($rc)"; else
	fail "su -l + broken policy (required): su fails" "exit 0"; fi
expect_no_match "su -l + broken policy (required): the command does not run" COMMAND-RAN "$out"
expect_match "su -l + broken policy (required): su says it cannot open the session" \
	'cannot open session' "$(cat "$SCRATCH/su-refused.err")"
check "su -l + broken policy (required): the log says why, with FILE:LINE" \
	log_has "pam_cgbpf\\(su-l:session\\): session refused for user $U: $POLICY:2: "
assert_clean "su -l + broken policy (required)" "$UID_U"
expect_match "su -l + broken policy (required): the terminal shows the module's one line" \
	'^This session could not be sandboxed \(pam_cgbpf\); please ask the administrator\.$' \
	"$(cat "$SCRATCH/su-refused.err")"
expect_no_match "su -l + broken policy (required): and no policy details" "$POLICY" \
	"$(cat "$SCRATCH/su-refused.err")"
# login -f on a pty, the same broken policy: the line appears on its terminal. (pam_wrapper
# echoes error-level syslog lines to the pty as PWRAP_ERROR: not what a real login shows.)
out=$(printf '%s\n' "echo COMMAND-RAN; exit" |
	wrapped timeout 20 script -qec "login -f $U" /dev/null 2>/dev/null | tr -d '\r' | grep -v '^PWRAP_')
expect_no_match "login -f + broken policy (required): the shell does not run" '^COMMAND-RAN$' "$out"
expect_match "login -f + broken policy (required): the terminal shows the module's one line" \
	'^This session could not be sandboxed \(pam_cgbpf\); please ask the administrator\.$' "$out"
expect_no_match "login -f + broken policy (required): and no policy details" "$POLICY" "$out"
assert_clean "login -f + broken policy (required)" "$UID_U"
write_services optional
out=$(wrapped su -l "$U" -c 'echo COMMAND-RAN; tail -n 1 /proc/self/cgroup' 2>/dev/null)
expect_match "su -l + broken policy (optional): the command runs" '^COMMAND-RAN$' "$out"
expect_no_match "su -l + broken policy (optional): unsandboxed" "user-$UID_U" "$out"
assert_clean "su -l + broken policy (optional)" "$UID_U"
write_services required
policy "* egress allow daddr=127.0.0.2" "* egress deny"

# ---- the real Debian layout: su-l includes su, pam_cgbpf last in su -------------------------------
# Through the system libpam and /etc/pam.d (throw-away service names), so the include is real.
SU_A=cgbpf-t20-su-l-$$
SU_B=cgbpf-t20-su-$$
service_line "$SU_B" "auth       sufficient pam_rootok.so
session    required   pam_limits.so
@include common-auth
@include common-account
@include common-session
session    required   $MODULE $ARGS"
service_line "$SU_A" "auth       include    $SU_B
account    include    $SU_B
password   include    $SU_B
session    optional   pam_keyinit.so force revoke
session    include    $SU_B"
log_mark
expect_rc "a su-l-like service that includes a su-like one opens and closes" 0 \
	pamtester "$SU_A" "$U" open_session close_session
check "the module line at the end of the included su file runs for su-l" \
	log_has "pam_cgbpf\\($SU_A:session\\): session opened for user $U "
assert_clean "the included su file" "$UID_U"
