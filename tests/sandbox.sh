# shellcheck shell=bash
# Helpers for suites that drive the module itself: a private cgroup_root, bpffs directory,
# state_dir and policy per suite, so that a suite never touches a real installation, and a
# cleanup that removes all of it even when the suite fails.
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODULE=$BUILD/pam_cgbpf.so
FAULT_MODULE=$BUILD/tests/pam_cgbpf_fault.so
CGBPFCTL=$BUILD/cgbpfctl
TEST_BPF=$BUILD/tests/bpf

# sandbox_setup: fresh names for everything the module creates; sets TAG, CG2, CG_ROOT, BPFFS,
# STATE, POLDIR, POLICY and ARGS (the module arguments that point at them).
sandbox_setup() {
	TAG=cgbpft$$$RANDOM
	CG2=$(cg2_mount)
	CG_ROOT=$TAG
	BPFFS=/sys/fs/bpf/$TAG
	STATE=/run/$TAG
	POLDIR=$(tmpdir_root)
	POLICY=$POLDIR/policy.conf
	: >"$POLICY"
	chmod 0644 "$POLICY"
	ARGS="config=$POLICY cgroup_root=$CG_ROOT bpffs=$BPFFS state_dir=$STATE"
	CTL=("$CGBPFCTL" --config "$POLICY" --cgroup-root "$CG_ROOT" --bpffs "$BPFFS" --state-dir "$STATE")
	on_exit sandbox_destroy "$CG2/$CG_ROOT" "$BPFFS" "$STATE"
}

# sandbox_destroy CGDIR BPFFSDIR STATEDIR: kills what is left in the cgroups, unpins every link
# and program, removes the cgroups and the state.
sandbox_destroy() {
	local cg=$1 bpffs=$2 state=$3 d
	if [ -d "$cg" ]; then
		for d in $(find "$cg" -mindepth 1 -type d | sort -r); do
			[ -e "$d/cgroup.kill" ] && echo 1 >"$d/cgroup.kill" 2>/dev/null
		done
		sleep 0.1
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
	fi
	if [ -d "$bpffs" ]; then
		find "$bpffs" -type f -delete 2>/dev/null
		find "$bpffs" -depth -type d -exec rmdir {} + 2>/dev/null
	fi
	rm -rf -- "$state"
}

# policy LINE...: writes the policy file.
policy() {
	printf '%s\n' "$@" >"$POLICY"
	chmod 0644 "$POLICY"
}

# service NAME [EXTRA-ARGS...]: /etc/pam.d/NAME with only our module in the session stack.
service() {
	local name=$1
	shift
	printf 'session required %s %s %s\n' "$MODULE" "$ARGS" "$*" >"/etc/pam.d/$name"
	on_exit rm -f "/etc/pam.d/$name"
}

# service_line NAME LINE: a service with a session line of one's own.
service_line() {
	printf '%s\n' "$2" >"/etc/pam.d/$1"
	on_exit rm -f "/etc/pam.d/$1"
}

cg_of() { echo "$CG2/$CG_ROOT/user-$1"; }
pins_of() { echo "$BPFFS/user-$1"; }
ledger_of() { echo "$STATE/user-$1.ledger"; }

# attached UID: how many programs bpftool sees on the user's cgroup, on every attach type.
attached() {
	bpftool cgroup show "$(cg_of "$1")" 2>/dev/null | grep -cE '^[0-9]+ +[a-z][a-z0-9_]*' || true
}

# Egress rules that can refuse at connect time bring one more program on each of connect4,
# connect6, sendmsg4 and sendmsg6 (the early verdict, INTERFACE.md §4 "Prompt refusals").
EARLY=4

# assert_clean LABEL UID: no cgroup, no pin directory, no ledger is left for the user.
assert_clean() {
	local label=$1 uid=$2 what=""
	[ -e "$(cg_of "$uid")" ] && what="$what cgroup $(cg_of "$uid");"
	[ -e "$(pins_of "$uid")" ] && what="$what pins $(pins_of "$uid");"
	[ -e "$(ledger_of "$uid")" ] && what="$what ledger $(ledger_of "$uid");"
	if [ -z "$what" ]; then
		pass "$label: nothing left behind"
	else
		fail "$label: nothing left behind" "left:$what"
	fi
}

# as_sandboxed UID CMD...: runs CMD as the user inside the user's sandbox cgroup.
as_sandboxed() {
	local uid=$1
	shift
	"$NETPROBE" as-user "$uid" "$(id -g "$uid" 2>/dev/null || echo 65534)" --cgroup "$(cg_of "$uid")" -- "$@"
}

# as_user UID CMD...: the same user outside any sandbox.
as_user() {
	local uid=$1
	shift
	"$NETPROBE" as-user "$uid" "$(id -g "$uid" 2>/dev/null || echo 65534)" -- "$@"
}

# root_in_sandbox UID CMD...: runs CMD as root (with CAP_NET_RAW) inside the user's cgroup, for
# rules the kernel would otherwise pre-empt (type=raw).
root_in_sandbox() {
	local uid=$1
	shift
	"$NETPROBE" as-user 0 0 --cgroup "$(cg_of "$uid")" -- "$@"
}

# ctl ARGS...: cgbpfctl with the suite's settings; sets RC, OUT and ERR.
ctl() {
	"${CTL[@]}" "$@" >"$SCRATCH/ctl.out" 2>"$SCRATCH/ctl.err"
	RC=$?
	OUT=$(cat "$SCRATCH/ctl.out")
	ERR=$(cat "$SCRATCH/ctl.err")
}

# verdict NAME OK [WHY]: one PASS or FAIL line, showing cgbpfctl's output on failure.
verdict() {
	if [ "$2" = 1 ]; then
		pass "$1"
	else
		fail "$1" "${3:-} (exit ${RC:-?})"
		{ printf '%s\n' "$OUT" | sed 's/^/    out| /'; printf '%s\n' "$ERR" | sed 's/^/    err| /'; } | tail -n 40
	fi
}

# has REGEX TEXT: an extended regex matches a line of TEXT.
has() { grep -Eq -- "$1" <<<"$2"; }
