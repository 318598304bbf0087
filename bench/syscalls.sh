# shellcheck shell=bash
# Sourced by bench/run.sh: the system calls of one in-process open+close (strace -c of
# session_bench at two lengths, the difference divided by the extra cycles, so that start-up
# and warm-up drop out), for the sandboxing stack and the pam_permit-only stack, and the
# module's share of them, with bpf() apart; beside them the floor's count.
# syscalls_per_cycle SERVICE [FLOOR ARGS]: "TOTAL BPF" per round of session_bench: one
# open+close of SERVICE, one of pam_permit, and the floor's cycle when its arguments are given.
syscalls_per_cycle() {
	local n f
	for n in 10 60; do
		f=$SCRATCH/strace-$n
		strace -f -c -o "$f" "$BUILD/bench/session_bench" "$CONFDIR" "$1" bench-permit "$U" \
			"$n" "${@:2}" >/dev/null || return 1
	done
	python3 - "$SCRATCH/strace-10" "$SCRATCH/strace-60" <<'EOF'
import sys
def calls(path):
    c = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and f[3].isdigit() and f[-1] != "total":
            c[f[-1]] = int(f[3])
    return c
a, b = calls(sys.argv[1]), calls(sys.argv[2])
total = sum(b.values()) - sum(a.values())
print("%.0f %.0f" % (total / 50, (b.get("bpf", 0) - a.get("bpf", 0)) / 50))
EOF
}
echo
echo "== system calls per in-process open+close (strace -c)"
read -r sc_sb bpf_sb <<<"$(syscalls_per_cycle bench-sandbox)"
read -r sc_pp bpf_pp <<<"$(syscalls_per_cycle bench-permit)"
read -r sc_fl bpf_fl <<<"$(syscalls_per_cycle bench-permit "$CG2" "$FLOOR_CG" "$FLOOR_PINS")"
printf '  %-40s %8s %8s\n' "" "all" "bpf()"
printf '  %-40s %8s %8s\n' "pam_permit only" "$((sc_pp / 2))" "$((bpf_pp / 2))"
printf '  %-40s %8s %8s\n' "added by pam_cgbpf (3 hooks, 7 links)" "$((sc_sb - sc_pp / 2 - sc_pp / 2))" \
	"$((bpf_sb - bpf_pp))"
printf '  %-40s %8s %8s\n' "kernel floor (session_bench's own cycle)" "$((sc_fl - sc_pp))" \
	"$((bpf_fl - bpf_pp))"
