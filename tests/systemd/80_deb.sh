#!/usr/bin/env bash
# The Debian package (INTERFACE.md §6) on a real systemd host: make deb builds it without
# touching the source tree, lintian finds no error, installing it changes no PAM file,
# pam-auth-update --enable cgbpf puts pam_cgbpf after pam_systemd in common-session, an ssh
# login is then sandboxed by the policy (real traffic) and stays in its logind session scope,
# and apt purge takes it out of the stack and leaves /etc/pam.d and /etc/security as they were.
# shellcheck source=tests/systemd/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
for tool in dpkg-buildpackage dh lintian; do
	command -v "$tool" >/dev/null || die 80_deb "$tool is missing: run make deps"
done
[ -x "$NETPROBE" ] || die 80_deb "netprobe is not built (make tests)"

# ---- build --------------------------------------------------------------------------------------

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
arch=$(dpkg --print-architecture)
deb=build/libpam-cgbpf_${version}_${arch}.deb

# Everything outside build/ and .git, with its contents: make deb must leave it as it was.
tree_state() {
	find . \( -path ./build -o -path ./.git \) -prune -o -type f -printf '%p %s %T@\n' | sort
}
tree_before=$(tree_state)
rm -f "$deb"
check "make deb builds $deb" make --no-print-directory deb
check "make deb leaves the source tree outside build/ as it was" test "$(tree_state)" = "$tree_before"
[ -f "$deb" ] || die 80_deb "no $deb"

lint=$SCRATCH/lintian.out
lintian "$deb" >"$lint" 2>&1
echo "    lintian $deb:"
grep -v 'running with root privileges' "$lint" | sed 's/^/    | /'
check_fails "lintian prints no E: line" grep -q '^E:' "$lint"
check_fails "lintian prints no W: line (fix it, or override it with a reason)" grep -q '^W:' "$lint"

fields() {
	dpkg-deb -f "$deb" "$1"
}
check "the package is libpam-cgbpf, Architecture $arch" \
	test "$(fields Package) $(fields Architecture)" = "libpam-cgbpf $arch"
depends=$(fields Depends)
shlibs_ok() {
	# ${shlibs:Depends} was expanded: versioned dependencies on the libraries the binaries use.
	[[ $depends == *"libbpf1 (>="* ]] && [[ $depends == *"libc6 (>="* ]] &&
		[[ $depends == *"libpam0g (>="* ]] && [[ $depends != *'${'* ]]
}
check "Depends comes from \${shlibs:Depends}: $depends" shlibs_ok

# ---- install ------------------------------------------------------------------------------------

sd_start
sd_install_helpers
cp "$deb" "$SD_ROOT/root/" || die 80_deb "cannot copy $deb into the container"
debfile=/root/$(basename "$deb")

# Names, modes, owners and contents of every file under the directories given.
snapshot() {
	sd_exec sh -c 'cd / && find "$@" -printf "%p %y %m %U:%G %l\n" | sort &&
		find "$@" -type f -exec sha256sum {} + | sort -k 2' sh "$@"
}
pam_before=$(snapshot etc/pam.d)
security_before=$(snapshot etc/security)

# Real traffic: TCP listeners on the host (the network is shared), one the policy denies.
listen_tcp 127.0.0.1 || die 80_deb "no TCP listener"
P_DENY=$PORT DENY_OUT=$BG_OUT
listen_tcp 127.0.0.1 || die 80_deb "no TCP listener"
P_OK=$PORT OK_OUT=$BG_OUT
tcp_as() { # USER PORT: netprobe's verdict for a TCP connect from a new ssh login of USER
	sd_ssh "$1" /usr/local/bin/netprobe tcp-connect 127.0.0.1 "$2" 1000 </dev/null
}

check "apt-get installs $debfile" \
	sd_exec env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$debfile"
check "installing changes no file in /etc/pam.d" test "$(snapshot etc/pam.d)" = "$pam_before"
pamdir=$(sd_exec sh -c 'dirname "$(dpkg -S pam_unix.so | sed -n "s/^libpam-modules[^ ]*: //p" | head -n 1)"')
check "the module is in the multiarch PAM directory $pamdir, beside pam_unix.so" \
	sd_exec dpkg-query -S "$pamdir/pam_cgbpf.so"
check "its libbpf loader is beside it, root's and 0644" \
	test "$(sd_exec stat -c '%u %a' "$pamdir/pam_cgbpf/loader.so")" = "0 644"
check "the package ships the loader" sd_exec dpkg-query -S "$pamdir/pam_cgbpf/loader.so"
check "cgbpfctl is /usr/sbin/cgbpfctl and runs: the shipped policy checks out" \
	sd_exec /usr/sbin/cgbpfctl check --user tester
for f in man/man8/pam_cgbpf.8.gz man/man8/cgbpfctl.8.gz man/man5/pam_cgbpf.conf.5.gz \
	doc/libpam-cgbpf/README.md.gz doc/libpam-cgbpf/changelog.gz doc/libpam-cgbpf/copyright; do
	check "the package ships /usr/share/$f" sd_exec dpkg-query -S "/usr/share/$f"
done
conffiles() {
	sd_exec dpkg-query -W -f '${Conffiles}\n' libpam-cgbpf | grep -q '^ /etc/security/pam_cgbpf.conf '
}
check "/etc/security/pam_cgbpf.conf is a conffile" conffiles
check_fails "every line of the shipped policy is commented out" \
	sd_exec grep -vqE '^[[:space:]]*(#|$)' /etc/security/pam_cgbpf.conf
check "the pam-auth-update profile is /usr/share/pam-configs/cgbpf" \
	sd_exec dpkg-query -S /usr/share/pam-configs/cgbpf

# A deny rule for tester, before the profile is enabled: no login may change yet.
sd_exec sh -c "printf 'tester egress deny daddr=127.0.0.1 dport=%s\n' $P_DENY \
	>/etc/security/pam_cgbpf.conf" || die 80_deb "cannot write the policy"
check "the policy checks out" sd_exec cgbpfctl check --user tester
expect_rc "installed but not enabled: tester's TCP to the denied port connects" 0 \
	tcp_as tester "$P_DENY"

# ---- enable -------------------------------------------------------------------------------------

check "pam-auth-update --enable cgbpf" sd_exec pam-auth-update --enable cgbpf
after_systemd() {
	sd_exec awk '/^[^#]*pam_systemd\.so/ { sd = NR } /^[^#]*pam_cgbpf\.so/ { cg = NR }
		END { exit !(sd && cg > sd) }' /etc/pam.d/common-session
}
check "common-session has pam_cgbpf after pam_systemd" after_systemd
check "common-session's line is 'session required pam_cgbpf.so'" \
	sd_exec grep -qE '^session[[:space:]]+required[[:space:]]+pam_cgbpf\.so' /etc/pam.d/common-session
check_fails "common-session-noninteractive has no pam_cgbpf (interactive only)" \
	sd_exec grep -q pam_cgbpf /etc/pam.d/common-session-noninteractive

# A login that stays open: where it is, what it may send.
accepted() {
	grep -c '^accepted' "$1"
}
deny_accepted=$(accepted "$DENY_OUT")
stdin_fifo_open || die 80_deb "no fifo"
hold=$SCRATCH/hold.out
BG_STDIN=$STDIN_FIFO bg_start "$hold" '^ready$' ssh "${SD_SSH_OPTS[@]}" tester@127.0.0.1 \
	"cat /proc/self/cgroup; echo session=\$XDG_SESSION_ID
	 /usr/local/bin/netprobe tcp-connect 127.0.0.1 $P_DENY 1000 >/dev/null; echo deny_tcp=\$?
	 /usr/local/bin/netprobe udp-send 127.0.0.1 $P_DENY >/dev/null; echo deny_udp=\$?
	 /usr/local/bin/netprobe tcp-connect 127.0.0.1 $P_OK 1000 >/dev/null; echo ok_tcp=\$?
	 echo ready; read -r _" ||
	die "ssh login as tester with pam_cgbpf enabled" "$(tr '\n' ' ' <"$hold")"
hold_pid=$BG_PID
got() {
	sed -n "s/^$1=//p" "$hold"
}
check "enabled: tester's TCP to the denied port fails with EPERM at once (connect4)" \
	test "$(got deny_tcp)" = 2
check "... and the listener accepted nothing" test "$(accepted "$DENY_OUT")" = "$deny_accepted"
check "enabled: tester's UDP to the denied port fails with EPERM" test "$(got deny_udp)" = 2
check "enabled: tester's TCP to another port connects" test "$(got ok_tcp)" = 0
check "... and the listener accepted it" grep -q '^accepted' "$OK_OUT"
expect_rc "root, whom the policy does not name, is not sandboxed" 0 tcp_as root "$P_DENY"

# INTERFACE.md §4a: placement=auto in a session scope is systemd placement; the session stays
# in logind's scope, which stays active and listed.
cg=$(sed -n 's/^0:://p' "$hold")
sid=$(got session)
check "the sandboxed login stays in its logind scope (/user.slice/user-1000.slice/session-$sid.scope): it is in $cg" \
	test "$cg" = "/user.slice/user-1000.slice/session-$sid.scope"
check "systemctl is-active session-$sid.scope" \
	test "$(sd_exec systemctl is-active "session-$sid.scope")" = active
check "loginctl lists session $sid with its scope" \
	test "$(sd_exec loginctl show-session "$sid" -p Scope --value)" = "session-$sid.scope"

stdin_fifo_close
bg_wait "$hold_pid" 10
# The ssh client is gone; sshd closes the PAM session just after. logind forgets the session
# once its processes are gone.
session_gone() {
	local i
	for ((i = 0; i < 100; i++)); do
		sd_exec loginctl show-session "$1" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	return 1
}
check "the sandboxed session ends when its ssh connection closes" session_gone "$sid"

# ---- purge --------------------------------------------------------------------------------------

check "apt-get purge libpam-cgbpf" \
	sd_exec env DEBIAN_FRONTEND=noninteractive apt-get purge -y libpam-cgbpf
check_fails "purged: no PAM file names pam_cgbpf" sd_exec grep -rq pam_cgbpf /etc/pam.d
check "purged: /etc/pam.d is as before the install" test "$(snapshot etc/pam.d)" = "$pam_before"
check "purged: /etc/security is as before the install" \
	test "$(snapshot etc/security)" = "$security_before"
check_fails "purged: dpkg knows no libpam-cgbpf" \
	sd_exec sh -c 'dpkg-query -W -f "\${Status}" libpam-cgbpf 2>/dev/null | grep -q .'
check_fails "purged: the module is gone" sd_exec test -e "$pamdir/pam_cgbpf.so"
check_fails "purged: its loader and its directory are gone" sd_exec test -e "$pamdir/pam_cgbpf"
check_fails "purged: the profile is gone" sd_exec test -e /usr/share/pam-configs/cgbpf
expect_rc "purged: tester logs in over ssh" 0 sd_ssh tester true </dev/null
expect_rc "purged: tester's TCP to the once denied port connects" 0 tcp_as tester "$P_DENY"
no_pins() {
	! sd_exec find /sys/fs/bpf -type f | grep -v '/[a-z]*s\.debug$' | grep -q .
}
check "purged: no pins are left in bpffs" no_pins
for d in /sys/fs/bpf/pam_cgbpf /sys/fs/cgroup/pam_cgbpf /run/pam_cgbpf; do
	check_fails "purged: no $d is left" sd_exec test -e "$d"
done
