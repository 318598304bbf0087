#!/usr/bin/env bash
# The user's resource limits never break the module (INTERFACE.md §4, "Never fail open"): an
# opener run under `ulimit -f` (RLIMIT_FSIZE, which su inherits from the user) neither corrupts
# nor mixes the ledger, whose rewrite is a new file renamed over the old; an opener run under
# `ulimit -n` (out of descriptors) never takes a live session for stale nor detaches its
# links: with on_logout=kill that would kill the user's other sessions.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
start_syslog
sandbox_setup

U=$(mkuser cglim) || die mkuser "cannot create the user"
UID_U=$(id -u "$U")
SVC=cgbpf-t70-$$
service "$SVC"
policy "* egress deny dport=9" "* ingress deny proto=udp sport=9" "* sock_create deny type=raw"
LEDGER=$(ledger_of "$UID_U")
stdin_fifo_open

HOLDS=()
hold() {
	BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/hold.$RANDOM" '^opened' "$PAMSESSION" "$SVC" "$U" hold ||
		return 1
	HOLDS+=("$BG_PID")
}

# ledger_sessions_are PID...: the ledger lists exactly these sessions, each once.
ledger_sessions_are() {
	local want got
	want=$(printf '%s\n' "$@" | sort -n | tr '\n' ' ')
	got=$(awk '$1 == "session" { print $2 }' "$LEDGER" | sort -n | tr '\n' ' ')
	[ "$want" = "$got" ] || {
		echo "ledger sessions: '$got', expected '$want'"
		return 1
	}
}

# ---- RLIMIT_FSIZE ---------------------------------------------------------------------------------
for ((i = 0; i < 12; i++)); do hold || die "hold a session" "failed"; done
size=$(stat -c %s "$LEDGER")
check "set-up: twelve live sessions, a ledger of $size bytes (more than 1 KiB)" test "$size" -gt 1024

# under_ulimit LIMIT-OPTIONS CMD...: CMD under `ulimit LIMIT-OPTIONS`, output through a pipe
# (which no RLIMIT_FSIZE limits) to $SCRATCH/ulimit.out; returns CMD's status.
under_ulimit() {
	local opts=$1
	shift
	bash -c 'ulimit '"$opts"' || exit 99; exec "$@"' ulimit "$@" 2>&1 | cat >"$SCRATCH/ulimit.out"
	return "${PIPESTATUS[0]}"
}

# bash counts ulimit -f in KiB: the next ledger is larger than 1 KiB, so its write is cut short.
expect_rc "an open under a soft ulimit -f 1 succeeds (the module lifts the user's limit)" 0 \
	under_ulimit "-S -f 1" "$PAMSESSION" "$SVC" "$U" open
ctl status
verdict "the ledger still decodes (cgbpfctl status)" "$([ "$RC" = 0 ] && echo 1)"
# That opener has exited: its session is stale, but recorded exactly once until reclaimed.
opened=$(awk '$1 == "session" { print $2 }' "$LEDGER" | grep -vxF -f <(printf '%s\n' "${HOLDS[@]}") | head -1)
check "the ledger holds the twelve live sessions and the new one, each once" \
	ledger_sessions_are "${HOLDS[@]}" "${opened:-none}"
check "no half-written ledger is left beside it" test ! -e "$LEDGER.new"
expect_rc "the sandbox still refuses a raw socket" 2 root_in_sandbox "$UID_U" "$NETPROBE" socket inet raw icmp
expect_rc "an open and close under a soft ulimit -f 0 succeeds" 0 \
	under_ulimit "-S -f 0" "$PAMSESSION" "$SVC" "$U" open-close
check "the ledger lists the twelve live sessions once each (the stale one reclaimed)" \
	ledger_sessions_are "${HOLDS[@]}"

# A hard limit too: lifting it takes CAP_SYS_RESOURCE, which root may lack in a container. Then
# the write is cut short and the open refused; either way the ledger stays whole.
expect_rc "set-up: a stale session to reclaim" 0 "$PAMSESSION" "$SVC" "$U" open
opened=$(awk '$1 == "session" { print $2 }' "$LEDGER" | grep -vxF -f <(printf '%s\n' "${HOLDS[@]}") | head -1)
cp "$LEDGER" "$SCRATCH/ledger.before"
log_mark
under_ulimit "-f 1" "$PAMSESSION" "$SVC" "$U" open-close
rc=$?
if bash -c 'ulimit -f 1 && ulimit -f unlimited' 2>/dev/null; then
	check "an open and close under a hard ulimit -f 1 succeeds (root may lift it)" test "$rc" = 0
	check "the ledger lists the twelve live sessions once each" ledger_sessions_are "${HOLDS[@]}"
else
	check "an open under a hard ulimit -f 1 without CAP_SYS_RESOURCE is refused (14)" test "$rc" = 14
	check "the log says the ledger could not be written" log_has "cannot write ledger"
	check "the ledger is byte for byte as before the refused open" \
		cmp "$LEDGER" "$SCRATCH/ledger.before"
fi
check "no half-written ledger is left beside it" test ! -e "$LEDGER.new"
ctl status
verdict "the ledger still decodes (cgbpfctl status)" "$([ "$RC" = 0 ] && echo 1)"

victim=${HOLDS[0]}
kill -TERM "$victim"
bg_wait "$victim" >/dev/null
check "after one live session closed, the ledger lists the other eleven" \
	ledger_sessions_are "${HOLDS[@]:1}"

stdin_fifo_close
for pid in "${HOLDS[@]:1}"; do bg_wait "$pid" >/dev/null; done
assert_clean "RLIMIT_FSIZE" "$UID_U"

# ---- RLIMIT_NOFILE: "cannot read" is never "stale" ------------------------------------------------
KSVC=cgbpf-t70k-$$
service "$KSVC" on_logout=kill
policy "* egress deny proto=udp dport=9" "* sock_create deny type=raw"
stdin_fifo_open
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/live.out" '^opened' "$PAMSESSION" "$KSVC" "$U" hold ||
	die "a live session" "$(cat "$SCRATCH/live.out")"
LIVE=$BG_PID
# The opener inherits descriptors up to near its `ulimit -n 64` (both limits: lifting the hard
# one needs CAP_SYS_RESOURCE, which root may lack in a container), so that each run runs out at
# another step of open or close; whatever the opener's fate, the live session keeps its place
# in the ledger, its process and its sandbox.
ok=0 refused=0 broken=""
n_attached=$(attached "$UID_U")
for ((n = 40; n <= 62; n++)); do
	under_ulimit "-n 64; for ((f = 3; f < 3 + $n; f++)); do eval \"exec \$f</dev/null\"; done" \
		"$PAMSESSION" "$KSVC" "$U" open-close
	case $? in 0) ok=$((ok + 1)) ;; *) refused=$((refused + 1)) ;; esac
	if ! kill -0 "$LIVE" 2>/dev/null; then
		broken="the live session was killed after an opener with $((64 - 3 - n)) free descriptors"
		break
	fi
	if ! ledger_sessions_are "$LIVE" >/dev/null; then
		broken="the ledger lost the live session ($((64 - 3 - n)) free): $(ledger_sessions_are "$LIVE")"
		break
	fi
	if [ "$(attached "$UID_U")" != "$n_attached" ]; then
		broken="the live sandbox has $(attached "$UID_U") programs ($((64 - 3 - n)) free)"
		break
	fi
done
check "openers with 21..0 free descriptors ($ok done, $refused refused) leave the live session alone${broken:+: $broken}" \
	test -z "$broken"
check "the live session is still in its sandbox" \
	test "$("$NETPROBE" cgroup-of "$LIVE")" = "/$CG_ROOT/user-$UID_U"
expect_rc "and its sandbox still refuses (EPERM)" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" udp-send 127.0.0.1 9

# The same, made certain: the fault build fails the Nth read of a start time or of the boot id
# with EMFILE. An open's first start-time read is its own process's, the second the live
# session's; its first boot-id read is the ledger's check. The opener is then refused, and the
# live session keeps its ledger entry, its links and its life (with on_logout=kill, a
# "stale" live session would be killed at this opener's close).
FKSVC=cgbpf-t70f-$$
for spec in start_time:2 boot_id:1; do
	printf 'session required %s %s on_logout=kill fault=%s\n' "$FAULT_MODULE" "$ARGS" "$spec" \
		>"/etc/pam.d/$FKSVC"
	on_exit rm -f "/etc/pam.d/$FKSVC"
	before=$(bpftool cgroup show "$(cg_of "$UID_U")" | sort)
	log_mark
	expect_rc "fault $spec (EMFILE): the open beside a live session is refused" 14 \
		"$PAMSESSION" "$FKSVC" "$U" open-close
	check "fault $spec: the log says what could not be read" \
		log_has "cannot (tell whether process|read the boot id)"
	check "fault $spec: the live session is alive" kill -0 "$LIVE"
	check "fault $spec: the ledger still lists it" ledger_sessions_are "$LIVE"
	check "fault $spec: its links are exactly as before" \
		test "$(bpftool cgroup show "$(cg_of "$UID_U")" | sort)" = "$before"
done
expect_rc "the live sandbox still refuses (EPERM)" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" udp-send 127.0.0.1 9
stdin_fifo_close
expect_rc "the live session closes" 0 bg_wait "$LIVE"
assert_clean "RLIMIT_NOFILE" "$UID_U"
