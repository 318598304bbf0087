#!/usr/bin/env bash
# The built-in filter in a live sandbox, proven by real traffic: allowed (address, port,
# protocol) combinations get through and the rest are refused, over IPv4 and IPv6 loopback,
# TCP and UDP; an ingress rule keeps a chosen source's datagrams from the user's listener;
# sock_create rules refuse raw or inet6 sockets while others work; 30 sandboxes with one policy
# share one loaded program per hook.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
sandbox_setup

U=$(mkuser cgflt)
UID_U=$(id -u "$U")
SVC=cgbpf-t50-$$
service "$SVC"
stdin_fifo_open
HAVE6=0
have_ipv6_loopback && HAVE6=1

# Listeners outside the sandbox: TCP on 127.0.0.2 and 127.0.0.3 (same port), ::1 (two ports).
P=$(random_port)
bg_start "$SCRATCH/l2.out" '^listening' "$NETPROBE" tcp-listen 127.0.0.2 "$P" || die listeners "127.0.0.2"
bg_start "$SCRATCH/l3.out" '^listening' "$NETPROBE" tcp-listen 127.0.0.3 "$P" || die listeners "127.0.0.3"
Q=$(random_port)
bg_start "$SCRATCH/l2q.out" '^listening' "$NETPROBE" tcp-listen 127.0.0.2 "$Q" || die listeners "127.0.0.2:Q"
if [ "$HAVE6" = 1 ]; then
	bg_start "$SCRATCH/l6.out" '^listening' "$NETPROBE" tcp-listen ::1 "$P" || die listeners "::1"
	bg_start "$SCRATCH/l6q.out" '^listening' "$NETPROBE" tcp-listen ::1 "$Q" || die listeners "::1:Q"
fi

open_held() {
	BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/hold.$RANDOM" '^opened' "$PAMSESSION" "$SVC" "$U" hold ||
		die "open a session" "failed"
	HOLD=$BG_PID
}
close_held() {
	kill -TERM "$HOLD"
	expect_rc "close the session" 0 bg_wait "$HOLD"
	assert_clean "$1" "$UID_U"
}
conn() { as_sandboxed "$UID_U" "$NETPROBE" tcp-connect "$1" "$2" 800; }
udp() { as_sandboxed "$UID_U" "$NETPROBE" udp-send "$1" "$2"; }

# ---- egress: addresses, ports, protocols, first match wins ------------------------------------
policy "* egress allow daddr=127.0.0.2 dport=$P proto=tcp" \
	"* egress allow daddr=::1 dport=$P proto=tcp" \
	"* egress allow daddr=127.0.0.2/32 proto=udp dport=$Q" \
	"* egress deny daddr=127.0.0.0/8" \
	"* egress allow proto=udp" \
	"* egress deny"
open_held
expect_rc "TCP to an allowed address and port (127.0.0.2:P) connects" 0 conn 127.0.0.2 "$P"
expect_rc "TCP to the allowed address, another port (127.0.0.2:Q) is refused (EPERM)" 2 conn 127.0.0.2 "$Q"
expect_rc "TCP to another address, the allowed port (127.0.0.3:P) is refused (EPERM)" 2 conn 127.0.0.3 "$P"
expect_rc "UDP to the allowed address and UDP port (127.0.0.2:Q) is sent" 0 udp 127.0.0.2 "$Q"
expect_rc "UDP to the allowed address, the TCP-only port (127.0.0.2:P) is refused" 2 udp 127.0.0.2 "$P"
expect_rc "UDP to 127.0.0.3 matches the deny on 127.0.0.0/8 first (EPERM)" 2 udp 127.0.0.3 "$Q"
if [ "$HAVE6" = 1 ]; then
	expect_rc "TCP to [::1]:P (allowed over IPv6) connects" 0 conn ::1 "$P"
	expect_rc "TCP to [::1]:Q is refused (EPERM)" 2 conn ::1 "$Q"
	expect_rc "UDP to [::1] falls through to 'allow proto=udp'" 0 udp ::1 "$Q"
else
	skip "IPv6 egress" "no ::1 on this machine"
fi
close_held "egress rules"
expect_rc "after close, 127.0.0.3:P connects again" 0 \
	as_user "$UID_U" "$NETPROBE" tcp-connect 127.0.0.3 "$P" 800

# ---- ingress: a chosen source's datagrams are kept from the user's own listener ---------------
policy "* ingress deny saddr=127.0.0.3 proto=udp" "* ingress allow"
open_held
R=$(random_port)
BG_STDIN=/dev/null bg_start "$SCRATCH/recv.out" '^listening' \
	as_sandboxed "$UID_U" "$NETPROBE" udp-recv 0.0.0.0 "$R" --timeout 1500 ||
	die "a listener in the sandbox" "$(cat "$SCRATCH/recv.out")"
RECV=$BG_PID
"$NETPROBE" udp-send 127.0.0.2 "$R" 3 --from 127.0.0.2 >/dev/null
"$NETPROBE" udp-send 127.0.0.3 "$R" 3 --from 127.0.0.3 >/dev/null
bg_wait "$RECV" 10 >/dev/null
check "datagrams from 127.0.0.2 reach the user's listener" grep -q 'from 127.0.0.2' "$SCRATCH/recv.out"
check_fails "datagrams from 127.0.0.3 do not" grep -q 'from 127.0.0.3' "$SCRATCH/recv.out"
check "exactly the three allowed ones arrived" grep -qx 'received 3' "$SCRATCH/recv.out"
close_held "ingress rule"

# ---- sock_create ----------------------------------------------------------------------------------
policy "* sock_create deny type=raw" "* sock_create deny family=inet6"
open_held
expect_rc "an inet6 socket is refused (EPERM)" 2 as_sandboxed "$UID_U" "$NETPROBE" socket inet6 stream
expect_rc "an inet6 UDP socket is refused too" 2 as_sandboxed "$UID_U" "$NETPROBE" socket inet6 dgram
expect_rc "an inet TCP socket works" 0 as_sandboxed "$UID_U" "$NETPROBE" socket inet stream
expect_rc "an inet UDP socket works" 0 as_sandboxed "$UID_U" "$NETPROBE" socket inet dgram
expect_rc "a raw socket is refused even with CAP_NET_RAW" 2 \
	root_in_sandbox "$UID_U" "$NETPROBE" socket inet raw icmp
close_held "sock_create rules"
policy "* sock_create deny proto=udp"
open_held
expect_rc "proto=udp refuses socket(AF_INET, SOCK_DGRAM, 0)" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" socket inet dgram
expect_rc "proto=udp lets socket(AF_INET, SOCK_STREAM, 0) through" 0 \
	as_sandboxed "$UID_U" "$NETPROBE" socket inet stream
close_held "sock_create proto rule"

# ---- sharing: 30 sandboxes, one policy ------------------------------------------------------------
# A session under another policy first, so that the anchor exists before counting.
policy "* egress deny daddr=203.0.113.0/24"
expect_rc "a warm-up session" 0 "$PAMSESSION" "$SVC" "$U" open-close
policy "* ingress deny saddr=192.0.2.0/24" "* egress deny daddr=198.51.100.0/24" \
	"* sock_create deny type=raw"
progs() { bpftool prog show 2>/dev/null | grep -cE '^[0-9]+: '; }
before=$(progs)
holders=()
for i in $(seq 30); do
	u=$(mkuser "cgsh$i")
	"$PAMSESSION" "$SVC" "$u" hold <"$STDIN_FIFO" >"$SCRATCH/sh$i.out" 2>&1 &
	holders+=($!)
done
on_exit stop_pid "${holders[@]}"
for ((t = 0; t < 200; t++)); do
	n=$(cat "$SCRATCH"/sh*.out | grep -c '^opened')
	[ "$n" -ge 30 ] && break
	sleep 0.05
done
during=$(progs)
links=$(bpftool link show 2>/dev/null | grep -c 'cgroup')
echo "    loaded programs: $before before, $during during 30 live sandboxes ($links cgroup links)"
# Exactly one per hook (three, and the egress rules' four early programs), loaded for the
# first of the 30 and shared by the rest.
if [ "$n" = 30 ] && [ $((during - before)) -eq $((3 + EARLY)) ]; then
	pass "30 sandboxes with one policy add one program per hook ($((3 + EARLY))), not $((30 * (3 + EARLY)))"
else
	fail "30 sandboxes with one policy add at most one program per hook" \
		"$n opened; programs $before -> $during"
fi
if [ "$links" -ge $((30 * (3 + EARLY))) ]; then pass "each of the 30 has its own $((3 + EARLY)) links"; else
	fail "each of the 30 has its own $((3 + EARLY)) links" "$links cgroup links"; fi
kill -TERM "${holders[@]}"
for p in "${holders[@]}"; do bg_wait "$p" 10 >/dev/null; done
left=$(find "$CG2/$CG_ROOT" -maxdepth 1 -name 'user-*' | wc -l)
if [ "$left" = 0 ]; then pass "all 30 sandboxes are gone after logout"; else
	fail "all 30 sandboxes are gone after logout" "$left left"; fi

# ---- a policy change reaches a live sandbox at the user's next open, with no gap ------------------
policy "* egress deny daddr=127.0.0.3"
open_held
FIRST=$HOLD
id1=$(bpftool cgroup show "$(cg_of "$UID_U")" | awk '$2 ~ /egress/ {print $1}')
expect_rc "the first policy refuses 127.0.0.3 (EPERM)" 2 conn 127.0.0.3 "$P"
expect_rc "and lets 127.0.0.2 through" 0 conn 127.0.0.2 "$P"
# A sender in the sandbox keeps trying the address both policies deny while the change lands.
# It stops by itself after 3 s (a shell function in the background cannot be killed whole).
bg_start "$SCRATCH/sink.out" '^listening' "$NETPROBE" udp-recv 127.0.0.3 "$Q" --timeout 4000
SINK=$BG_PID
# A positive control: five datagrams from outside the sandbox must arrive.
"$NETPROBE" udp-send 127.0.0.3 "$Q" 5 >/dev/null
as_sandboxed "$UID_U" sh -c "end=\$((\$(date +%s) + 3)); n=0
	while [ \$(date +%s) -lt \$end ]; do $NETPROBE udp-send 127.0.0.3 $Q 50 >/dev/null; n=\$((n + 50)); done
	echo tries \$n" >"$SCRATCH/flood.out" 2>&1 &
FLOOD=$!
sleep 0.5
policy "* egress deny daddr=127.0.0.2" "* egress deny daddr=127.0.0.3"
open_held
SECOND=$HOLD
id2=$(bpftool cgroup show "$(cg_of "$UID_U")" | awk '$2 ~ /egress/ {print $1}')
wait "$FLOOD"
bg_wait "$SINK" 10 >/dev/null
if [ -n "$id1" ] && [ -n "$id2" ] && [ "$id1" != "$id2" ] && [ "$(echo "$id2" | wc -l)" = 1 ]; then
	pass "the second open replaced the egress program in place ($id1 -> $id2)"
else
	fail "the second open replaced the egress program in place" "before: $id1 after: $id2"
fi
tries=$(awk '/^tries/ {print $2}' "$SCRATCH/flood.out")
if [ "${tries:-0}" -gt 0 ] && grep -qx 'received 5' "$SCRATCH/sink.out"; then
	pass "none of $tries datagrams to the denied address got through during the change"
else
	fail "no datagram to the denied address got through during the change" \
		"tries=${tries:-none}; sink: $(grep received "$SCRATCH/sink.out")"
fi
expect_rc "the new policy refuses 127.0.0.2 for every process of the user (EPERM)" 2 conn 127.0.0.2 "$P"
HOLD=$FIRST
kill -TERM "$HOLD"
bg_wait "$HOLD" >/dev/null
HOLD=$SECOND
close_held "after a policy change"

# ---- the limit: 100,000 prefixes in one policy ------------------------------------------------------
# 100 lines of 1,000 distinct /32s; the last prefix of the last line is 127.0.0.2.
{
	for ((l = 0; l < 100; l++)); do
		printf '* egress allow daddr='
		for ((i = 0; i < 999; i++)); do printf '10.%d.%d.%d/32,' "$l" $((i / 256)) $((i % 256)); done
		if [ "$l" = 99 ]; then echo "127.0.0.2/32"; else echo "10.$l.3.231/32"; fi
	done
	echo "* egress deny"
} >"$POLICY"
n=$(grep -o '/32' "$POLICY" | wc -l)
open_held
expect_rc "with $n prefixes, the allowed 127.0.0.2 connects" 0 conn 127.0.0.2 "$P"
expect_rc "with $n prefixes, 127.0.0.3 is refused (EPERM)" 2 conn 127.0.0.3 "$P"
close_held "100,000 prefixes"

# ---- identical rules on different lines share one program; status keeps each user's lines ------
G1=$(mkgroup cgg1)
G2=$(mkgroup cgg2)
UA=$(mkuser cgsa -G "$G1")
UB=$(mkuser cgsb -G "$G2")
policy "@$G1 egress deny daddr=127.0.0.3" "# the same rule for another group, two lines down" \
	"@$G2 egress deny daddr=127.0.0.3"
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/ha.out" '^opened' "$PAMSESSION" "$SVC" "$UA" hold
HA=$BG_PID
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/hb.out" '^opened' "$PAMSESSION" "$SVC" "$UB" hold
HB=$BG_PID
pa=$(bpftool cgroup show "$(cg_of "$(id -u "$UA")")" | awk '$2 ~ /egress/ {print $1}')
pb=$(bpftool cgroup show "$(cg_of "$(id -u "$UB")")" | awk '$2 ~ /egress/ {print $1}')
if [ -n "$pa" ] && [ "$pa" = "$pb" ]; then pass "the same rules from lines 1 and 3 share one program ($pa)"; else
	fail "the same rules from lines 1 and 3 share one program" "$pa vs $pb"; fi
"${CTL[@]}" status --json >"$SCRATCH/st.json"
check "status shows line 1 for the first user and line 3 for the second" python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
lines = {}
for sb in d['sandboxes']:
    for a in sb['hooks']['egress']:
        lines[sb['user']] = [r['line'] for r in a['counters']['rules']]
sys.exit(0 if lines.get(sys.argv[2]) == [1] and lines.get(sys.argv[3]) == [3] else 1)
" "$SCRATCH/st.json" "$UA" "$UB"
kill -TERM "$HA" "$HB"
bg_wait "$HA" >/dev/null
bg_wait "$HB" >/dev/null
assert_clean "the first group user" "$(id -u "$UA")"
assert_clean "the second group user" "$(id -u "$UB")"
