#!/usr/bin/env bash
# cgbpfctl reload under load: a sandboxed process sends UDP to a denied address in a tight loop
# while the policy flips between equivalent forms (and one with an extra rule, which changes the
# program) and reload runs 15 times. Not one datagram may get through, and the attachment must
# really have been replaced. A broken policy fails the reload and keeps the old attachment.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
sandbox_setup
[ -x "$CGBPFCTL" ] || die "cgbpfctl is built" "$CGBPFCTL is missing"
PY=/usr/bin/python3
[ -x "$PY" ] || die "python3" "$PY is missing"

U=$(mkuser cgru)
UID_U=$(id -u "$U")
SVC=cgbpf-ctl30-$$
service "$SVC"

FORM_A=("* egress deny daddr=127.0.0.3")
FORM_B=("* egress allow daddr=127.0.0.2" "* egress deny daddr=127.0.0.3/32")
FORM_C=("* egress deny daddr=127.0.0.3/32")

# egress_prog: the program id on the user's egress hook, from status --json.
egress_prog() {
	"${CTL[@]}" status --json 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print([a["program_id"] for s in d["sandboxes"] if s["uid"] == int(sys.argv[1])
       for a in s["hooks"]["egress"] if a["kind"] == "filter"][0])' "$UID_U"
}

policy "${FORM_A[@]}"
stdin_fifo_open
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/s.out" '^opened' "$PAMSESSION" "$SVC" "$U" hold ||
	die "a session opens" "$(cat "$SCRATCH/s.out")"
SPID=$BG_PID

# ---- controls: the listener hears what is not denied -------------------------------------------
listen_udp 127.0.0.3 --timeout 5000 || die "a UDP listener on 127.0.0.3" "cannot start it"
CTRL_PID=$BG_PID CTRL_OUT=$BG_OUT CTRL_PORT=$PORT
expect_rc "control: the same user outside the sandbox sends to 127.0.0.3" 0 \
	as_user "$UID_U" "$NETPROBE" udp-send 127.0.0.3 "$CTRL_PORT" 3
expect_rc "control: inside the sandbox the send is refused" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" udp-send 127.0.0.3 "$CTRL_PORT"
sleep 0.3
stop_pid "$CTRL_PID"
n=$(grep -c '^from ' "$CTRL_OUT")
if [ "$n" = 3 ]; then pass "control: the listener received the 3 datagrams from outside"; else
	fail "control: the listener received the 3 datagrams from outside" "got $n"; fi

# ---- the load ----------------------------------------------------------------------------------
listen_udp 127.0.0.3 --timeout 600000 || die "a UDP listener on 127.0.0.3" "cannot start it"
LPID=$BG_PID LOUT=$BG_OUT LPORT=$PORT
# Sends as fast as it can until told to stop; prints "sent N denied M other K" at the end.
cat >"$SCRATCH/flood.py" <<'EOF'
import errno, signal, socket, sys
stop = False
def on_term(sig, frame):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = (sys.argv[1], int(sys.argv[2]))
sent = denied = other = 0
print("flooding", flush=True)
while not stop:
    try:
        s.sendto(b"x", dst)
        sent += 1
    except PermissionError:
        denied += 1
    except OSError:
        other += 1
print("sent %d denied %d other %d" % (sent, denied, other), flush=True)
EOF
chmod 0644 "$SCRATCH/flood.py"
cp "$SCRATCH/flood.py" "$POLDIR/flood.py" # SCRATCH is root-only; the user must read it
bg_start "$SCRATCH/flood.out" '^flooding' "$NETPROBE" as-user "$UID_U" "$(id -g "$U")" \
	--cgroup "$(cg_of "$UID_U")" -- "$PY" "$POLDIR/flood.py" 127.0.0.3 "$LPORT" ||
	die "the sandboxed sender starts" "$(cat "$SCRATCH/flood.out")"
FLOOD=$BG_PID

declare -A progs=()
p=$(egress_prog)
progs[$p]=1
updated=0 failed=0
forms=(A B C B A C B A B C A B C B A)
t0=$(date +%s%N)
for ((i = 0; i < 15; i++)); do
	case ${forms[i]} in
	A) policy "${FORM_A[@]}" ;;
	B) policy "${FORM_B[@]}" ;;
	C) policy "${FORM_C[@]}" ;;
	esac
	out=$("${CTL[@]}" reload 2>&1)
	rc=$?
	[ "$rc" = 0 ] || {
		failed=$((failed + 1))
		echo "    reload $i (form ${forms[i]}): exit $rc: $out"
	}
	grep -q "^$U (uid $UID_U): updated$" <<<"$out" && updated=$((updated + 1))
	p=$(egress_prog)
	[ -n "$p" ] && progs[$p]=1
done
echo "    15 policy flips and reloads took $((($(date +%s%N) - t0) / 1000000)) ms"
alive=0
kill -0 "$FLOOD" 2>/dev/null && alive=1
sleep 0.2
kill -TERM "$FLOOD" 2>/dev/null
bg_wait "$FLOOD" 5
sleep 0.3
stop_pid "$LPID"

if [ "$failed" = 0 ]; then pass "15 reloads exit 0"; else fail "15 reloads exit 0" "$failed failed"; fi
if [ "$updated" -ge 1 ]; then pass "reload reported 'updated' ($updated times)"; else
	fail "reload reported 'updated'" "never"; fi
if [ "${#progs[@]}" -ge 2 ]; then pass "the egress program id changed (${#progs[@]} distinct ids)"; else
	fail "the egress program id changed" "only ${!progs[*]}"; fi
if [ "$alive" = 1 ]; then pass "the sender ran through all the reloads"; else
	fail "the sender ran through all the reloads" "$(cat "$SCRATCH/flood.out")"; fi
stats=$(grep '^sent ' "$SCRATCH/flood.out")
read -r _ sent _ denied _ _ <<<"${stats:-sent ? denied ? other ?}"
echo "    sender: $stats"
if [ "$sent" = 0 ]; then pass "the sender saw every send refused"; else
	fail "the sender saw every send refused" "${stats:-no result}"; fi
if [ "${denied:-0}" -ge 1000 ] 2>/dev/null; then pass "the sender really tried ($denied sends refused)"; else
	fail "the sender really tried" "${stats:-no result}"; fi
n=$(grep -c '^from ' "$LOUT")
if [ "$n" = 0 ]; then pass "ZERO datagrams reached the listener during 15 reloads"; else
	fail "ZERO datagrams reached the listener during 15 reloads" "$n got through"; fi

# ---- equivalent forms change nothing, a broken policy changes nothing ---------------------------
policy "${FORM_A[@]}"
"${CTL[@]}" reload >/dev/null 2>&1
before=$(egress_prog)
policy "${FORM_C[@]}"
out=$("${CTL[@]}" reload 2>&1)
if grep -q "^$U (uid $UID_U): unchanged$" <<<"$out" && [ "$(egress_prog)" = "$before" ]; then
	pass "an equivalent form reloads as unchanged"
else
	fail "an equivalent form reloads as unchanged" "$out"
fi
policy "* egress deny daddr=127.0.0.3/33"
out=$("${CTL[@]}" reload 2>&1)
rc=$?
if [ "$rc" = 1 ] && grep -q "^$U (uid $UID_U): error: $POLICY:1: " <<<"$out"; then
	pass "a broken policy: reload exits 1 and names FILE:LINE"
else
	fail "a broken policy: reload exits 1 and names FILE:LINE" "exit $rc: $out"
fi
check "a broken policy keeps the old program attached" test "$(egress_prog)" = "$before"
expect_rc "and the sandbox still refuses the denied address" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" udp-send 127.0.0.3 "$LPORT"

policy "${FORM_A[@]}"
kill -TERM "$SPID"
expect_rc "the session closes" 0 bg_wait "$SPID"
assert_clean "after the session closed" "$UID_U"
