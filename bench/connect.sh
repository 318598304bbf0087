#!/usr/bin/env bash
# make bench, prompt refusals (issue 10): connect() rates to an allowed destination inside the
# sandbox and outside, and how long a refused TCP connect takes with the early check
# (connect4/6, sendmsg4/6 beside the egress filter) and with the egress packet filter only.
# Self-contained: bench/run.sh calls it as a section of its own.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../tests/sandbox.sh"
need_root
sandbox_setup
U=$(mkuser cgbconn)
UID_U=$(id -u "$U")
GID_U=$(id -g "$U")
SVC=bench-connect-$$
service "$SVC"
# The connects run inside the sandbox to a listener of their own, whose replies go to
# 127.0.0.1: the policy allows loopback but 127.0.0.3, then denies everything else.
policy "* egress deny daddr=127.0.0.3" "* egress allow daddr=127.0.0.0/8" "* egress deny"
stdin_fifo_open
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/hold.out" '^opened' "$PAMSESSION" "$SVC" "$U" hold ||
	die "bench session" "$(cat "$SCRATCH/hold.out")"
CG_OUT=$(cg2_mount)/$TAG-bench
mkdir -p "$CG_OUT"
on_exit rmdir "$CG_OUT"
sandboxed() { "$NETPROBE" as-user "$UID_U" "$GID_U" --cgroup "$(cg_of "$UID_U")" -- "$@"; }
plain() { "$NETPROBE" as-user "$UID_U" "$GID_U" --cgroup "$CG_OUT" -- "$@"; }
med() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
pct() { python3 -c "print('%.0f' % (100.0 * $1 / $2))"; }
CR=$BUILD/bench/connect_rate
SECS=${BENCH_SECONDS:-2}
RUNS=${BENCH_RUNS:-5}

echo
echo "== connect() (${SECS} s runs, median of $RUNS, alternating; policy: deny 127.0.0.3, allow 127.0.0.0/8, deny)"
t_plain=() t_sb=() u_plain=() u_sb=()
for ((r = 0; r < RUNS; r++)); do
	P=$(random_port)
	t_plain+=("$(plain taskset -c 1 "$CR" tcp 127.0.0.2 "$P" "$SECS")")
	P=$(random_port)
	t_sb+=("$(sandboxed taskset -c 1 "$CR" tcp 127.0.0.2 "$P" "$SECS")")
	u_plain+=("$(plain taskset -c 1 "$CR" udp 127.0.0.2 "$(random_port)" "$SECS")")
	u_sb+=("$(sandboxed taskset -c 1 "$CR" udp 127.0.0.2 "$(random_port)" "$SECS")")
done
tp=$(med "${t_plain[@]}") ts=$(med "${t_sb[@]}")
up=$(med "${u_plain[@]}") us=$(med "${u_sb[@]}")
printf '  %-46s %12s %12s %6s\n' "" unsandboxed sandboxed ratio
printf '  %-46s %12s %12s %5s%%\n' "TCP connect+accept+close per s (allowed)" "$tp" "$ts" "$(pct "$ts" "$tp")"
printf '  %-46s %12s %12s %5s%%\n' "UDP socket+connect+close per s (allowed)" "$up" "$us" "$(pct "$us" "$up")"
echo "  runs: TCP ${t_plain[*]} | ${t_sb[*]}; UDP ${u_plain[*]} | ${u_sb[*]}"

# A refused TCP connect to 127.0.0.3 (nothing is sent there when the early check refuses).
P=$(random_port)
read -r after_us after_err <<<"$(sandboxed "$CR" refused 127.0.0.3 "$P" 200)"
# Packet filter only: the same sandbox with its early links removed (their pins are their only
# reference, so unpinning detaches them). The SYN is dropped and resent; TCP_SYNCNT=1 bounds the
# wait at two tries (about 3 s) instead of tcp_syn_retries.
rm -f "$(pins_of "$UID_U")"/connect4-* "$(pins_of "$UID_U")"/connect6-* \
	"$(pins_of "$UID_U")"/sendmsg4-* "$(pins_of "$UID_U")"/sendmsg6-*
read -r before_us before_err <<<"$(sandboxed "$CR" refused 127.0.0.3 "$P" 1 1)"
retries=$(sysctl -n net.ipv4.tcp_syn_retries 2>/dev/null || echo 6)
# SYN timeouts double from 1 s: with N retries connect() gives up after 2^(N+1) - 1 s.
default_s=$(((1 << (retries + 1)) - 1))
echo "  refused TCP connect() to a denied destination (median):"
printf '    with the early check (after):      %10.1f us  %s\n' "$after_us" "$after_err"
printf '    egress packet filter only (before): %9.2f s   %s with TCP_SYNCNT=1;' \
	"$(awk -v u="$before_us" 'BEGIN { print u / 1e6 }')" "$before_err"
printf ' with the default tcp_syn_retries=%s about %s s\n' "$retries" "$default_s"

kill -TERM "$BG_PID"
bg_wait "$BG_PID" >/dev/null
