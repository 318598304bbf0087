#!/usr/bin/env bash
# 20 sessions opened in parallel across 4 users (held open by live processes), then closed in
# parallel: nothing is left and no attachment is ever lost. Three rounds.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
start_syslog
sandbox_setup

SVC=cgbpf-t30-$$
service "$SVC"
policy "* egress deny" "* sock_create deny type=raw"
USERS=()
UIDS=()
for i in 1 2 3 4; do
	u=$(mkuser "cgp$i")
	USERS+=("$u")
	UIDS+=("$(id -u "$u")")
done
listen_udp 127.0.0.1 --timeout 60000
UDP_PORT=$PORT
stdin_fifo_open

for round in 1 2 3; do
	pids=()
	for k in 1 2 3 4 5; do
		for i in 0 1 2 3; do
			"$PAMSESSION" "$SVC" "${USERS[$i]}" hold <"$STDIN_FIFO" \
				>"$SCRATCH/r$round-$i-$k.out" 2>&1 &
			pids+=($!)
		done
	done
	on_exit stop_pid "${pids[@]}"
	# Wait until all 20 report "opened" (or one of them dies).
	for ((t = 0; t < 200; t++)); do
		n=$(cat "$SCRATCH"/r$round-*.out 2>/dev/null | grep -c '^opened')
		[ "$n" -ge 20 ] && break
		sleep 0.05
	done
	if [ "$n" -eq 20 ]; then pass "round $round: 20 sessions opened in parallel"; else
		fail "round $round: 20 sessions opened in parallel" "$n opened: $(cat "$SCRATCH"/r$round-*.out | grep -v '^opened' | head -3)"; fi
	ok=1
	for i in 0 1 2 3; do
		uid=${UIDS[$i]}
		s=$(grep -c '^session ' "$(ledger_of "$uid")" 2>/dev/null)
		a=$(attached "$uid")
		p=$(wc -l <"$(cg_of "$uid")/cgroup.procs" 2>/dev/null)
		if [ "$s" != 5 ] || [ "$a" != $((2 + EARLY)) ] || [ "$p" != 5 ]; then
			ok=0
			fail "round $round: user $i has 5 sessions, 5 processes and 2 + $EARLY attachments" \
				"sessions=$s processes=$p attachments=$a"
		fi
		# Proof by traffic, not by our own files: a sandboxed UDP send is refused.
		as_sandboxed "$uid" "$NETPROBE" udp-send 127.0.0.1 "$UDP_PORT" >/dev/null 2>&1
		rc=$?
		if [ "$rc" != 2 ]; then
			ok=0
			fail "round $round: user $i is really sandboxed" "udp-send gave $rc, not 2 (EPERM)"
		fi
	done
	[ "$ok" = 1 ] && pass "round $round: every user has one shared, working sandbox"
	kill -TERM "${pids[@]}"
	bad=0
	for p in "${pids[@]}"; do
		bg_wait "$p" 10 || bad=$((bad + 1))
	done
	if [ "$bad" = 0 ]; then pass "round $round: 20 sessions closed in parallel"; else
		fail "round $round: 20 sessions closed in parallel" "$bad closes failed"; fi
	for i in 0 1 2 3; do
		assert_clean "round $round: user $i" "${UIDS[$i]}"
	done
done
check "no ledger corruption was ever logged" bash -c "! grep -q corrupt '$SYSLOG_FILE'"
