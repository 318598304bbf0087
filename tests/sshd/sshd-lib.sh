# shellcheck shell=bash
# Helpers for the real-login suites: a private sshd on 127.0.0.1 with its own host key, client
# key, authorized_keys and PAM service, and su through pam_wrapper. Everything they create is
# removed at exit, even when the suite fails half-way.
#
#	. "$(dirname "$0")/sshd-lib.sh"
#	need_root; start_syslog; sandbox_setup
#	U=$(login_user cgssh)       # users first: their cleanup then runs after sshd is gone
#	sshd_setup; sshd_pam required; sshd_start "$U"
#	ssh_as "$U" 'cat /proc/self/cgroup'

# tests/run.sh runs every tests/sshd/*.sh: run directly, this library is not a suite.
[ "${BASH_SOURCE[0]}" = "$0" ] && exit 0

# shellcheck source=tests/sandbox.sh
. "$(dirname "${BASH_SOURCE[0]}")/../sandbox.sh"

SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}
# shellcheck disable=SC2034 # for the suites
PAM_WRAPPER_LIB=$(find /usr/lib /usr/lib64 -maxdepth 2 -name libpam_wrapper.so 2>/dev/null | head -n 1)

# need_sshd: the suite is skipped when OpenSSH is not installed.
need_sshd() {
	if [ ! -x "$SSHD_BIN" ] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
		skip "$(basename "$0")" "OpenSSH server and client are not installed"
		exit 0
	fi
}

# sshd_setup: a root-owned directory SSHD_DIR with the host key, the client key (KEY), one
# authorized_keys file for every test user, and NP, a copy of netprobe every user can run.
# SVC is the PAM service: OpenSSH takes it from the basename of argv[0] (auth-pam.h:
# SSHD_PAM_SERVICE is __progname), so a copy of sshd named SVC reads /etc/pam.d/SVC.
sshd_setup() {
	work_setup
	SVC=sshd-cgbpf-test-$(_lib_random_suffix)
	# Registered before anything can write it, so it goes even if the suite dies right here.
	on_exit rm -f "/etc/pam.d/$SVC" "/etc/pam.d/$SVC.tmp"
	install -m 0755 "$SSHD_BIN" "$SSHD_DIR/$SVC" || die sshd_setup "cannot copy $SSHD_BIN"
	ssh-keygen -q -t ed25519 -N '' -C cgbpf-host -f "$SSHD_DIR/host_key" </dev/null >/dev/null ||
		die sshd_setup "ssh-keygen (host key) failed"
	ssh-keygen -q -t ed25519 -N '' -C cgbpf-client -f "$SSHD_DIR/client_key" </dev/null >/dev/null ||
		die sshd_setup "ssh-keygen (client key) failed"
	KEY=$SSHD_DIR/client_key
	# Root-owned, 0644, in root-owned directories up to /: StrictModes is satisfied.
	install -m 0644 "$KEY.pub" "$SSHD_DIR/authorized_keys"
	_sshd_privsep_dir
}

# work_setup: SSHD_DIR, a root-owned 0755 directory for the suite's files; NP, a copy of
# netprobe that every user can run wherever the build directory is; SHARED, a sticky directory
# where test users leave results.
work_setup() {
	[ -n "${SSHD_DIR:-}" ] && return 0
	SSHD_DIR=$(tmpdir_root) || die work_setup "no temporary directory"
	NP=$SSHD_DIR/netprobe
	install -m 0755 "$NETPROBE" "$NP" || die work_setup "cannot copy $NETPROBE"
	SHARED=$SSHD_DIR/shared
	install -d -m 1777 "$SHARED"
}

# OpenSSH refuses to start without its privilege separation directory; a machine where sshd
# never ran (no systemd tmpfiles, no init script) has none. Made if missing, removed at exit
# unless another test sshd still uses it.
_sshd_privsep_dir() {
	[ -d /run/sshd ] && return 0
	install -d -m 0755 -o root -g root /run/sshd || die sshd_setup "cannot create /run/sshd"
	on_exit _sshd_privsep_dir_remove
}

_sshd_privsep_dir_remove() {
	local exe
	for exe in /proc/[0-9]*/exe; do
		case $(readlink "$exe" 2>/dev/null) in
		*/sshd-cgbpf-test-*) return 0 ;;
		esac
	done
	rmdir /run/sshd 2>/dev/null
	return 0
}

# sshd_pam CONTROL [MODULE-ARGS...]: /etc/pam.d/$SVC, modelled on Debian 12's /etc/pam.d/sshd
# with pam_cgbpf (CONTROL = required, optional, ...) last in the session stack. Left out:
# pam_motd and pam_mail (output only) and common-password (sshd never changes passwords here).
sshd_pam() {
	local control=$1
	shift
	cat >"/etc/pam.d/$SVC.tmp" <<EOF
# Written by tests/sshd (pam_cgbpf); removed when the suite ends.
@include common-auth
account    required     pam_nologin.so
@include common-account
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close
session    required     pam_loginuid.so
session    optional     pam_keyinit.so force revoke
@include common-session
session    required     pam_limits.so
session    required     pam_env.so
session    required     pam_env.so user_readenv=1 envfile=/etc/default/locale
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so open
session    $control     $MODULE $ARGS $*
EOF
	mv -f "/etc/pam.d/$SVC.tmp" "/etc/pam.d/$SVC"
}

# sshd_start [USER...]: starts the private sshd (only USERs may log in) on a random port of
# 127.0.0.1; sets SSHD_PORT, SSHD_PID, SSHD_LOG and SSH (the client command, without the host).
sshd_start() {
	local try
	[ -f "/etc/pam.d/$SVC" ] || die sshd_start "call sshd_pam first"
	SSHD_LOG=$SSHD_DIR/sshd.log
	for ((try = 0; try < 5; try++)); do
		SSHD_PORT=$(random_port)
		cat >"$SSHD_DIR/sshd_config" <<EOF
ListenAddress 127.0.0.1:$SSHD_PORT
HostKey $SSHD_DIR/host_key
PidFile $SSHD_DIR/sshd.pid
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
AuthorizedKeysFile $SSHD_DIR/authorized_keys
AuthorizedPrincipalsFile none
StrictModes yes
PermitRootLogin no
AllowUsers ${*:-nobody-at-all}
AllowTcpForwarding local
X11Forwarding no
PermitTTY yes
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 100
MaxSessions 20
LoginGraceTime 20
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF
		# -D: no daemon, so it is our child; -e: its log to SSHD_LOG.
		if bg_start "$SSHD_LOG" 'Server listening on' \
			"$SSHD_DIR/$SVC" -D -e -f "$SSHD_DIR/sshd_config"; then
			# shellcheck disable=SC2034 # for the suites
			SSHD_PID=$BG_PID
			on_exit _sshd_stop_all "$SSHD_DIR/$SVC"
			SSH=(ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
				-o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10
				-o ServerAliveInterval=0 -i "$KEY" -p "$SSHD_PORT")
			return 0
		fi
		grep -q 'Address already in use' "$SSHD_LOG" || break
	done
	_lib_show_output "$SSHD_LOG"
	die sshd_start "sshd did not start"
}

# Every process still running our sshd copy: the listener, per-connection monitors and the
# users' post-auth children. Found by their executable, which only this suite runs.
_sshd_stop_all() {
	local exe=$1 p pids=()
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$exe" ] && pids+=("${p#/proc/}")
	done
	[ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
	for p in "${pids[@]}"; do stop_pid "$p"; done
	return 0
}

# login_user PREFIX: a test user (mkuser) with home "/" (sshd, su and login chdir there
# quietly) and a cleanup that kills whatever the user still runs before the account goes,
# so that nothing a failing suite left outside the sandbox survives it. Prints the name.
login_user() {
	local name uid
	name=$(mkuser "$1" -d /) || return 1
	uid=$(id -u "$name") || return 1
	on_exit kill_user_procs "$uid"
	echo "$name"
}

# kill_user_procs UID: SIGKILL to every process running as UID (a test user's: never below 1000).
kill_user_procs() {
	local uid=$1 p pids=()
	[ "$uid" -ge 1000 ] 2>/dev/null || return 0
	for p in /proc/[0-9]*; do
		[ "$(stat -c %u "$p" 2>/dev/null)" = "$uid" ] && pids+=("${p#/proc/}")
	done
	[ ${#pids[@]} -gt 0 ] && kill -KILL "${pids[@]}" 2>/dev/null
	return 0
}

# pam_wrapper_cleanup MARKER: pam_wrapper copies the service directory to /tmp/pam.X in every
# process that loads it, and a process that execs or is killed never removes its copy. Removes
# the copies that hold MARKER (the suite's sandbox tag, part of every module line) and whose
# owner process is gone.
pam_wrapper_cleanup() {
	local marker=$1 d pid
	for d in /tmp/pam.?*; do
		if [ ! -d "$d" ] || [ -L "$d" ]; then continue; fi
		pid=$(cat "$d/pid" 2>/dev/null)
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && continue
		grep -qs -- "$marker" "$d"/* && rm -rf --one-file-system -- "$d"
	done
	return 0
}

# ssh_as USER CMD: runs CMD through the private sshd; the client's status is returned.
ssh_as() {
	local user=$1
	shift
	"${SSH[@]}" "$user@127.0.0.1" "$*" </dev/null
}

# ssh_hold USER [CMD]: a session that stays open until ssh_release; CMD (default: none) runs
# first, then the remote side waits for its stdin to end. Waits for the remote "held" line.
# Sets HOLD_PID (the client), HOLD_FD (closing it ends the session) and HOLD_OUT.
_HOLD_FDS=()
ssh_hold() {
	local user=$1 cmd=${2:-:} fifo i fd
	_HOLD_N=$((${_HOLD_N:-0} + 1))
	fifo=$SCRATCH/hold.$_HOLD_N.fifo
	HOLD_OUT=$SCRATCH/hold.$_HOLD_N.out
	: >"$HOLD_OUT"
	mkfifo -m 0600 "$fifo" || return 1
	exec {fd}<>"$fifo"
	(
		# Only the suite may hold the write ends, or one session's end would wait for another's.
		for i in "${_HOLD_FDS[@]}" "$fd" ${_LIB_FIFO_FD:+"$_LIB_FIFO_FD"}; do
			eval "exec $i>&-"
		done
		exec "${SSH[@]}" "$user@127.0.0.1" "$cmd; echo held; cat >/dev/null; echo released" \
			<"$fifo" >"$HOLD_OUT" 2>&1
	) &
	HOLD_PID=$!
	# shellcheck disable=SC2034 # for the suites
	HOLD_FD=$fd
	_HOLD_FDS+=("$fd")
	on_exit stop_pid "$HOLD_PID"
	for ((i = 0; i < 200; i++)); do
		grep -qx held "$HOLD_OUT" 2>/dev/null && return 0
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.05
	done
	grep -qx held "$HOLD_OUT" 2>/dev/null
}

# ssh_release FD PID: ends a held session cleanly (EOF on its stdin) and waits for the client.
ssh_release() {
	local fd=$1 pid=$2 i
	eval "exec $fd>&-"
	for i in "${!_HOLD_FDS[@]}"; do
		[ "${_HOLD_FDS[$i]}" = "$fd" ] && unset "_HOLD_FDS[$i]"
	done
	bg_wait "$pid" 10
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds; its last status otherwise.
wait_until() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# sessions_of UID: how many sessions the user's ledger records (0 without a ledger).
sessions_of() {
	local n
	n=$(grep -c '^session ' "$(ledger_of "$1")" 2>/dev/null)
	echo "${n:-0}"
}

# is_clean UID: no cgroup, pins or ledger left (quietly, for wait_until).
is_clean() {
	[ ! -e "$(cg_of "$1")" ] && [ ! -e "$(pins_of "$1")" ] && [ ! -e "$(ledger_of "$1")" ]
}

# expect_eq NAME WANT GOT: passes when the two strings are equal.
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# expect_match NAME REGEX TEXT: passes when TEXT has a line matching the extended REGEX.
expect_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then pass "$1"; else
		fail "$1" "no line matches /$2/ in: $(printf '%s' "$3" | tr '\n' '|' | cut -c1-400)"
	fi
}

# expect_no_match NAME REGEX TEXT
expect_no_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		fail "$1" "a line matches /$2/ in: $(printf '%s' "$3" | tr '\n' '|' | cut -c1-400)"
	else pass "$1"; fi
}

# procs_in_cg UID PID: PID is a member of the user's sandbox cgroup.
pid_in_cg() {
	grep -qx "$2" "$(cg_of "$1")/cgroup.procs" 2>/dev/null
}
