#!/usr/bin/env bash
# make bench: the figures behind the README's performance table.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../tests/sandbox.sh"
need_root
sandbox_setup
U=$(mkuser cgbench)
CONFDIR=$(tmpdir_root)
echo "session required $MODULE $ARGS" >"$CONFDIR/bench-sandbox"
echo "session required pam_permit.so" >"$CONFDIR/bench-permit"
policy "* ingress deny saddr=192.0.2.0/24" "* egress deny daddr=198.51.100.0/24 dport=9" \
	"* sock_create deny type=raw"
# The kernel floor's own cgroup and pins, removed even if session_bench dies half-way.
FLOOR_CG=$CG2/$TAG-floor FLOOR_PINS=/sys/fs/bpf/$TAG-floor
# bpffs where the module would mount it at its first login (a fresh boot may have none yet).
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || die "bench" "cannot mount bpffs at /sys/fs/bpf"
mkdir "$FLOOR_CG" "$FLOOR_PINS"
on_exit sandbox_destroy "$FLOOR_CG" "$FLOOR_PINS" /nonexistent
echo "== session (policy attaches ingress, egress and sock_create)"
# Then again with 10,000 other users' sandboxes live (cgroups, links, pins, ledger files).
"$BUILD/bench/session_bench" "$CONFDIR" bench-sandbox bench-permit "$U" "${BENCH_SESSIONS:-500}" \
	"$CG2" "$FLOOR_CG" "$FLOOR_PINS" "${BENCH_LIVE:-10000}" "$CG2/$CG_ROOT" "$BPFFS" "$STATE"
# The 10,000 ledger files just removed: let ext4 (if /run is on it) commit that before the next
# section's figures. And the 10,000 cgroups: the kernel releases what was attached to each one
# later, on a workqueue; the next figures are taken once no cgroup is dying any more, and the
# time that took is printed.
sync
t0=$(date +%s%N)
for ((i = 0; i < 600; i++)); do
	dying=$(awk '$1 == "nr_dying_descendants" { print $2 }' "$CG2/cgroup.stat")
	[ "${dying:-0}" -eq 0 ] && break
	sleep 0.1
done
awk -v d="${dying:-?}" -v ns="$(($(date +%s%N) - t0))" 'BEGIN {
	printf "  after removing them: %.1f s until the kernel had released them all (%s dying left)\n", ns / 1e9, d }'
. "$(dirname "$0")/login.sh"
. "$(dirname "$0")/systemd_login.sh"
. "$(dirname "$0")/syscalls.sh"
. "$(dirname "$0")/favordynmods.sh"

# ---- network: sandboxed with a 10,000-prefix egress allow list vs unsandboxed ------------------
# The allow list: 9,999 /24s of 10.0.0.0/8 and 127.0.0.0/8 (lines of 1,000, since a policy
# line holds at most 64 KiB), then a bare deny.
{
	echo "# 10,000-prefix allow list"
	for ((l = 0; l < 10; l++)); do
		printf '* egress allow daddr='
		for ((i = l * 1000; i < l * 1000 + 999; i++)); do
			printf '10.%d.%d.0/24,' $((i / 256)) $((i % 256))
		done
		if [ "$l" = 9 ]; then echo "127.0.0.0/8"; else printf '10.%d.%d.0/24\n' $((i / 256)) $((i % 256)); fi
	done
	echo "* egress deny"
	echo "* sock_create deny type=raw"
	echo "* sock_create deny family=inet6 type=dgram"
} >"$POLICY"
service bench-net-$$
stdin_fifo_open
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/hold.out" '^opened' "$PAMSESSION" bench-net-$$ "$U" hold ||
	die "bench session" "$(cat "$SCRATCH/hold.out")"
UID_U=$(id -u "$U")
GID_U=$(id -g "$U")
CG_OUT=$(cg2_mount)/$TAG-bench
mkdir -p "$CG_OUT"
on_exit rmdir "$CG_OUT"
sandboxed() { "$NETPROBE" as-user "$UID_U" "$GID_U" --cgroup "$(cg_of "$UID_U")" -- "$@"; }
# The unsandboxed runs use a cgroup of their own with nothing attached.
plain() { "$NETPROBE" as-user "$UID_U" "$GID_U" --cgroup "$CG_OUT" -- "$@"; }

IPERF_PORT=$(random_port)
bg_start "$SCRATCH/iperf.out" 'Server listening' iperf3 -s --forceflush -p "$IPERF_PORT" ||
	die "iperf3 server" "$(cat "$SCRATCH/iperf.out")"
SECS=${BENCH_SECONDS:-3}
tcp_gbps() {
	"$@" iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -A 0,1 -t "$SECS" -J 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))'
}
udp_kpps() {
	"$@" iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -A 0,1 -u -b 0 -l 64 -t "$SECS" -J 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["end"]["sum"]; print("%.0f" % (s["packets"]/s["seconds"]/1e3))'
}
med() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
pct() { python3 -c "print('%.0f' % (100.0 * $1 / $2))"; }

echo
RUNS=${BENCH_RUNS:-5}
echo "== network (iperf3 over loopback, ${SECS} s runs, median of $RUNS, alternating)"
t_plain=() t_sb=() u_plain=() u_sb=() s_plain=() s_sb=()
for ((r = 0; r < RUNS; r++)); do
	t_plain+=("$(tcp_gbps plain)")
	t_sb+=("$(tcp_gbps sandboxed)")
	u_plain+=("$(udp_kpps plain)")
	u_sb+=("$(udp_kpps sandboxed)")
	s_plain+=("$(plain taskset -c 1 "$BUILD/bench/socket_rate" 2)")
	s_sb+=("$(sandboxed taskset -c 1 "$BUILD/bench/socket_rate" 2)")
done
tp=$(med "${t_plain[@]}") ts=$(med "${t_sb[@]}")
up=$(med "${u_plain[@]}") us=$(med "${u_sb[@]}")
sp=$(med "${s_plain[@]}") ss=$(med "${s_sb[@]}")
printf '  %-34s %12s %12s %8s %s\n' "" unsandboxed sandboxed ratio target
printf '  %-34s %12s %12s %7s%% %s\n' "TCP bulk throughput (Gbit/s)" "$tp" "$ts" "$(pct "$ts" "$tp")" ">= 95%"
printf '  %-34s %12s %12s %7s%% %s\n' "UDP 64-byte datagrams (kpps sent)" "$up" "$us" "$(pct "$us" "$up")" ">= 85%"
printf '  %-34s %12s %12s %7s%% %s\n' "socket() calls per second" "$sp" "$ss" "$(pct "$ss" "$sp")" ">= 90%"
echo "  (egress: 10,000-prefix allow list + deny; sock_create: 2 deny rules; all runs as uid $UID_U)"
echo "  runs: TCP ${t_plain[*]} | ${t_sb[*]}; UDP ${u_plain[*]} | ${u_sb[*]}"
echo "        socket() ${s_plain[*]} | ${s_sb[*]}"

# What the filter itself costs per packet in that traffic, from the kernel's own statistics.
old_stats=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null)
if [ -n "$old_stats" ] && sysctl -q kernel.bpf_stats_enabled=1; then
	id=$(bpftool cgroup show "$(cg_of "$UID_U")" | awk '$2 ~ /egress/ {print $1; exit}')
	sandboxed iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -u -b 0 -l 64 -t 2 >/dev/null 2>&1
	bpftool prog show id "$id" | awk '/run_time_ns/ {
		for (i = 1; i <= NF; i++) { if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") n = $(i + 1) }
		if (n) printf "  egress filter (10,000 prefixes): %.0f ns per packet over %d packets\n", t / n, n }'
	sysctl -q kernel.bpf_stats_enabled="$old_stats"
fi

# ---- prompt refusals: connect() rates and refused-connect times (a script of its own) --------
bash "$(dirname "$0")/connect.sh"
. "$(dirname "$0")/nft.sh"
