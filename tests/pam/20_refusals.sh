#!/usr/bin/env bash
# Malformed or unsafe input: every case must make open fail with PAM_SESSION_ERR, log one line
# naming FILE:LINE (or the argument), and leave nothing behind.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
start_syslog
sandbox_setup

U=$(mkuser cgr)
UID_U=$(id -u "$U")
SVC=cgbpf-t20-$$
OBJDIR=$(tmpdir_root)
install -m 0644 "$TEST_BPF/deny_port.bpf.o" "$OBJDIR/deny_port.bpf.o"
install -m 0644 "$TEST_BPF/wrong_section.bpf.o" "$OBJDIR/wrong_section.bpf.o"
install -m 0666 "$TEST_BPF/deny_port.bpf.o" "$OBJDIR/world_writable.bpf.o"
chmod 0666 "$OBJDIR/world_writable.bpf.o"

# refused NAME EXPECTED-LOG-REGEX: the open fails with PAM_SESSION_ERR (14), the log says why,
# and nothing is left.
refused() {
	local name=$1 regex=$2
	log_mark
	expect_rc "$name: open fails with PAM_SESSION_ERR" 14 "$PAMSESSION" "$SVC" "$U" open
	if log_has "$regex"; then
		pass "$name: the log names it"
	else
		fail "$name: the log names it" "no line matching '$regex'; got: $(log_since_mark | tail -3)"
	fi
	assert_clean "$name" "$UID_U"
	check "$name: the shared cache holds no half-loaded program" \
		bash -c "! find '$BPFFS/shared' -mindepth 1 -type d -empty 2>/dev/null | grep -q ."
}

# bad_line NAME LINE REGEX: a policy whose second line is LINE.
bad_line() {
	policy "root * none" "$2"
	refused "$1" "$POLICY:2: .*$3"
}

service "$SVC"
bad_line "unknown hook" "* egres deny" "egres"
bad_line "bad CIDR prefix length" "* egress deny daddr=10.0.0.0/33" "10.0.0.0/33"
bad_line "bad IPv4 address" "* egress deny daddr=10.0.0.256" "10.0.0.256"
bad_line "bad IPv6 address" "* egress deny daddr=fe80:::1" "fe80:::1"
bad_line "port out of range" "* egress deny dport=65536" "65536"
bad_line "reversed port range" "* egress deny dport=200-100" "200-100"
bad_line "matcher on the wrong hook" "* sock_create deny daddr=10.0.0.1" "daddr"
bad_line "family on egress" "* egress deny family=inet" "family"
bad_line "empty list" "* egress deny daddr=" "daddr"
bad_line "empty list element" "* egress deny dport=22,,443" "dport"
bad_line "junk token" "* egress deny foo" "foo"
bad_line "unknown matcher key" "* egress deny color=red" "color"
bad_line "unknown action" "* egress reject" "reject"
bad_line "missing action" "* egress" ""
bad_line "unknown protocol" "* egress deny proto=sctpx" "sctpx"
bad_line "duplicate matcher" "* egress deny dport=1 dport=2" "dport"
bad_line "reversed uid range" "2000-1000 egress deny" "2000-1000"
bad_line "program on hook *" "* * program $OBJDIR/deny_port.bpf.o" ""
bad_line "missing object" "* egress program $OBJDIR/nonexistent.bpf.o" "nonexistent.bpf.o"
bad_line "wrong program section for the hook" "* egress program $OBJDIR/wrong_section.bpf.o" \
	"section"
bad_line "program name not in the object" "* egress program $OBJDIR/deny_port.bpf.o:nosuch" \
	"nosuch"
bad_line "two programs fit, none named" "* egress program $OBJDIR/deny_port.bpf.o" "several"
bad_line "world-writable object" "* egress program $OBJDIR/world_writable.bpf.o" \
	"world_writable.bpf.o.*writable"
bad_line "relative object path" "* egress program deny_port.bpf.o" "deny_port.bpf.o"
bad_line "pinned path that is not pinned" "* egress pinned $OBJDIR/deny_port.bpf.o" "pinned"
policy "* egress none" "* egress deny"
refused "none mixed with rules" "$POLICY:[12]: .*none"

# ---- unsafe policy files ----------------------------------------------------------------------
policy "* egress deny"
chmod 0664 "$POLICY"
refused "group-writable policy" "$POLICY.*writable"
chmod 0644 "$POLICY"
chown "$U" "$POLICY"
refused "policy owned by a user" "$POLICY.*owned by uid $UID_U"
chown 0 "$POLICY"
UDIR=$(tmpdir_root)
chown "$U" "$UDIR"
printf '* egress deny\n' >"$UDIR/p.conf"
chmod 0644 "$UDIR/p.conf"
service "$SVC" "config=$UDIR/p.conf"
printf 'session required %s %s\n' "$MODULE" \
	"config=$UDIR/p.conf cgroup_root=$CG_ROOT bpffs=$BPFFS state_dir=$STATE" >"/etc/pam.d/$SVC"
refused "policy in a user-owned directory" "$UDIR.*owned by uid $UID_U"
ln -s "$POLICY" "$POLDIR/link.conf"
printf 'session required %s %s\n' "$MODULE" \
	"config=$POLDIR/link.conf cgroup_root=$CG_ROOT bpffs=$BPFFS state_dir=$STATE" >"/etc/pam.d/$SVC"
refused "policy reached through a symlink" "$POLDIR/link.conf.*symbolic link"
printf 'session required %s %s\n' "$MODULE" \
	"config=$POLDIR/absent.conf cgroup_root=$CG_ROOT bpffs=$BPFFS state_dir=$STATE" >"/etc/pam.d/$SVC"
refused "missing policy file" "$POLDIR/absent.conf"

# ---- module arguments -----------------------------------------------------------------------------
policy "* egress deny"
arg_refused() {
	printf 'session required %s %s %s\n' "$MODULE" "$ARGS" "$2" >"/etc/pam.d/$SVC"
	refused "$1" "$3"
}
arg_refused "unknown module argument" "confg=/etc/x" "unknown argument confg=/etc/x"
arg_refused "unknown module flag" "debgu" "unknown argument debgu"
arg_refused "malformed on_logout" "on_logout=maybe" "on_logout=maybe"
# Here systemd is not PID 1 and no logind session scope exists: placement=systemd is refused.
arg_refused "placement=systemd outside a logind session scope" "placement=systemd" \
	"placement=systemd: the session of uid $UID_U is not in a logind session scope"
arg_refused "malformed placement" "placement=logind" "placement=logind"
arg_refused "cgroup_root escaping the mount" "cgroup_root=../x" "cgroup_root=../x"
arg_refused "relative state_dir" "state_dir=run/x" "state_dir=run/x"
arg_refused "empty config" "config=" "config="

# With a valid policy again, the same service works: the refusals were not sticky.
service "$SVC"
expect_rc "a valid policy opens again after all the refusals" 0 \
	"$PAMSESSION" "$SVC" "$U" open-close
assert_clean "after the refusals" "$UID_U"
