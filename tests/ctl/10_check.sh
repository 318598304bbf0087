#!/usr/bin/env bash
# cgbpfctl check: a valid policy passes, every kind of mistake fails with FILE:LINE on stderr,
# usage errors exit 2, --user shows the deciding class and its lines, unknown users and groups
# are warned about, and the dry run catches programs the kernel would refuse at login.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
sandbox_setup
[ -x "$CGBPFCTL" ] || die "cgbpfctl is built" "$CGBPFCTL is missing"

# ctl, verdict and has come from tests/sandbox.sh.

OBJDIR=$(tmpdir_root)
install -m 0644 "$TEST_BPF/deny_port.bpf.o" "$OBJDIR/deny_port.bpf.o"
install -m 0644 "$TEST_BPF/wrong_section.bpf.o" "$OBJDIR/wrong_section.bpf.o"

# ---- a valid policy -----------------------------------------------------------------------------
policy "# a comment" \
	"root        *            none" \
	"*           egress       allow   daddr=127.0.0.0/8,::1" \
	"*           egress       allow   daddr=10.0.0.0/8 dport=22,443 proto=tcp" \
	"*           egress       deny" \
	"*           sock_create  deny    type=raw" \
	"1000-       ingress      deny    proto=udp sport=53" \
	"*           egress       program $OBJDIR/deny_port.bpf.o:deny_port_9"
ctl check
verdict "a valid policy: exit 0" "$([ "$RC" = 0 ] && echo 1)"
verdict "a valid policy: nothing on stderr" "$([ -z "$ERR" ] && echo 1)" "stderr not empty"
verdict "a valid policy: the summary names the dry run" \
	"$(has "valid, 7 rules; dry run: [1-9][0-9]* filters? passed the verifier, 1 program loaded" "$OUT" && echo 1)"
# In own placement (auto is own here) the check says when the cgroup2 mount lacks favordynmods.
fdm=$(awk -v m="$(cg2_mount)" '$5 == m { for (i = 7; $i != "-"; i++); print $(i + 3) }' /proc/self/mountinfo)
case ,$fdm, in
*,favordynmods,*) has_note=0 ;;
*) has_note=1 ;;
esac
verdict "a valid policy: a note on favordynmods exactly when cgroup2 ($fdm) lacks it" \
	"$({ has "^note: cgroup2 at $(cg2_mount) is mounted without favordynmods: .* a move here just took [0-9]+ us" "$OUT" && echo 1 || echo 0; } | grep -qx "$has_note" && echo 1)"

# ---- invalid policies: exit 1, FILE:LINE on stderr ----------------------------------------------
# invalid NAME LINE REGEX POLICY-LINES...: the check fails naming LINE.
invalid() {
	local name=$1 line=$2 regex=$3
	shift 3
	policy "$@"
	ctl check
	verdict "invalid: $name: exit 1, '$POLICY:$line:' on stderr" \
		"$([ "$RC" = 1 ] && has "^$POLICY:$line: .*$regex" "$ERR" && echo 1)"
}

invalid "unknown hook" 2 "egres" "root * none" "* egres deny"
invalid "host bits set" 3 "10.0.0.1/8" "root * none" "# x" "* egress deny daddr=10.0.0.1/8"
invalid "port out of range" 1 "70000" "* egress deny dport=70000"
invalid "unknown action" 2 "frobnicate" "" "* egress frobnicate"
invalid "none mixed with other lines" 2 "none" "* egress none" "* egress deny"
invalid "program on hook *" 1 "program" "* * program $OBJDIR/deny_port.bpf.o"
invalid "relative object path" 1 "absolute" "* egress program deny_port.bpf.o"
invalid "matcher on the wrong hook" 1 "daddr" "* sock_create deny daddr=1.2.3.4"
invalid "matcher given twice" 1 "proto" "* egress allow proto=tcp proto=udp"
invalid "reversed uid range" 1 "5-3" "5-3 egress deny"
invalid "object without a program for the hook" 2 "section|wrong_section" \
	"root * none" "* egress program $OBJDIR/wrong_section.bpf.o"
install -m 0644 "$TEST_BPF/sock_addr.bpf.o" "$OBJDIR/sock_addr.bpf.o"
invalid "a named program in the section of another socket-address hook" 2 \
	"deny_connect4_port_9 .* is in section cgroup/connect4, but hook bind4 needs section cgroup/bind4" \
	"root * none" "* bind4 program $OBJDIR/sock_addr.bpf.o:deny_connect4_port_9"
invalid "an object without a program for connect6" 2 "no program in section cgroup/connect6" \
	"root * none" "* connect6 program $OBJDIR/sock_addr.bpf.o"
invalid "allow/deny rules on a socket-address hook" 1 "hook connect4 takes only program, pinned or none" \
	"* connect4 deny"
invalid "missing object" 1 "nonexistent" "* ingress program $OBJDIR/nonexistent.bpf.o"
ports=$(seq -s, 1000 1064)
invalid "more than 64 ports" 1 "64" "* egress deny dport=$ports"
mapfile -t many < <(for ((i = 0; i < 257; i++)); do echo "* egress deny dport=$((i + 1))"; done)
invalid "more than 256 rules for one hook" 257 "256" "${many[@]}"

# An unsafe file is refused before a byte is parsed.
policy "* egress deny"
chmod 0666 "$POLICY"
ctl check
verdict "a world-writable policy is refused: exit 1" \
	"$([ "$RC" = 1 ] && has "$POLICY" "$ERR" && echo 1)"
chmod 0644 "$POLICY"

# ---- the dry run: a program the verifier refuses fails here, not at login ----------------------
# unpath TEXT: TEXT without the suite's random directory names.
unpath() {
	local t=${1//"$OBJDIR"/OBJDIR}
	t=${t//"$POLDIR"/POLDIR}
	printf '%s\n' "${t//"$SCRATCH"/SCRATCH}"
}
cat >"$SCRATCH/bad.bpf.c" <<'EOF'
#include <linux/bpf.h>
#define SEC(n) __attribute__((section(n), used))
/* Dereferences a number: the verifier refuses it, although the object is well-formed. */
SEC("cgroup_skb/egress") int bad(struct __sk_buff *skb)
{
	return *(volatile int *)(long)skb->len;
}
char _license[] SEC("license") = "GPL";
EOF
if clang -g -O2 -target bpf -I/usr/include/"$(gcc -print-multiarch)" -c "$SCRATCH/bad.bpf.c" \
	-o "$SCRATCH/bad.bpf.o" 2>"$SCRATCH/clang.err"; then
	install -m 0644 "$SCRATCH/bad.bpf.o" "$OBJDIR/bad.bpf.o"
	policy "root * none" "* egress program $OBJDIR/bad.bpf.o"
	ctl check
	verdict "dry run: an object the verifier refuses: exit 1 with FILE:LINE" \
		"$([ "$RC" = 1 ] && has "^$POLICY:2: .*bad" "$ERR" && echo 1)"
	# Verifier registers (R1, R10=fp0) as whole words, in stderr without our random temporary
	# paths: /run/cgbpf-test.PHYrR4/ once matched a bare R[0-9].
	regs='(^|[^[:alnum:]])R[0-9]+([=_ ]|$)'
	verdict "dry run: without --verbose the verifier log is not shown" \
		"$(! has "invalid mem access|$regs" "$(unpath "$ERR")" && echo 1)"
	ctl --verbose check
	verdict "dry run: --verbose shows the verifier's log" \
		"$([ "$RC" = 1 ] && has "invalid mem access|processed [0-9]+ insns|$regs" "$(unpath "$ERR")" && echo 1)"
else
	fail "dry run: compile a test object" "$(head -5 "$SCRATCH/clang.err")"
fi

# ---- warnings: lists that look closed but leave a way around ------------------------------------
policy "* egress allow daddr=127.0.0.0/8" \
	"* egress deny daddr=0.0.0.0/0" \
	"* ingress deny saddr=10.0.0.0/8 proto=udp" \
	"* sock_create deny family=inet type=stream" \
	"root egress deny daddr=10.0.0.0/8" \
	"root egress deny daddr=fc00::/7" \
	"root sock_create deny family=inet" \
	"root sock_create deny family=inet6"
ctl check
verdict "warnings: the policy is still valid (exit 0)" "$([ "$RC" = 0 ] && echo 1)"
verdict "warnings: egress denies IPv4 and leaves IPv6 at the default allow, at line 2" \
	"$(has "^$POLICY:2: warning: .*egress.*deny IPv4.*IPv6.*default allow" "$ERR" && echo 1)"
verdict "warnings: the same for ingress, at line 3" \
	"$(has "^$POLICY:3: warning: .*ingress.*IPv6.*saddr=::/0" "$ERR" && echo 1)"
verdict "warnings: sock_create deny family=inet alone, at line 4" \
	"$(has "^$POLICY:4: warning: .*family=inet.*AF_INET6.*mapped" "$ERR" && echo 1)"
verdict "warnings: none for the lists that deny both families (lines 5-8)" \
	"$(! has "^$POLICY:[5-8]: warning" "$ERR" && echo 1)"

# ---- pinned: a pinned map is not a program ---------------------------------------------------------
# Map types 8 (cgroup_array) and 9 (lru_hash) are the numbers of the program types of egress
# (cgroup_skb) and sock_create (cgroup_sock): only the kind of object tells them apart.
mkdir -p -m 0700 "$BPFFS"
if bpftool map create "$BPFFS/cgarray" type cgroup_array key 4 value 4 entries 1 name cgarr &&
	bpftool map create "$BPFFS/lru" type lru_hash key 4 value 4 entries 1 name lru &&
	bpftool prog loadall "$TEST_BPF/deny_port.bpf.o" "$BPFFS/p"; then
	policy "* egress pinned $BPFFS/p/deny_port_9"
	ctl check
	verdict "pinned: a pinned egress program passes" "$([ "$RC" = 0 ] && echo 1)"
	invalid "a pinned map of type 8 on egress" 1 "$BPFFS/cgarray is a map, not a program" \
		"* egress pinned $BPFFS/cgarray"
	invalid "a pinned map of type 9 on sock_create" 1 "$BPFFS/lru is a map, not a program" \
		"* sock_create pinned $BPFFS/lru"
else
	fail "pinned: set-up" "bpftool could not pin the test maps and program"
fi

# ---- usage errors exit 2 ------------------------------------------------------------------------
policy "* egress deny"
usage() {
	local name=$1
	shift
	ctl "$@"
	verdict "usage error exits 2: $name" "$([ "$RC" = 2 ] && [ -n "$ERR" ] && echo 1)"
}
usage "unknown command" frobnicate
usage "unknown option" check --frobnicate
usage "no command" --json
usage "--user without check" status --user root
usage "--json without status" check --json
usage "extra argument" check extra
usage "missing value" check --user
"$CGBPFCTL" --config relative/path check >/dev/null 2>&1
RC=$? OUT="" ERR=""
verdict "usage error exits 2: a relative --config" "$([ "$RC" = 2 ] && echo 1)"
"$CGBPFCTL" --cgroup-root ../x --config "$POLICY" check >/dev/null 2>&1
RC=$?
verdict "usage error exits 2: --cgroup-root with .." "$([ "$RC" = 2 ] && echo 1)"
"$CGBPFCTL" --help >"$SCRATCH/help" 2>&1
RC=$? OUT=$(cat "$SCRATCH/help")
verdict "--help exits 0 and names the commands" \
	"$([ "$RC" = 0 ] && has "check" "$OUT" && has "reload" "$OUT" && echo 1)"

# ---- --user: the deciding class and its lines; warnings for names that do not exist ------------
G=$(mkgroup cgcg)
U=$(mkuser cgcu -G "$G")
V=$(mkuser cgcv)
UID_V=$(id -u "$V")
policy "nosuchuser-zz9 egress deny" \
	"@nosuchgroup-zz9 egress deny" \
	"$U ingress deny proto=udp" \
	"@$G egress allow daddr=127.0.0.0/8" \
	"@$G egress deny" \
	"$UID_V-$UID_V sock_create deny type=raw" \
	"* sock_create deny family=inet6" \
	"* egress deny dport=25"

ctl check --user "$U"
verdict "--user: exit 0 with warnings" "$([ "$RC" = 0 ] && echo 1)"
verdict "--user: the missing user is warned about with FILE:LINE" \
	"$(has "^$POLICY:1: warning: .*nosuchuser-zz9" "$ERR" && echo 1)"
verdict "--user: the missing group is warned about with FILE:LINE" \
	"$(has "^$POLICY:2: warning: .*nosuchgroup-zz9" "$ERR" && echo 1)"
verdict "--user: existing names are not warned about" "$(! has "$U|$G" "$ERR" && echo 1)"
ingress_block=$(sed -n '/^ingress:/,/^egress:/p' <<<"$OUT")
verdict "--user: ingress decided by user, with line 3" \
	"$(has "^ingress: decided by user" "$ingress_block" && has "^ +3: $U ingress deny proto=udp" "$ingress_block" && echo 1)"
egress_block=$(sed -n '/^egress:/,/^sock_create:/p' <<<"$OUT")
verdict "--user: egress decided by group, with lines 4 and 5 and not 8" \
	"$(has "^egress: decided by group" "$egress_block" && has "^ +4: @$G egress allow" "$egress_block" && has "^ +5: @$G egress deny" "$egress_block" && ! has "^ +8:" "$egress_block" && echo 1)"
verdict "--user: sock_create decided by *, with line 7" \
	"$(has "^sock_create: decided by \*" "$OUT" && has "^ +7: \* sock_create deny family=inet6" "$OUT" && echo 1)"
verdict "--user: the dry run of this user's filters" \
	"$(has "^dry run: egress filter .*passed the verifier" "$OUT" && echo 1)"

ctl check --user "$V"
verdict "--user (other user): ingress has no rule" "$(has "^ingress: no rule" "$OUT" && echo 1)"
verdict "--user (other user): egress decided by *" \
	"$(has "^egress: decided by \*" "$OUT" && has "^ +8: \* egress deny dport=25" "$OUT" && echo 1)"
verdict "--user (other user): sock_create decided by uid range" \
	"$(has "^sock_create: decided by uid range" "$OUT" && has "^ +6: $UID_V-$UID_V sock_create" "$OUT" && ! has "^ +7:" "$OUT" && echo 1)"

# ---- --user: per egress rule, enforced at connect time or only per packet ----------------------
policy "* egress allow daddr=127.0.0.2 dport=80 proto=tcp" \
	"* egress allow daddr=127.0.0.4 sport=1000" \
	"* egress deny saddr=10.0.0.0/8" \
	"* egress deny proto=icmp" \
	"* egress deny daddr=127.0.0.0/8 sport=22" \
	"* egress deny daddr=127.0.0.0/8"
ctl check --user "$V"
early_block=$(sed -n '/^egress at connect time/,/^result:/p' <<<"$OUT")
verdict "--user: every egress rule says when it is enforced" \
	"$([ "$RC" = 0 ] && [ "$(grep -c '^  line [1-6] ' <<<"$early_block")" = 6 ] && echo 1)"
verdict "--user: a plain deny is enforced at connect time, except behind an allow with sport=" \
	"$(has "^  line 6 deny : enforced at connect time, except where the allow rule of line 2" "$early_block" && echo 1)"
verdict "--user: saddr= and proto=icmp denies are per packet only" \
	"$(has "^  line 3 deny : per packet only \(saddr=" "$early_block" && has "^  line 4 deny : per packet only" "$early_block" && echo 1)"
verdict "--user: a sport= deny is at connect time only for a bound socket" \
	"$(has "^  line 5 deny : at connect time for a socket bound to its source port first" "$early_block" && echo 1)"
verdict "--user: the early programs are part of the result and pass the verifier" \
	"$(has "^result: .*connect4:filter\(6 egress rules\) connect6:filter.*sendmsg4:filter.*sendmsg6:filter" "$OUT" && has "^dry run: sendmsg6 filter 6 egress rules: passed the verifier" "$OUT" && echo 1)"
policy "* egress deny saddr=10.0.0.0/8" "* egress allow"
ctl check --user "$V"
verdict "--user: a list no connect-time check can refuse from gets none, and says so" \
	"$(has "^egress at connect time: no check" "$OUT" && ! has "connect4:filter" "$OUT" && echo 1)"

policy "$V * none" "* egress deny"
ctl check --user "$V"
verdict "--user: none on every hook means no sandbox" \
	"$([ "$RC" = 0 ] && has "^egress: decided by user \(none" "$OUT" && has "no sandbox" "$OUT" && echo 1)"

ctl check --user nosuchuser-zz9
verdict "--user with a user that does not exist: exit 1" "$([ "$RC" = 1 ] && has "nosuchuser-zz9" "$ERR" && echo 1)"

# none mixed with filter lines through two of the user's groups: only --user can tell.
G2=$(mkgroup cgcg2)
W=$(mkuser cgcw -G "$G,$G2")
policy "@$G egress none" "@$G2 egress deny"
ctl check
verdict "two groups: the policy alone is valid" "$([ "$RC" = 0 ] && echo 1)"
ctl check --user "$W"
verdict "two groups: --user reports none mixed with FILE:LINE, exit 1" \
	"$([ "$RC" = 1 ] && has "^$POLICY:[12]: .*none" "$ERR" && echo 1)"
