# shellcheck shell=bash
# Helpers for the shell test suites. Each suite starts with
#
#	. "$(dirname "$0")/../lib.sh"
#
# and prints "PASS: name", "FAIL: name: why" or "SKIP: name: why" lines, which tests/run.sh
# counts. The suite runs from the repository root. Register every cleanup with on_exit (never
# with your own `trap ... EXIT`): the stack runs in reverse order when the suite ends, fails or
# is interrupted, and it lives in a file, so helpers called inside $(...) can register too.
# The suite exits non-zero if any check failed. Suites should not use `set -e`.

[ -n "${_LIB_LOADED:-}" ] && return 0
_LIB_LOADED=1

CGBPF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$CGBPF_ROOT" || exit 1
BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$CGBPF_ROOT/$BUILD ;;
esac
export BUILD
# The helper binaries, for the suites.
# shellcheck disable=SC2034
HELPERS=$BUILD/tests
# shellcheck disable=SC2034
NETPROBE=$HELPERS/netprobe
# shellcheck disable=SC2034
PAMSESSION=$HELPERS/pamsession
LOGSINK=$HELPERS/logsink

_LIB_PID=$BASHPID
_LIB_STATE=$(mktemp -d "${TMPDIR:-/tmp}/cgbpf-test.XXXXXX") || {
	echo "FAIL: lib.sh: cannot create a state directory"
	exit 1
}
# Scratch space for the suite's own files; removed with everything else at exit.
SCRATCH=$_LIB_STATE/scratch
mkdir -m 0700 "$SCRATCH"
: >"$_LIB_STATE/cleanup"
: >"$_LIB_STATE/results"
# Account changes by concurrent suites queue on a lock of this very file: nothing left behind.
_LIB_ACCOUNT_LOCK=$CGBPF_ROOT/tests/lib.sh

# ---- results ----------------------------------------------------------------------------------

pass() {
	echo "PASS: $1"
	echo P >>"$_LIB_STATE/results"
}

fail() {
	if [ $# -ge 2 ]; then
		echo "FAIL: $1: $2"
	else
		echo "FAIL: $1"
	fi
	echo F >>"$_LIB_STATE/results"
}

skip() {
	echo "SKIP: $1: ${2:-skipped}"
	echo S >>"$_LIB_STATE/results"
}

# die NAME WHY: a failure the suite cannot continue after.
die() {
	fail "$@"
	exit 1
}

# need_root: the whole suite is skipped when not run as root.
need_root() {
	if [ "$(id -u)" != 0 ]; then
		skip "$(basename "$0")" "needs root"
		exit 0
	fi
}

# Indented, so that a command's own "PASS:"/"FAIL:" lines are never counted.
_lib_show_output() {
	[ -s "$1" ] && tail -n 40 "$1" | sed 's/^/    | /'
	return 0
}

# _lib_run FILE CMD...: runs CMD with its output in FILE; returns its status.
_lib_run() {
	local out=$1
	shift
	"$@" >"$out" 2>&1
}

# check NAME CMD...: passes when CMD succeeds.
check() {
	local name=$1 out rc
	shift
	out=$(mktemp "$_LIB_STATE/out.XXXXXX")
	_lib_run "$out" "$@"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$name"
	else
		fail "$name" "exit status $rc from: $*"
		_lib_show_output "$out"
	fi
	rm -f "$out"
	[ "$rc" -eq 0 ]
}

# check_fails NAME CMD...: passes when CMD fails.
check_fails() {
	local name=$1 out rc
	shift
	out=$(mktemp "$_LIB_STATE/out.XXXXXX")
	_lib_run "$out" "$@"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		pass "$name"
	else
		fail "$name" "succeeded but should have failed: $*"
		_lib_show_output "$out"
	fi
	rm -f "$out"
	[ "$rc" -ne 0 ]
}

# expect_rc NAME RC CMD...: passes when CMD exits with status RC.
expect_rc() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(mktemp "$_LIB_STATE/out.XXXXXX")
	_lib_run "$out" "$@"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		pass "$name"
	else
		fail "$name" "expected status $want, got $rc from: $*"
		_lib_show_output "$out"
	fi
	rm -f "$out"
	[ "$rc" -eq "$want" ]
}

# ---- the cleanup stack ------------------------------------------------------------------------

# on_exit CMD [ARG...]: runs CMD at exit, after every cleanup registered later.
on_exit() {
	local line
	printf -v line '%q ' "$@"
	printf '%s\n' "$line" >>"$_LIB_STATE/cleanup"
}

_lib_exit() {
	local rc=$1 cmd
	# Subshells inherit nothing to clean; only the suite's own shell runs the stack.
	[ "$BASHPID" = "$_LIB_PID" ] || return 0
	set +e
	trap '' INT TERM HUP
	if [ -f "$_LIB_STATE/cleanup" ]; then
		while IFS= read -r cmd; do
			eval "$cmd" </dev/null || echo "    cleanup failed: $cmd" >&2
		done < <(tac "$_LIB_STATE/cleanup")
	fi
	if [ "$rc" -eq 0 ] && grep -q '^F' "$_LIB_STATE/results" 2>/dev/null; then
		rc=1
	fi
	rm -rf -- "$_LIB_STATE"
	exit "$rc"
}

_lib_signal() {
	fail "$(basename "$0")" "interrupted by SIG$1"
	exit "$2"
}

trap '_lib_exit $?' EXIT
trap '_lib_signal INT 130' INT
trap '_lib_signal TERM 143' TERM
trap '_lib_signal HUP 129' HUP

# ---- processes --------------------------------------------------------------------------------

# stop_pid PID...: SIGTERM, then SIGKILL after 2 s; reaps the processes that are our children.
stop_pid() {
	local pid i
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null || continue
		for ((i = 0; i < 40; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	return 0
}

# stdin_fifo_open: a fifo (path in $STDIN_FIFO) that the suite holds open for writing, to give
# background processes a stdin that stays open until stdin_fifo_close.
stdin_fifo_open() {
	STDIN_FIFO=$SCRATCH/stdin.fifo.$RANDOM
	mkfifo -m 0600 "$STDIN_FIFO" || return 1
	exec {_LIB_FIFO_FD}<>"$STDIN_FIFO"
}

stdin_fifo_close() {
	[ -n "${_LIB_FIFO_FD:-}" ] && exec {_LIB_FIFO_FD}>&-
	_LIB_FIFO_FD=
}

# bg_start OUTFILE REGEX CMD...: starts CMD in the background with stdout and stderr in OUTFILE
# and stdin from $BG_STDIN (default /dev/null), waits up to 5 s for a line matching REGEX and
# sets BG_PID. A cleanup stops the process. Returns 1 if it died or never got ready.
bg_start() {
	local out=$1 ready=$2 i
	shift 2
	if [ -n "${_LIB_FIFO_FD:-}" ]; then
		"$@" <"${BG_STDIN:-/dev/null}" >"$out" 2>&1 {_LIB_FIFO_FD}>&- &
	else
		"$@" <"${BG_STDIN:-/dev/null}" >"$out" 2>&1 &
	fi
	BG_PID=$!
	on_exit stop_pid "$BG_PID"
	for ((i = 0; i < 100; i++)); do
		grep -Eq -- "$ready" "$out" 2>/dev/null && return 0
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.05
	done
	grep -Eq -- "$ready" "$out" 2>/dev/null && return 0
	stop_pid "$BG_PID"
	return 1
}

# bg_wait PID [SECONDS=5]: waits for a background child and returns its status, 124 on timeout.
bg_wait() {
	local pid=$1 t=${2:-5} i
	for ((i = 0; i < t * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && return 124
	wait "$pid"
}

# ---- network ----------------------------------------------------------------------------------

# random_port: a random high port with no TCP or UDP socket bound to it right now.
random_port() {
	local port i
	for ((i = 0; i < 50; i++)); do
		port=$((20000 + RANDOM % 40000))
		ss -Htuan 2>/dev/null | awk '{ print $5 }' | grep -q ":$port\$" || break
	done
	echo "$port"
}

# listen_tcp ADDR [tcp-listen options] / listen_udp ADDR [udp-recv options]: a netprobe
# listener on a free random port; sets PORT, BG_PID and BG_OUT (its output). Retries on a
# port that got taken meanwhile.
_lib_listen() {
	local cmd=$1 addr=$2 try
	shift 2
	for ((try = 0; try < 5; try++)); do
		PORT=$(random_port)
		BG_OUT=$(mktemp "$SCRATCH/$cmd.XXXXXX")
		bg_start "$BG_OUT" '^listening$' "$NETPROBE" "$cmd" "$addr" "$PORT" "$@" && return 0
	done
	return 1
}

listen_tcp() {
	_lib_listen tcp-listen "$@"
}

listen_udp() {
	_lib_listen udp-recv "$@"
}

have_ipv6_loopback() {
	[ -r /proc/net/if_inet6 ] && grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6
}

# ---- cgroups, users, directories --------------------------------------------------------------

# cg2_mount: the cgroup v2 mount point.
cg2_mount() {
	awk '$3 == "cgroup2" { print $2; found = 1; exit } END { exit !found }' /proc/self/mounts
}

_lib_random_suffix() {
	od -An -N3 -tx1 /dev/urandom | tr -d ' \n'
}

# _lib_account_cmd CMD...: an account change under our lock, retried while the shadow files
# are locked by somebody else. Returns CMD's last status.
_lib_account_cmd() {
	local try rc
	for ((try = 0; try < 20; try++)); do
		flock -w 60 "$_LIB_ACCOUNT_LOCK" "$@" 2>"$_LIB_STATE/account.err.$BASHPID"
		rc=$?
		# 1 and 10: the passwd or group file could not be locked or updated.
		case $rc in
		1 | 10) sleep "0.$((RANDOM % 5 + 1))" ;;
		*) break ;;
		esac
	done
	[ "$rc" -ne 0 ] && cat "$_LIB_STATE/account.err.$BASHPID" >&2
	rm -f "$_LIB_STATE/account.err.$BASHPID"
	return "$rc"
}

# mkuser PREFIX [useradd options]: creates a user named PREFIX plus a random suffix (no home,
# no group of its own, shell /bin/sh), deleted at exit; prints the name.
mkuser() {
	local prefix name try rc
	prefix=$(printf '%s' "${1:?mkuser PREFIX}" | tr '[:upper:]' '[:lower:]' | cut -c1-25)
	shift
	for ((try = 0; try < 10; try++)); do
		name=$prefix$(_lib_random_suffix)
		_lib_account_cmd useradd -M -N -s /bin/sh "$@" "$name"
		rc=$?
		if [ "$rc" -eq 0 ]; then
			on_exit _lib_account_cmd userdel -f "$name"
			echo "$name"
			return 0
		fi
		# 9: the name is taken; anything else will not get better with another name.
		[ "$rc" -eq 9 ] || break
	done
	echo "mkuser: useradd $name failed with status $rc" >&2
	return 1
}

# mkgroup PREFIX [groupadd options]: likewise, a group deleted at exit; prints the name.
mkgroup() {
	local prefix name try rc
	prefix=$(printf '%s' "${1:?mkgroup PREFIX}" | tr '[:upper:]' '[:lower:]' | cut -c1-25)
	shift
	for ((try = 0; try < 10; try++)); do
		name=$prefix$(_lib_random_suffix)
		_lib_account_cmd groupadd "$@" "$name"
		rc=$?
		if [ "$rc" -eq 0 ]; then
			on_exit _lib_account_cmd groupdel "$name"
			echo "$name"
			return 0
		fi
		[ "$rc" -eq 9 ] || break
	done
	echo "mkgroup: groupadd $name failed with status $rc" >&2
	return 1
}

# tmpdir_root: a root-owned 0755 directory, removed at exit (without crossing into anything
# mounted inside it); prints its path.
tmpdir_root() {
	local base=/tmp d
	[ -d /run ] && [ -w /run ] && base=/run
	d=$(mktemp -d "$base/cgbpf-test.XXXXXX") || return 1
	if ! chown root:root "$d" || ! chmod 0755 "$d"; then
		rmdir "$d"
		return 1
	fi
	on_exit _lib_rm_tmpdir "$d"
	echo "$d"
}

_lib_rm_tmpdir() {
	case $1 in
	/run/cgbpf-test.?????? | /tmp/cgbpf-test.??????) rm -rf --one-file-system -- "$1" ;;
	*) return 1 ;;
	esac
}

# ---- syslog -----------------------------------------------------------------------------------

# start_syslog: serves /dev/log with logsink, lines going to $SYSLOG_FILE, until exit.
start_syslog() {
	local out pid i rc
	[ -n "${_LIB_SYSLOG_PID:-}" ] && return 0
	[ -x "$LOGSINK" ] || die start_syslog "$LOGSINK is not built"
	SYSLOG_FILE=$(mktemp "${TMPDIR:-/tmp}/cgbpf-syslog.XXXXXX") || die start_syslog "mktemp"
	export SYSLOG_FILE
	out=$_LIB_STATE/logsink.out
	"$LOGSINK" /dev/log "$SYSLOG_FILE" >"$out" 2>&1 </dev/null &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		if grep -qx ready "$out"; then
			on_exit _lib_stop_syslog "$pid" "$SYSLOG_FILE"
			_LIB_SYSLOG_PID=$pid
			_LIB_LOG_MARK=0
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	stop_pid "$pid"
	wait "$pid" 2>/dev/null
	rc=$?
	rm -f "$SYSLOG_FILE"
	SYSLOG_FILE=
	if [ "$rc" -eq 3 ]; then
		echo "FAIL: start_syslog: /dev/log is in use"
	else
		echo "FAIL: start_syslog: logsink did not start: $(tr '\n' ' ' <"$out")"
	fi
	echo F >>"$_LIB_STATE/results"
	exit 1
}

# When the suite failed, the captured syslog goes to its output before it is removed.
_lib_stop_syslog() {
	if grep -q '^F' "$_LIB_STATE/results" && [ -s "$2" ]; then
		echo "    syslog captured by this suite (last 100 lines):"
		tail -n 100 "$2" | sed 's/^/    syslog| /'
	fi
	stop_pid "$1"
	rm -f "$2"
}

# log_mark: log_has and log_since_mark look only at lines logged after this.
log_mark() {
	_LIB_LOG_MARK=$(wc -l <"$SYSLOG_FILE")
}

log_since_mark() {
	tail -n "+$((${_LIB_LOG_MARK:-0} + 1))" "$SYSLOG_FILE"
}

# log_has REGEX: an extended regex matches a line since the mark; retried for up to 2 s, since
# datagrams arrive asynchronously.
log_has() {
	local i
	for ((i = 0; i < 20; i++)); do
		log_since_mark | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}
