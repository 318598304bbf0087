#!/usr/bin/env bash
# Prompt refusals (INTERFACE.md §4): in a live sandbox the egress rules are also judged at
# connect() and sendmsg() time. A TCP connect to a denied IPv4, IPv6 or IPv4-mapped
# destination fails with EPERM instead of waiting for SYN retransmissions; a UDP connect()
# and an unconnected sendto() to a denied destination fail with EPERM at the system call;
# allowed destinations still work, including one allowed only from a bound source port; a
# rule needing the unknown source port makes the early check defer to the packet filter;
# the same user outside the sandbox is unaffected; an administrator's connect4 program added
# by a reload still runs before the early check. Real sockets on loopback only.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
sandbox_setup

U=$(mkuser cgcon)
UID_U=$(id -u "$U")
SVC=cgbpf-t60-$$
service "$SVC"
stdin_fifo_open
HAVE6=0
have_ipv6_loopback && HAVE6=1

# Listeners outside the sandbox, TCP port P on 127.0.0.2, 127.0.0.3, 127.0.0.4 (and ::1).
P=$(random_port)
Q=$(random_port)
S=$(random_port)  # the one source port from which 127.0.0.4 may be reached
S2=$(random_port) # another bound source port
for a in 127.0.0.2 127.0.0.3 127.0.0.4; do
	bg_start "$SCRATCH/l$a.out" '^listening' "$NETPROBE" tcp-listen "$a" "$P" ||
		die listeners "$a: $(cat "$SCRATCH/l$a.out")"
done
if [ "$HAVE6" = 1 ]; then
	bg_start "$SCRATCH/l6.out" '^listening' "$NETPROBE" tcp-listen ::1 "$P" || die listeners "::1"
	bg_start "$SCRATCH/l6q.out" '^listening' "$NETPROBE" tcp-listen ::1 "$Q" || die listeners "::1:Q"
fi

policy "* egress allow daddr=127.0.0.2 dport=$P proto=tcp" \
	"* egress allow daddr=::1 dport=$P proto=tcp" \
	"* egress allow daddr=127.0.0.4 proto=tcp sport=$S" \
	"* egress allow daddr=127.0.0.2 proto=udp dport=$Q" \
	"* egress deny daddr=127.0.0.0/8" \
	"* egress deny daddr=::1" \
	"* egress allow"

BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/hold" '^opened' "$PAMSESSION" "$SVC" "$U" hold ||
	die "open a session" "$(cat "$SCRATCH/hold")"
HOLD=$BG_PID

# probe LABEL RC ERRTEXT CMD...: CMD inside the sandbox exits RC and, for a refusal, says ERRTEXT.
probe() {
	local label=$1 want=$2 text=$3 out rc
	shift 3
	out=$(as_sandboxed "$UID_U" "$NETPROBE" "$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && { [ -z "$text" ] || grep -q -- "$text" <<<"$out"; }; then
		pass "$label"
	else
		fail "$label" "exit $rc (want $want${text:+, '$text'}): $out"
	fi
}
EPERM='Operation not permitted'

# The timeouts are generous: a refusal that came from the packet filter would time out (exit 3).
probe "TCP connect to a denied IPv4 destination (127.0.0.3:P) fails with EPERM" 2 "$EPERM" \
	tcp-connect 127.0.0.3 "$P" 3000
probe "TCP connect to an allowed IPv4 destination (127.0.0.2:P) connects" 0 "" \
	tcp-connect 127.0.0.2 "$P" 3000
probe "TCP connect to a denied IPv4-mapped destination (::ffff:127.0.0.3) fails with EPERM" 2 \
	"$EPERM" tcp-connect ::ffff:127.0.0.3 "$P" 3000
probe "TCP connect to an allowed IPv4-mapped destination (::ffff:127.0.0.2) connects" 0 "" \
	tcp-connect ::ffff:127.0.0.2 "$P" 3000
if [ "$HAVE6" = 1 ]; then
	probe "TCP connect to a denied IPv6 destination ([::1]:Q) fails with EPERM" 2 "$EPERM" \
		tcp-connect ::1 "$Q" 3000
	probe "TCP connect to an allowed IPv6 destination ([::1]:P) connects" 0 "" \
		tcp-connect ::1 "$P" 3000
else
	skip "IPv6 connects" "no ::1 on this machine"
fi

# UDP: connect() sends nothing, so only the early check can refuse it.
probe "UDP connect() to a denied IPv4 destination fails with EPERM at connect" 2 \
	"connect: $EPERM" udp-connect 127.0.0.3 "$Q"
probe "UDP connect() to a denied IPv4-mapped destination fails with EPERM at connect" 2 \
	"connect: $EPERM" udp-connect ::ffff:127.0.0.3 "$Q"
probe "UDP connect() and send to the allowed 127.0.0.2:Q work" 0 "" udp-connect 127.0.0.2 "$Q"
probe "UDP connect() and send to the allowed ::ffff:127.0.0.2:Q work" 0 "" \
	udp-connect ::ffff:127.0.0.2 "$Q"
probe "unconnected UDP sendto() a denied IPv4 destination fails with EPERM" 2 "$EPERM" \
	udp-send 127.0.0.3 "$Q"
probe "unconnected UDP sendto() a denied IPv4-mapped destination fails with EPERM" 2 "$EPERM" \
	udp-send ::ffff:127.0.0.3 "$Q"
probe "unconnected UDP sendto() the allowed 127.0.0.2:Q works" 0 "" udp-send 127.0.0.2 "$Q"
if [ "$HAVE6" = 1 ]; then
	probe "UDP connect() to a denied IPv6 destination fails with EPERM at connect" 2 \
		"connect: $EPERM" udp-connect ::1 "$Q"
	probe "unconnected UDP sendto() a denied IPv6 destination fails with EPERM" 2 "$EPERM" \
		udp-send ::1 "$Q"
fi

# The source port: allowed only from port S, which is known once the socket is bound.
probe "TCP to 127.0.0.4:P bound to the allowed source port S connects" 0 "" \
	tcp-connect 127.0.0.4 "$P" 3000 --sport "$S"
probe "TCP to 127.0.0.4:P bound to another source port fails with EPERM at once" 2 "$EPERM" \
	tcp-connect 127.0.0.4 "$P" 3000 --sport "$S2"
# Unbound, the port is not known at connect time: the early check defers, the packet filter
# drops the SYN (from an ephemeral port), and the connect times out; the egress filter's deny
# rule (line 5) counts the dropped SYNs and their bytes.
egress_drops() {
	"${CTL[@]}" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
sb = [s for s in d["sandboxes"] if s["uid"] == int(sys.argv[1])][0]
c = sb["hooks"]["egress"][0]["counters"]
print(c["dropped_packets"], c["dropped_bytes"], c["rules"][4]["hits"])' "$UID_U"
}
read -r d0 b0 h0 <<<"$(egress_drops)"
probe "TCP to 127.0.0.4:P unbound is left to the packet filter, which drops it" 3 "" \
	tcp-connect 127.0.0.4 "$P" 700
read -r d1 b1 h1 <<<"$(egress_drops)"
if [ "${d1:-0}" -gt "${d0:-0}" ] && [ "${b1:-0}" -gt "${b0:-0}" ] && [ "${h1:-0}" -gt "${h0:-0}" ]; then
	pass "the egress filter counted the dropped SYNs, their bytes and the deny rule's hits"
else
	fail "the egress filter counted the dropped SYNs" "packets $d0 -> $d1, bytes $b0 -> $b1, hits $h0 -> $h1"
fi

# The refusals were the early hooks' doing: their counters in status (kernel maps) say so.
"${CTL[@]}" status --json >"$SCRATCH/st.json" 2>"$SCRATCH/st.err" || fail "status --json" "$(cat "$SCRATCH/st.err")"
counts=$(python3 - "$SCRATCH/st.json" "$UID_U" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sb = [s for s in d["sandboxes"] if s["uid"] == int(sys.argv[2])][0]
out = []
for h in ("connect4", "connect6", "sendmsg4", "sendmsg6"):
    c = [a["counters"] for a in sb["hooks"][h] if a["kind"] == "filter" and a["counters"]]
    out.append("%s=%d" % (h, sum(x["dropped_packets"] for x in c)))
print(" ".join(out))
PY
)
case "$counts" in
*"connect4=0"* | *"sendmsg4=0"* | "") fail "status counts the early refusals per hook" "$counts" ;;
*) pass "status counts the early refusals per hook ($counts)" ;;
esac

# The same user outside the sandbox is not affected.
expect_rc "outside the sandbox, TCP to 127.0.0.3:P connects" 0 \
	as_user "$UID_U" "$NETPROBE" tcp-connect 127.0.0.3 "$P" 3000
expect_rc "outside the sandbox, UDP connect() to 127.0.0.3 works" 0 \
	as_user "$UID_U" "$NETPROBE" udp-connect 127.0.0.3 "$Q"
expect_rc "outside the sandbox, TCP to 127.0.0.4:P from any port connects" 0 \
	as_user "$UID_U" "$NETPROBE" tcp-connect 127.0.0.4 "$P" 3000

# An administrator's connect4 program added by a reload runs before the early verdict, which
# judges the address it rewrote (127.0.0.5 -> the allowed 127.0.0.2), as on a fresh open.
OBJDIR=$(tmpdir_root)
install -m 0644 "$TEST_BPF/rewrite_addr.bpf.o" "$OBJDIR/rewrite_addr.bpf.o"
probe "before the reload, TCP connect to the denied 127.0.0.5:P fails with EPERM" 2 "$EPERM" \
	tcp-connect 127.0.0.5 "$P" 3000
cp "$POLICY" "$SCRATCH/policy.before"
policy "$(cat "$SCRATCH/policy.before")" "* connect4 program $OBJDIR/rewrite_addr.bpf.o"
out=$("${CTL[@]}" reload 2>&1) || fail "reload with a connect4 program" "$out"
probe "after the reload, connect to 127.0.0.5:P is rewritten to 127.0.0.2:P and connects" 0 "" \
	tcp-connect 127.0.0.5 "$P" 3000
probe "after the reload, TCP connect to the denied 127.0.0.3:P still fails with EPERM" 2 \
	"$EPERM" tcp-connect 127.0.0.3 "$P" 3000

kill -TERM "$HOLD"
expect_rc "close the session" 0 bg_wait "$HOLD"
assert_clean "prompt refusals" "$UID_U"
