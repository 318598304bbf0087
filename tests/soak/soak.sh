#!/usr/bin/env bash
# make soak (not part of make check): SOAK_SESSIONS sessions (default 10,000) opened by
# SOAK_WORKERS concurrent workers for SOAK_USERS users, in every way a session can go:
# open+close in one process, open here and close from another process, sessions held and closed
# by SIGTERM, openers and held sessions SIGKILLed at random moments (in the middle of open
# too), openers under random `ulimit -n` and `ulimit -f`; meanwhile the policy changes and
# `cgbpfctl reload` and `cgbpfctl gc` run, and a checker proves on live sessions, by a refused
# datagram, that every live session is in its sandbox. At the end: no cgroup, pin, ledger,
# program or link is left, and one process doing many sessions leaks no descriptor or memory.
# Prints the figures. Run under the machine-wide lock: flock /run/cgbpf-dev.lock make soak.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
SESSIONS=${SOAK_SESSIONS:-10000}
WORKERS=${SOAK_WORKERS:-8}
NUSERS=${SOAK_USERS:-6}
LOOP=${SOAK_LOOP:-2000}
PAMLOOP=$HELPERS/pamloop
[ -x "$PAMLOOP" ] || die "helpers are built" "$PAMLOOP is missing (make tests)"
sandbox_setup
SVC=cgbpf-soak-$$
service "$SVC" on_logout=kill
W=$SCRATCH/soak
mkdir -p "$W/live" "$W/count"
# Held sessions read a fifo that this shell keeps open: no EOF until they are told to close.
mkfifo -m 0600 "$W/stdin"
exec {SOAK_FD}<>"$W/stdin"

# Both policies deny UDP to port 9 on egress, so the checker's probe is refused under either.
POLICY_A=("* egress deny proto=udp dport=9" "* egress allow" "* sock_create deny type=raw"
	"* ingress deny proto=udp sport=9")
POLICY_B=("* egress deny proto=udp dport=9,19" "* sock_create deny type=raw family=inet,inet6")
policy "${POLICY_A[@]}"

progs_before=$(bpftool prog show 2>/dev/null | grep -c '^[0-9]*:')
links_before=$(bpftool link show 2>/dev/null | grep -c '^[0-9]*:')

USERS=()
UIDS=()
for ((i = 0; i < NUSERS; i++)); do
	u=$(mkuser cgsoak) || die mkuser "cannot create user $i"
	USERS+=("$u")
	UIDS+=("$(id -u "$u")")
done

# limits: a random ulimit prefix for an opener (soft limits only: the hard ones would need
# CAP_SYS_RESOURCE to lift, see tests/pam/70_limits.sh).
limits() {
	local l=""
	((RANDOM % 5 == 0)) && l="ulimit -S -n $((12 + RANDOM % 40));"
	((RANDOM % 8 == 0)) && l="$l ulimit -S -f $((RANDOM % 3));"
	echo "$l"
}

# run_limited LIMITS CMD...: CMD under LIMITS, output through a pipe (no RLIMIT_FSIZE on it).
run_limited() {
	local l=$1 out rc
	shift
	out=$(bash -c "$l"' exec "$@"' soak "$@" 2>&1 | cat)
	rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || printf '%s [%s]: %s\n' "$*" "$l" "$out" >>"$W/refused"
	return "$rc"
}

worker() {
	local id=$1 quota=$2 n=0 ok=0 bad=0 killed=0 held=0 k u l act pid
	while ((n < quota)); do
		k=$((RANDOM % NUSERS))
		u=${USERS[$k]}
		l=$(limits)
		act=$((RANDOM % 100))
		n=$((n + 1))
		if ((act < 45)); then
			if run_limited "$l" "$PAMSESSION" "$SVC" "$u" open-close; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
		elif ((act < 60)); then
			# open here, close from another process (or leave it stale, for the next to reclaim)
			if run_limited "$l" "$PAMSESSION" "$SVC" "$u" open; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
			((RANDOM % 2)) && run_limited "" "$PAMSESSION" "$SVC" "$u" close
		elif ((act < 88)); then
			# held for a while, closed by SIGTERM or SIGKILLed
			(
				hf=$W/h.$BASHPID
				# Output through a pipe: the hold prints under the user's RLIMIT_FSIZE.
				bash -c "$l"' exec "$@"' soak "$PAMSESSION" "$SVC" "$u" hold <"$W/stdin" \
					> >(cat >"$hf") 2>&1 &
				hp=$!
				for ((t = 0; t < 100; t++)); do
					grep -q '^opened' "$hf" 2>/dev/null && break
					kill -0 "$hp" 2>/dev/null || break
					sleep 0.02
				done
				if grep -q '^opened' "$hf" 2>/dev/null; then
					echo "$k" >"$W/live/$hp"
					sleep "0.$((RANDOM % 8))$((RANDOM % 10))"
					rm -f "$W/live/$hp"
					if ((RANDOM % 3)); then kill -TERM "$hp"; else kill -KILL "$hp"; fi
				else
					kill -KILL "$hp" 2>/dev/null
					echo "hold $u [$l]: $(cat "$hf" 2>/dev/null)" >>"$W/refused"
				fi
				wait "$hp" 2>/dev/null
				rm -f "$hf"
			) &
			held=$((held + 1))
			# at most a few held sessions per worker at once
			while (($(jobs -rp | wc -l) > 3)); do wait -n 2>/dev/null; done
		else
			# an opener SIGKILLed at a random moment, in the middle of open or close too
			bash -c "$l"' exec "$@"' soak "$PAMSESSION" "$SVC" "$u" open-close >/dev/null 2>&1 &
			pid=$!
			sleep "0.00$((RANDOM % 10))"
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			killed=$((killed + 1))
		fi
	done
	wait
	echo "$n $ok $bad $held $killed" >"$W/count/$id"
}

# The checker: a live held session must be in its sandbox, and the sandbox must refuse.
checker() {
	local checked=0 violations=0 f hp k uid cg
	while [ ! -e "$W/stop" ]; do
		for f in "$W"/live/*; do
			[ -e "$f" ] || continue
			hp=${f##*/}
			k=$(cat "$f" 2>/dev/null) || continue
			[ -n "$k" ] || continue
			uid=${UIDS[$k]}
			cg=$("$NETPROBE" cgroup-of "$hp" 2>/dev/null) || continue
			as_sandboxed "$uid" "$NETPROBE" udp-send 127.0.0.1 9 >/dev/null 2>&1
			rc=$?
			# Only a session still live (and still listed) after the probe counts.
			[ -e "$f" ] && kill -0 "$hp" 2>/dev/null || continue
			checked=$((checked + 1))
			if [ "$cg" != "/$CG_ROOT/user-$uid" ] || [ "$rc" != 2 ]; then
				violations=$((violations + 1))
				echo "violation: pid $hp of uid $uid in '$cg', probe exit $rc" >>"$W/violations"
			fi
		done
		sleep 0.05
	done
	echo "$checked $violations" >"$W/checker"
}

controller() {
	local reloads=0 reload_fail=0 gcs=0 flip=0
	while [ ! -e "$W/stop" ]; do
		sleep 1.5
		flip=$((1 - flip))
		if [ "$flip" = 1 ]; then policy "${POLICY_B[@]}"; else policy "${POLICY_A[@]}"; fi
		if "${CTL[@]}" reload >/dev/null 2>>"$W/reload.err"; then reloads=$((reloads + 1)); else
			reload_fail=$((reload_fail + 1)); fi
		sleep 1
		"${CTL[@]}" gc >/dev/null 2>&1
		gcs=$((gcs + 1))
	done
	echo "$reloads $reload_fail $gcs" >"$W/controller"
}

start=$(date +%s)
echo "soak: $SESSIONS sessions, $WORKERS workers, $NUSERS users"
controller &
CTRL=$!
checker &
CHK=$!
WPIDS=()
for ((i = 0; i < WORKERS; i++)); do
	worker "$i" $((SESSIONS / WORKERS + (i < SESSIONS % WORKERS ? 1 : 0))) &
	WPIDS+=($!)
done
for p in "${WPIDS[@]}"; do wait "$p"; done
touch "$W/stop"
wait "$CTRL" "$CHK"
exec {SOAK_FD}>&-
end=$(date +%s)

read -r n ok bad held killed < <(awk '{ n += $1; o += $2; b += $3; h += $4; k += $5 } END { print n, o, b, h, k }' "$W"/count/*)
read -r checked violations <"$W/checker"
read -r reloads reload_fail gcs <"$W/controller"
echo "soak: $n sessions in $((end - start)) s: $ok opened (open-close or open), $bad refused," \
	"$held held (closed by SIGTERM or SIGKILLed), $killed openers SIGKILLed mid-way"
echo "soak: $reloads reloads ($reload_fail failed), $gcs gc runs; checker: $checked live sessions probed"
check "every session the workers started was counted ($n of $SESSIONS)" test "$n" = "$SESSIONS"
check "no live session outside its sandbox ($checked probed, $violations violations)" \
	test "$violations" = 0 -a "$checked" -gt 0
[ -s "$W/violations" ] && head -5 "$W/violations" | sed 's/^/    | /'
check "reload never failed ($reloads runs)" test "$reload_fail" = 0
[ -s "$W/reload.err" ] && sort "$W/reload.err" | uniq -c | sort -rn | head -5 | sed 's/^/    | /'
# A refusal is a clean failure (each is checked for leftovers below); openers never fail in bulk.
check "refused opens are rare ($bad of $n)" test "$bad" -le $((n / 100))
[ -s "$W/refused" ] && sed 's/^/    refused| /' "$W/refused" | head -8

# ---- the end: everything collected ---------------------------------------------------------------
sleep 0.5
"${CTL[@]}" gc >"$W/gc.out" 2>&1
"${CTL[@]}" gc >>"$W/gc.out" 2>&1
left_cg=$(find "$CG2/$CG_ROOT" -mindepth 1 -type d 2>/dev/null | wc -l)
left_pins=$(find "$BPFFS" -mindepth 1 \( -type f -o -type l \) 2>/dev/null | wc -l)
left_ledgers=$(find "$STATE" -mindepth 1 2>/dev/null | wc -l)
check "no cgroup left under $CG2/$CG_ROOT ($left_cg)" test "$left_cg" = 0
check "no pin left under $BPFFS ($left_pins)" test "$left_pins" = 0
check "no ledger or temporary file left in $STATE ($left_ledgers)" test "$left_ledgers" = 0
[ "$left_cg$left_pins$left_ledgers" = 000 ] || {
	find "$CG2/$CG_ROOT" "$BPFFS" "$STATE" -mindepth 1 2>/dev/null | head -10 | sed 's/^/    | /'
	sed 's/^/    gc| /' "$W/gc.out" | tail -5
}
progs_after=$(bpftool prog show 2>/dev/null | grep -c '^[0-9]*:')
links_after=$(bpftool link show 2>/dev/null | grep -c '^[0-9]*:')
check "no program left loaded ($progs_before before, $progs_after after)" \
	test "$progs_after" -le "$progs_before"
check "no link left ($links_before before, $links_after after)" test "$links_after" -le "$links_before"

# ---- one process, many sessions: no descriptor or memory leak ------------------------------------
"$PAMLOOP" "$SVC" "${USERS[0]}" "$LOOP" $((LOOP / 10)) >"$W/loop.out" 2>&1
rc=$?
read -r _ w _ fd1 _ rss1 < <(sed -n 1p "$W/loop.out")
read -r _ _ _ fd2 _ rss2 < <(sed -n 2p "$W/loop.out")
echo "soak: $LOOP sessions in one process: after ${w%:}: $fd1 fds, $rss1 kB; after $LOOP: $fd2 fds, $rss2 kB"
check "$LOOP sessions in one process all succeed" test "$rc" = 0
check "no descriptor leak over $LOOP sessions ($fd1 -> $fd2)" test "${fd1:-x}" = "${fd2:-y}"
# Allocator noise stays well under a kilobyte per hundred sessions; a leak does not.
check "no memory leak over $LOOP sessions ($rss1 kB -> $rss2 kB)" \
	test "$((${rss2:-999999} - ${rss1:-0}))" -le 512
"${CTL[@]}" gc >/dev/null 2>&1
echo "soak: done in $(($(date +%s) - start)) s"
