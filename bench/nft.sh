# shellcheck shell=bash
# Sourced by bench/run.sh after the network figures (it uses that part's user, iperf3 server and
# helpers): the nftables peer. The same egress allow list as an nft table, written the way
# pam_authnft writes its rules (`socket cgroupv2 level N "path"` jumping to a chain that looks
# the destination up in an interval set), against the built-in filter, on the same UDP traffic
# over loopback, at 10,000 and 100,000 prefixes.
#
# The per-packet cost, by one method for both: each run goes under `perf record -g` (CPU-clock
# samples of the sending process every 250 us of its CPU time, kernel stacks included). The
# output hook (nf_hook_slow, which runs the nft chains) and the cgroup egress hook
# (__cgroup_bpf_run_filter_skb, which runs our program) are called once per datagram in the
# sender's context, so the samples that have that function on their stack, times the time a
# sample stands for, divided by the datagrams sent, is what the hook costs one datagram, its
# dispatch included. (iperf3's own CPU figure is no use for this: the sender is not CPU-bound
# and this kernel accounts CPU time by ticks.) For the built-in filter, the kernel's bpf_stats
# (time inside the program alone) is shown beside it, from a separate run since the statistics
# slow every program. The nft table exists only during its own runs.

NFT_TABLE=cgbpf_bench_$$
nft_table_drop() {
	nft delete table inet "$NFT_TABLE" 2>/dev/null
	return 0
}
on_exit nft_table_drop

CG_NFT=$(cg2_mount)/$TAG-nft
mkdir -p "$CG_NFT"
on_exit rmdir "$CG_NFT"
# nft resolves a cgroupv2 path below /sys/fs/cgroup; the level is the depth below the root.
NFT_CG_PATH=${CG_NFT#/sys/fs/cgroup/}
NFT_CG_LEVEL=$(($(tr -cd / <<<"${CG_NFT#"$(cg2_mount)"}" | wc -c)))

# prefixes N: N prefixes, one a line: 127.0.0.0/8 last, before it /24s of 10.0.0.0/8 (up to
# 10,000, the list of the network figures) or /26s each in a /25 of its own (beyond).
prefixes() {
	python3 - "$1" <<'EOF'
import sys
n = int(sys.argv[1])
if n <= 10000:
    p = ["10.%d.%d.0/24" % (i // 256, i % 256) for i in range(n - 1)]
else:
    p = ["10.%d.%d.%d/26" % (i >> 9 & 255, i >> 1 & 255, (i & 1) * 128) for i in range(n - 1)]
print("\n".join(p + ["127.0.0.0/8"]))
EOF
}

# nft_table_file PREFIXFILE OUT: the table, with the egress policy of the sandbox.
nft_table_file() {
	{
		echo "table inet $NFT_TABLE {"
		echo "	set allow4 {"
		echo "		type ipv4_addr"
		echo "		flags interval"
		printf '		elements = { '
		paste -sd, "$1"
		echo "		}"
		echo "	}"
		echo "	chain sandbox {"
		echo "		ip daddr @allow4 accept"
		echo "		drop"
		echo "	}"
		echo "	chain output {"
		echo "		type filter hook output priority filter; policy accept;"
		echo "		socket cgroupv2 level $NFT_CG_LEVEL \"$NFT_CG_PATH\" counter jump sandbox"
		echo "	}"
		echo "}"
	} >"$2"
}

# hook_cost CGROUP: "KPPS NF_NS CGBPF_NS" of one 64-byte UDP flood from CGROUP to the iperf3
# server under perf: datagrams per second, and ns per datagram in the netfilter and cgroup
# egress hooks.
hook_cost() {
	perf record -q -g -e cpu-clock -c 250000 -o "$SCRATCH/perf.data" -- \
		"$NETPROBE" as-user "$UID_U" "$GID_U" --cgroup "$1" -- iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -A 0,1 -u -b 0 -l 64 -t "$SECS" -J \
		>"$SCRATCH/iperf.json" 2>/dev/null || return 1
	perf report -i "$SCRATCH/perf.data" --children --sort sym --stdio -g none 2>/dev/null |
		python3 -c 'import json, re, sys
d = json.load(open(sys.argv[1]))["end"]["sum"]
total, share = 0, {"nf_hook_slow": 0.0, "__cgroup_bpf_run_filter_skb": 0.0}
for line in sys.stdin:
    m = re.match(r"# Event count \(approx.\): (\d+)", line)
    if m:
        total = int(m.group(1))
    f = line.split()
    if len(f) >= 4 and f[-1] in share:
        share[f[-1]] = float(f[0].rstrip("%")) / 100
n = d["packets"]
print("%.0f %.0f %.0f" % (n / d["seconds"] / 1e3, share["nf_hook_slow"] * total / n,
      share["__cgroup_bpf_run_filter_skb"] * total / n))' "$SCRATCH/iperf.json"
}

# egress_prog_ns CGROUP: ns per packet inside the egress filter attached there (bpf_stats),
# over one 2-second flood from that cgroup.
egress_prog_ns() {
	local cg=$1 id old
	old=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null) || return 0
	id=$(bpftool cgroup show "$cg" | awk '$2 ~ /egress/ {print $1; exit}')
	[ -n "$id" ] && sysctl -q kernel.bpf_stats_enabled=1 || return 0
	"$NETPROBE" as-user "$UID_U" "$GID_U" --cgroup "$cg" -- \
		iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -A 0,1 -u -b 0 -l 64 -t 2 >/dev/null 2>&1
	sysctl -q kernel.bpf_stats_enabled="$old"
	bpftool prog show id "$id" | awk '/run_time_ns/ {
		for (i = 1; i <= NF; i++) { if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") n = $(i + 1) }
		if (n) printf "%.0f", t / n }'
}

# nft_vs_ours N SANDBOX_CGROUP: one size, RUNS alternating rounds of plain, ours and nft.
nft_vs_ours() {
	local n=$1 cg_ours=$2 r p=() o=() f=() matched stats
	prefixes "$n" >"$SCRATCH/pfx-$n"
	nft_table_file "$SCRATCH/pfx-$n" "$SCRATCH/nft-$n.conf"
	for ((r = 0; r < RUNS; r++)); do
		p+=("$(hook_cost "$CG_OUT")")
		o+=("$(hook_cost "$cg_ours")")
		nft -f "$SCRATCH/nft-$n.conf" || die "nft table" "cannot load $SCRATCH/nft-$n.conf"
		f+=("$(hook_cost "$CG_NFT")")
		matched=$(nft list chain inet "$NFT_TABLE" output | awk '/counter packets/ {
			for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }')
		nft_table_drop
	done
	stats=$(egress_prog_ns "$cg_ours")
	python3 - "$n" "$matched" "${stats:-}" "${p[*]}" "${o[*]}" "${f[*]}" <<'EOF'
import statistics, sys
n, matched, stats = sys.argv[1:4]
runs = []
for g in sys.argv[4:7]:
    v = list(map(float, g.split()))
    runs.append(list(zip(v[0::3], v[1::3], v[2::3])))
def col(g, i):
    c = sorted(r[i] for r in g)
    return statistics.median(c), "%.0f-%.0f" % (c[0], c[-1])
print("  %-42s %17s %21s %21s" % ("%s prefixes" % format(int(n), ","), "kpps (under perf)",
      "netfilter ns/packet", "cgroup egress ns/pkt"))
for name, g in zip(("unfiltered", "pam_cgbpf (cgroup egress filter)",
                    "nftables (socket cgroupv2 + interval set)"), runs):
    (k, _), (nf, nfr), (cg, cgr) = col(g, 0), col(g, 1), col(g, 2)
    print("  %-42s %17.0f %9.0f (%9s) %9.0f (%9s)" % (name, k, nf, nfr, cg, cgr))
if stats:
    print("  pam_cgbpf egress program alone (kernel bpf_stats): %s ns per packet" % stats)
print("  (medians of the runs, their range in brackets; the nft rule matched %s packets in"
      " its last run)" % matched)
EOF
}

echo
echo "== the nftables peer: same egress allow list, same UDP flood (64-byte datagrams,"
echo "   ${SECS} s runs, median of $RUNS, alternating; per-packet cost of each hook by perf)"
nft_vs_ours 10000 "$(cg_of "$UID_U")"
# 100,000 prefixes (the most a policy file may hold): a second user, opened once the policy is
# that list; the first user's live sandbox keeps its filter.
U2=$(mkuser cgbench)
UID_U2=$(id -u "$U2")
{
	prefixes 100000 | awk '
		NR % 1000 == 1 { if (NR > 1) print line; line = "* egress allow daddr=" $0; next }
		{ line = line "," $0 } END { print line; print "* egress deny" }'
	echo "* sock_create deny type=raw"
} >"$POLICY.new"
chmod 0644 "$POLICY.new"
mv "$POLICY.new" "$POLICY"
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/hold2.out" '^opened' "$PAMSESSION" bench-net-$$ "$U2" hold ||
	die "bench session (100,000 prefixes)" "$(cat "$SCRATCH/hold2.out")"
nft_vs_ours 100000 "$(cg_of "$UID_U2")"
