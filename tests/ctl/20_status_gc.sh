#!/usr/bin/env bash
# cgbpfctl status and gc: status (human and --json) describes a live sandbox as the kernel sees
# it, with counters that grow with real traffic; gc removes a SIGKILLed session's sandbox and
# what only it used, keeps sandboxes with a live session or processes, and removes the anchor
# once no sandbox is left.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
sandbox_setup
[ -x "$CGBPFCTL" ] || die "cgbpfctl is built" "$CGBPFCTL is missing"
PY=/usr/bin/python3
[ -x "$PY" ] || die "python3" "$PY is missing"

U=$(mkuser cgsu)
UID_U=$(id -u "$U")
export U
W=$(mkuser cgsw)
UID_W=$(id -u "$W")
SVC=cgbpf-ctl20-$$
service "$SVC"
policy "* egress allow daddr=127.0.0.2" \
	"* egress deny daddr=127.0.0.3" \
	"* sock_create deny type=raw"

# ctl, verdict and has come from tests/sandbox.sh.

# status_json FILE: cgbpfctl status --json into FILE; fails unless it exits 0 and parses.
status_json() {
	"${CTL[@]}" status --json >"$1" 2>"$SCRATCH/status.err" && "$PY" -m json.tool "$1" >/dev/null
}

# jq_py FILE EXPR: a Python expression over the document d (helpers: sb(user), att(user, hook)).
jq_py() {
	"$PY" - "$1" "$2" <<'EOF'
import json, os, sys
d = json.load(open(sys.argv[1]))
U = os.environ.get("U")
def sb(user):
    return [s for s in d["sandboxes"] if s["user"] == user][0]
def att(user, hook, i=0):
    return sb(user)["hooks"][hook][i]
print(eval(sys.argv[2]))
EOF
}

# jcheck NAME FILE EXPR: passes when EXPR is true.
jcheck() {
	local v
	v=$(jq_py "$2" "$3" 2>&1)
	if [ "$v" = True ]; then
		pass "$1"
	else
		fail "$1" "$3 -> $v"
	fi
}

# ---- nothing yet ------------------------------------------------------------------------------
ctl status
verdict "status without sandboxes: exit 0, says so" "$([ "$RC" = 0 ] && has "no live sandbox" "$OUT" && echo 1)"
J0=$SCRATCH/s0.json
if status_json "$J0"; then
	pass "status --json without sandboxes parses"
	jcheck "status --json without sandboxes: empty list" "$J0" 'd["sandboxes"] == [] and d["errors"] == []'
else
	fail "status --json without sandboxes parses" "$(cat "$SCRATCH/status.err")"
fi

# ---- strings from elsewhere: quotes, backslashes, control bytes and bad UTF-8 stay harmless -----
NASTY=$'h"o\\st\x01\x1b[31m\xff\xc3\xa9'
expect_rc "a session with a hostile remote host name opens" 0 \
	pamtester -I rhost="$NASTY" -I tty=pts/99 "$SVC" "$W" open_session
JN=$SCRATCH/nasty.json
if status_json "$JN"; then pass "status --json with a hostile rhost parses"; else
	fail "status --json with a hostile rhost parses" "$(cat "$SCRATCH/status.err")"; fi
jcheck "json: the rhost survives, bad UTF-8 as U+FFFD" "$JN" \
	"sb('$W')['sessions'][0]['rhost'] == 'h\"o\\\\st\\x01\\x1b[31m\\ufffd\\u00e9' and sb('$W')['sessions'][0]['tty'] == 'pts/99'"
ctl status
verdict "human status shows control bytes escaped, never raw" \
	"$(has 'from h"o\\st\\x01\\x1b\[31m\\xffé' "$OUT" && ! grep -q $'\x1b' <<<"$OUT" && echo 1)"
expect_rc "that session closes" 0 pamtester "$SVC" "$W" close_session
assert_clean "the hostile-rhost session" "$UID_W"

# ---- a live sandbox ---------------------------------------------------------------------------
stdin_fifo_open
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/u.out" '^opened' "$PAMSESSION" "$SVC" "$U" hold ||
	die "a session of $U opens" "$(cat "$SCRATCH/u.out")"
PU=$BG_PID

J1=$SCRATCH/s1.json
if status_json "$J1"; then pass "status --json with a live sandbox parses"; else
	fail "status --json with a live sandbox parses" "$(cat "$SCRATCH/status.err")"; fi
jcheck "json: user and uid" "$J1" "sb('$U')['uid'] == $UID_U"
jcheck "json: the cgroup" "$J1" "sb('$U')['cgroup'] == '/$CG_ROOT/user-$UID_U' and sb('$U')['cgroup_exists']"
jcheck "json: one live session with pid, service and open time" "$J1" \
	"[(s['pid'], s['service'], s['state'], s['live']) for s in sb('$U')['sessions']] == [($PU, '$SVC', 'live', True)] and sb('$U')['sessions'][0]['opened'] > 1e9"
jcheck "json: the session's process is counted and listed" "$J1" \
	"sb('$U')['processes']['count'] >= 1 and $PU in sb('$U')['processes']['pids']"
jcheck "json: not reclaimable" "$J1" "sb('$U')['reclaimable'] is False"
jcheck "json: egress has the filter with program and link ids" "$J1" \
	"att('$U','egress')['kind'] == 'filter' and att('$U','egress')['program_id'] > 0 and att('$U','egress')['link_id'] > 0 and att('$U','egress')['program_name'] and att('$U','egress')['error'] is None"
jcheck "json: sock_create has a filter, ingress nothing" "$J1" \
	"att('$U','sock_create')['kind'] == 'filter' and sb('$U')['hooks']['ingress'] == []"
jcheck "json: the filter's rules carry their policy lines and actions" "$J1" \
	"[(r['line'], r['action']) for r in att('$U','egress')['counters']['rules']] == [(1, 'allow'), (2, 'deny')]"

# The ids are the kernel's: bpftool sees the same program on the cgroup and the same link.
EG_PROG=$(jq_py "$J1" "att('$U','egress')['program_id']")
EG_LINK=$(jq_py "$J1" "att('$U','egress')['link_id']")
check "bpftool lists the egress program id on the user's cgroup" \
	bash -c "bpftool -j cgroup show '$(cg_of "$UID_U")' | '$PY' -c 'import json,sys; sys.exit(0 if $EG_PROG in [p[\"id\"] for p in json.load(sys.stdin)] else 1)'"
check "bpftool lists the link with that program" \
	bash -c "bpftool -j link show id '$EG_LINK' | '$PY' -c 'import json,sys; l=json.load(sys.stdin); sys.exit(0 if l[\"prog_id\"] == $EG_PROG else 1)'"

# ---- counters grow with traffic from inside the sandbox ----------------------------------------
PORT=$(random_port)
# A denied datagram is refused at sendto() by the egress rules' early verdict (sendmsg4), so the
# drops are counted there; the egress filter counts what passes. (Egress drops and their bytes:
# tests/pam/60_connect.sh.)
D0=$(jq_py "$J1" "att('$U','sendmsg4')['counters']['dropped_packets']")
P0=$(jq_py "$J1" "att('$U','egress')['counters']['passed_packets']")
H0=$(jq_py "$J1" "att('$U','sendmsg4')['counters']['rules'][1]['hits']")
A0=$(jq_py "$J1" "att('$U','egress')['counters']['rules'][0]['hits']")
for i in 1 2 3; do
	expect_rc "a UDP send to the denied address fails with EPERM ($i)" 2 \
		as_sandboxed "$UID_U" "$NETPROBE" udp-send 127.0.0.3 "$PORT"
done
expect_rc "4 UDP sends to the allowed address" 0 \
	as_sandboxed "$UID_U" "$NETPROBE" udp-send 127.0.0.2 "$PORT" 4
J2=$SCRATCH/s2.json
status_json "$J2" || fail "status --json after traffic parses" "$(cat "$SCRATCH/status.err")"
jcheck "counters: sendmsg4 refused at least 3 calls" "$J2" \
	"att('$U','sendmsg4')['counters']['dropped_packets'] >= $D0 + 3 and att('$U','sendmsg4')['kind'] == 'filter'"
jcheck "counters: the deny rule (line 2) counted the hits at sendmsg4" "$J2" \
	"att('$U','sendmsg4')['counters']['rules'][1]['hits'] >= $H0 + 3 and att('$U','sendmsg4')['counters']['rules'][1]['line'] == 2"
jcheck "counters: passed packets and the allow rule grew by at least 4" "$J2" \
	"att('$U','egress')['counters']['passed_packets'] >= $P0 + 4 and att('$U','egress')['counters']['rules'][0]['hits'] >= $A0 + 4"

# The keys are the documented ones (cgbpfctl(8)), all of them present.
jcheck "json: exactly the documented keys" "$J2" "$(cat <<'EOF'
(set(d) == {'version', 'sandboxes', 'errors'} and
 set(sb(U)) == {'user', 'uid', 'cgroup', 'placement', 'slice', 'config', 'cgroup_id', 'cgroup_exists', 'reclaimable', 'processes', 'sessions', 'hooks'} and
 set(sb(U)['processes']) == {'count', 'pids'} and
 set(sb(U)['sessions'][0]) == {'pid', 'service', 'tty', 'rhost', 'opened', 'opened_iso', 'origin', 'live', 'state'} and
 set(sb(U)['hooks']) == {'ingress', 'egress', 'sock_create', 'connect4', 'connect6', 'sendmsg4', 'sendmsg6', 'bind4', 'bind6'} and
 set(att(U, 'egress')) == {'kind', 'what', 'ident', 'link', 'link_id', 'program_id', 'program_name', 'link_cgroup_id', 'error', 'counters', 'counters_error'} and
 set(att(U, 'egress')['counters']) == {'passed_packets', 'passed_bytes', 'dropped_packets', 'dropped_bytes', 'rules'} and
 set(att(U, 'egress')['counters']['rules'][0]) == {'index', 'line', 'action', 'hits'})
EOF
)"

ctl status
verdict "human status: user, uid, session, hooks, counters" \
	"$([ "$RC" = 0 ] && has "^$U \(uid $UID_U\)" "$OUT" && has "pid $PU +live" "$OUT" && has "^  egress" "$OUT" && has "filter +2 rules +program .*\(id $EG_PROG\) +link id $EG_LINK" "$OUT" && has "^  sendmsg4" "$OUT" && has "refused +[1-9][0-9]* calls" "$OUT" && has "line 2 +deny" "$OUT" && echo 1)"

# ---- gc keeps a sandbox with a live session ----------------------------------------------------
ctl gc
verdict "gc with only a live sandbox: exit 0, removes nothing of it" \
	"$([ "$RC" = 0 ] && ! has "user-$UID_U|$U" "$OUT" && echo 1)"
check "gc kept the live sandbox's ledger" test -f "$(ledger_of "$UID_U")"
check "gc kept the live sandbox's cgroup" test -d "$(cg_of "$UID_U")"

# ---- a SIGKILLed session with processes left: kept, the stale session reclaimed ---------------
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/wf.out" '^child [0-9]+' "$PAMSESSION" "$SVC" "$W" hold-fork ||
	die "a hold-fork session of $W opens" "$(cat "$SCRATCH/wf.out")"
PWF=$BG_PID
CHILD=$(sed -n 's/^child \([0-9]*\)$/\1/p' "$SCRATCH/wf.out")
on_exit kill -KILL "$CHILD"
kill -KILL "$PWF"
wait "$PWF" 2>/dev/null
J3=$SCRATCH/s3.json
status_json "$J3" || fail "status --json with a stale session parses" "$(cat "$SCRATCH/status.err")"
jcheck "json: the SIGKILLed session is stale, its child still counted" "$J3" \
	"sb('$W')['sessions'][0]['state'] == 'stale' and $CHILD in sb('$W')['processes']['pids'] and not sb('$W')['reclaimable']"
ctl gc
verdict "gc reclaims the stale session and says so" \
	"$([ "$RC" = 0 ] && has "removed stale session: user $W \(uid $UID_W\) pid $PWF" "$OUT" && echo 1)"
verdict "gc keeps a sandbox whose cgroup still has processes" \
	"$(! has "removed (sandbox|cgroup).*($W|user-$UID_W)" "$OUT" && [ -d "$(cg_of "$UID_W")" ] && [ -f "$(ledger_of "$UID_W")" ] && echo 1)"
kill -KILL "$CHILD"
for ((i = 0; i < 40; i++)); do
	[ -s "$(cg_of "$UID_W")/cgroup.procs" ] || break
	sleep 0.05
done
ctl gc
verdict "gc removes it once the last process is gone" \
	"$([ "$RC" = 0 ] && has "removed sandbox: user $W" "$OUT" && echo 1)"
assert_clean "gc after the last process left" "$UID_W"

# ---- a SIGKILLed session with nothing left: removed, each thing printed -------------------------
SHARED_BEFORE=$(find "$BPFFS/shared" -mindepth 1 -maxdepth 1 | sort)
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/w.out" '^opened' "$PAMSESSION" "$SVC" "$W" hold ||
	die "a session of $W opens" "$(cat "$SCRATCH/w.out")"
PW=$BG_PID
kill -KILL "$PW"
wait "$PW" 2>/dev/null
check "the killed session is still in the ledger" grep -q "^session $PW " "$(ledger_of "$UID_W")"
J4=$SCRATCH/s4.json
status_json "$J4" || fail "status --json parses" "$(cat "$SCRATCH/status.err")"
jcheck "json: the dead sandbox is reclaimable" "$J4" "sb('$W')['reclaimable'] and sb('$W')['processes']['count'] == 0"
ctl status
verdict "human status marks the dead sandbox for gc" "$(has "^$W \(uid $UID_W\).*gc removes it" "$OUT" && has "pid $PW +stale" "$OUT" && echo 1)"
ctl gc
verdict "gc: exit 0" "$([ "$RC" = 0 ] && echo 1)"
verdict "gc prints the stale session" "$(has "removed stale session: user $W \(uid $UID_W\) pid $PW" "$OUT" && echo 1)"
verdict "gc prints the cgroup" "$(has "removed cgroup: $(cg_of "$UID_W")$" "$OUT" && echo 1)"
verdict "gc prints the links" "$(has "removed link: $(pins_of "$UID_W")/egress-[0-9]+ \(egress filter\)" "$OUT" && has "removed link: $(pins_of "$UID_W")/sock_create-" "$OUT" && echo 1)"
verdict "gc prints the sandbox and its ledger" "$(has "removed sandbox: user $W \(uid $UID_W\), ledger $(ledger_of "$UID_W")" "$OUT" && echo 1)"
assert_clean "gc after SIGKILL" "$UID_W"
verdict "gc kept the anchor while a sandbox lives" "$(! has "anchor" "$OUT" && [ -e "$BPFFS/anchor" ] && echo 1)"
check "gc kept the shared programs the live sandbox uses" \
	test "$(find "$BPFFS/shared" -mindepth 1 -maxdepth 1 | sort)" = "$SHARED_BEFORE"
expect_rc "the live sandbox still refuses the denied address" 2 \
	as_sandboxed "$UID_U" "$NETPROBE" udp-send 127.0.0.3 "$PORT"
J5=$SCRATCH/s5.json
status_json "$J5" || fail "status --json parses" "$(cat "$SCRATCH/status.err")"
jcheck "the live sandbox's program is unchanged" "$J5" "att('$U','egress')['program_id'] == $EG_PROG"

# ---- leftovers of a crash in the middle of an open: pins and a cgroup without a ledger ----------
BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/o.out" '^opened' "$PAMSESSION" "$SVC" "$W" hold ||
	die "a session of $W opens" "$(cat "$SCRATCH/o.out")"
PO=$BG_PID
kill -KILL "$PO"
wait "$PO" 2>/dev/null
rm -f "$(ledger_of "$UID_W")"
ctl gc
verdict "gc removes the links of a uid without a ledger" \
	"$([ "$RC" = 0 ] && has "removed orphaned link: $(pins_of "$UID_W")/egress-" "$OUT" && echo 1)"
verdict "gc removes the empty cgroup of a uid without a ledger" \
	"$(has "removed orphaned cgroup: $(cg_of "$UID_W")$" "$OUT" && echo 1)"
assert_clean "gc of a crash's leftovers" "$UID_W"
check "the live sandbox is untouched" test -f "$(ledger_of "$UID_U")"

# ---- the last sandbox closes: gc removes the anchor and the shared programs ---------------------
kill -TERM "$PU"
expect_rc "the live session closes" 0 bg_wait "$PU"
assert_clean "the last session closed" "$UID_U"
check "the anchor outlives the last session" test -e "$BPFFS/anchor"
ctl gc
verdict "gc without sandboxes: removes the anchor links" \
	"$([ "$RC" = 0 ] && has "removed anchor link: $BPFFS/anchor/sock_create" "$OUT" && has "removed anchor link: $BPFFS/anchor/egress" "$OUT" && echo 1)"
verdict "gc without sandboxes: removes the anchor cgroup" \
	"$(has "removed anchor cgroup: $CG2/$CG_ROOT/anchor" "$OUT" && [ ! -e "$CG2/$CG_ROOT/anchor" ] && echo 1)"
verdict "gc without sandboxes: removes the shared programs" \
	"$(has "removed shared program: $BPFFS/shared/filter-" "$OUT" && ! find "$BPFFS/shared" -mindepth 1 2>/dev/null | grep -q . && echo 1)"
check "nothing is left in bpffs" test ! -e "$BPFFS/anchor"
check "the cgroup root is gone" test ! -e "$CG2/$CG_ROOT"
ctl gc
verdict "a second gc finds nothing" "$([ "$RC" = 0 ] && [ -z "$OUT" ] && echo 1)"
