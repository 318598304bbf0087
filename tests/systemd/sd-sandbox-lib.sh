# shellcheck shell=bash
# What the placement suites share on top of tests/systemd/lib.sh: the module in a PAM service
# of the container, a policy, logins held open that run commands on demand, and the kernel's view
# of a cgroup's programs (bpftool inside the container).

# Run directly, this library is not a suite.
[ "${BASH_SOURCE[0]}" = "$0" ] && exit 0

# shellcheck source=tests/systemd/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SLICE=/sys/fs/cgroup/user.slice/user-$SD_UID.slice

# sd_suite_start NAME: the common start of a placement suite: as root, with netprobe built, a
# fresh container booted with the module installed; NP is netprobe inside the container.
sd_suite_start() {
	need_root
	[ -x "$NETPROBE" ] || die "$1" "netprobe is not built (make tests)"
	sd_start
	sd_install
	NP=/usr/local/bin/netprobe
}

# sd_write PATH MODE: stdin into PATH inside the container, root-owned.
sd_write() {
	sd_exec sh -c 'umask 022; cat >"$1.tmp" && chmod "$2" "$1.tmp" && mv "$1.tmp" "$1"' sh "$1" "$2"
}

# sd_policy LINE...: the container's /etc/security/pam_cgbpf.conf.
sd_policy() {
	printf '%s\n' "$@" | sd_write /etc/security/pam_cgbpf.conf 0644
}

# sd_pam_line SERVICE WHERE ARGS: puts "session required pam_cgbpf.so ARGS" into
# /etc/pam.d/SERVICE of the container, after (WHERE=after) or before (WHERE=before)
# "@include common-session", replacing any pam_cgbpf line there.
sd_pam_line() {
	local svc=$1 where=$2 args=$3
	sd_exec sh -c '
		f=/etc/pam.d/$1; line="session required pam_cgbpf.so $3"
		grep -q "^@include common-session\$" "$f" || exit 1
		grep -v pam_cgbpf "$f" | awk -v w="$2" -v l="$line" "
			/^@include common-session\$/ && w == \"before\" { print l }
			{ print }
			/^@include common-session\$/ && w == \"after\" { print l }" >"$f.new" &&
		mv "$f.new" "$f"' sh "$svc" "$where" "$args"
}

# ---- logins held open ---------------------------------------------------------------------------

_HOLD_FDS=

# hold_open NAME USER: an ssh login as USER that stays open and runs each line hold_run sends
# it. Sets HOLD_CG_NAME (its cgroup) and HOLD_SID_NAME (its logind session id).
hold_open() {
	local name=$1 user=$2 fifo out fd i
	fifo=$SCRATCH/hold-$name.fifo out=$SCRATCH/hold-$name.out
	rm -f "$fifo" # a name used again
	mkfifo -m 0600 "$fifo" || return 1
	exec {fd}<>"$fifo"
	printf -v "_HOLD_FD_$name" %s "$fd"
	_HOLD_FDS+=" $fd"
	: >"$out"
	(
		# Only the suite may hold the writing ends: a login ends when its fifo is closed.
		for f in $_HOLD_FDS ${_LIB_FIFO_FD:-}; do eval "exec $f>&-"; done
		exec ssh "${SD_SSH_OPTS[@]}" "$user@127.0.0.1" \
			'echo "cg=$(sed -n "s/^0:://p" /proc/self/cgroup)"; echo "sid=$XDG_SESSION_ID"
			 echo ready; while IFS= read -r c; do eval "$c"; echo "rc=$?"; done'
	) <"$fifo" >"$out" 2>&1 &
	printf -v "_HOLD_PID_$name" %s "$!"
	on_exit stop_pid "$!"
	for ((i = 0; i < 200; i++)); do
		grep -q '^ready$' "$out" && break
		kill -0 "$!" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '^ready$' "$out" || {
		sed 's/^/    | /' "$out"
		return 1
	}
	printf -v "HOLD_CG_$name" %s "$(sed -n 's/^cg=//p' "$out")"
	printf -v "HOLD_SID_$name" %s "$(sed -n 's/^sid=//p' "$out")"
}

# hold_run NAME CMD: runs the shell line CMD in the held login NAME; returns its status
# (124 when it did not answer within 20 s, 125 when the login is gone).
hold_run() {
	local name=$1 cmd=$2 fdv=_HOLD_FD_$1 pidv=_HOLD_PID_$1 out=$SCRATCH/hold-$1.out n i
	kill -0 "${!pidv}" 2>/dev/null || return 125
	n=$(grep -c '^rc=' "$out")
	printf '%s\n' "$cmd" >&"${!fdv}"
	for ((i = 0; i < 400; i++)); do
		[ "$(grep -c '^rc=' "$out")" -gt "$n" ] && break
		kill -0 "${!pidv}" 2>/dev/null || return 125
		sleep 0.05
	done
	[ "$(grep -c '^rc=' "$out")" -gt "$n" ] || return 124
	return "$(grep '^rc=' "$out" | tail -n 1 | cut -d= -f2)"
}

# hold_close NAME: logs the held login out (end of its input) and waits for ssh to exit.
hold_close() {
	local fdv=_HOLD_FD_$1 pidv=_HOLD_PID_$1
	[ -n "${!fdv:-}" ] && eval "exec ${!fdv}>&-"
	printf -v "_HOLD_FD_$1" %s ""
	bg_wait "${!pidv}" 10
}

# hold_alive NAME: whether the held login's ssh is still running.
hold_alive() {
	local pidv=_HOLD_PID_$1
	kill -0 "${!pidv}" 2>/dev/null
}

# ---- the kernel's view --------------------------------------------------------------------------

# progs CGROUP [effective]: "ID ATTACH_TYPE NAME" lines of the programs on CGROUP (inside).
progs() {
	sd_exec bpftool -j cgroup show "$@" | sd_exec python3 -c '
import json, sys
t = sys.stdin.read().strip()
for p in (json.loads(t) if t else []):
    print(p["id"], p["attach_type"], p.get("name", ""))'
}

# our_progs CGROUP: the module's programs attached to CGROUP itself (names filter_*, prompt_*).
our_progs() {
	progs "$1" | awk '$3 !~ /^sd_/'
}

# has_effective CGROUP HOOK...: the module's programs on $SLICE for each HOOK
# (cgroup_inet_egress, cgroup_inet_sock_create, ...) are all in effect on CGROUP.
has_effective() {
	local cg=$1 hook ids eff id
	shift
	eff=$(progs "$cg" effective) || return 1
	for hook in "$@"; do
		ids=$(our_progs "$SLICE" | awk -v h="$hook" '$2 == h { print $1 }')
		[ -n "$ids" ] || {
			echo "no $hook program of the module on $SLICE"
			return 1
		}
		for id in $ids; do
			echo "$eff" | awk -v i="$id" -v h="$hook" '$1 == i && $2 == h' | grep -q . || {
				echo "program $id ($hook) not in effect on $cg; effective there:"
				echo "$eff"
				return 1
			}
		done
	done
}

# no_module_progs CGROUP: nothing but systemd's programs attached to CGROUP (or it is gone).
no_module_progs() {
	local left
	sd_exec test -d "$1" || return 0
	left=$(our_progs "$1")
	[ -z "$left" ] || {
		echo "left on $1: $left"
		return 1
	}
}

# status_sandboxes: how many sandboxes `cgbpfctl status --json` lists inside.
status_sandboxes() {
	sd_exec cgbpfctl status --json | sd_exec python3 -c \
		'import json, sys; print(len(json.load(sys.stdin)["sandboxes"]))'
}

# journal_since CURSOR_FILE: the container's journal since the cursor saved in CURSOR_FILE.
journal_mark() {
	sd_exec journalctl --no-pager -q -n 0 --show-cursor | sed -n 's/^-- cursor: //p' >"$1"
}
journal_since() {
	sd_exec journalctl --no-pager -q --after-cursor="$(cat "$1")" -o cat
}

# sessions_of_tester: how many sessions tester's sandbox records (0 without a sandbox).
sessions_of_tester() {
	sd_exec cgbpfctl status --json | sd_exec python3 -c '
import json, sys
print(sum(len(s["sessions"]) for s in json.load(sys.stdin)["sandboxes"] if s["uid"] == 1000))'
}

# wait_sessions N: waits up to 10 s until tester's sandbox records N sessions. sshd closes
# the PAM session after the client has gone, so a logout is only over once this holds.
wait_sessions() {
	local i n
	for ((i = 0; i < 100; i++)); do
		n=$(sessions_of_tester)
		[ "$n" = "$1" ] && return 0
		sleep 0.1
	done
	echo "tester's sandbox records ${n:-?} sessions, not $1"
	return 1
}

# not_ran OUTPUT: the output of a refused login has no CMD-RAN line.
not_ran() {
	! grep -q CMD-RAN <<<"$1"
}

# counter_keys: the cgroup ids that have counters in any shared filter of the module (decimal).
counter_keys() {
	local m
	for m in $(sd_exec find /sys/fs/bpf/pam_cgbpf/shared -name counters 2>/dev/null); do
		sd_exec bpftool -j map dump pinned "$m"
	done | sd_exec python3 -c '
import json, sys
dec = json.JSONDecoder()
text = sys.stdin.read()
i = 0
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    doc, i = dec.raw_decode(text, i)
    for e in doc:
        k = e.get("key")
        if isinstance(k, list):
            print(int.from_bytes(bytes(int(b, 16) for b in k), "little"))
        elif isinstance(k, int):
            print(k)'
}

# filter_count HOOK KEY: a counter of the built-in filter on HOOK (passed_packets, ...), from
# status --json.
filter_count() {
	sd_exec cgbpfctl status --json | sd_exec python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(a["counters"][sys.argv[2]] for s in d["sandboxes"] if s["uid"] == 1000
          for a in s["hooks"][sys.argv[1]] if a["kind"] == "filter" and a["counters"]))' "$1" "$2"
}

# never_connects CMD...: a TCP connect the policy stops: refused at connect() with EPERM (2, the
# early verdict) or its SYN dropped (timeout, 3); never a connection (0) or an RST (1).
never_connects() {
	"$@"
	local rc=$?
	[ "$rc" = 2 ] || [ "$rc" = 3 ]
}
