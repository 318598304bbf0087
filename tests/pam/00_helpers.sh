#!/usr/bin/env bash
# Self-test of the test helpers (netprobe, logsink, pamsession, lib.sh, the test BPF object),
# without the module: if these lie, every other suite lies.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root

for bin in "$NETPROBE" "$PAMSESSION" "$LOGSINK"; do
	[ -x "$bin" ] || die "helpers are built" "$bin is missing (make tests)"
done

# ---- netprobe: TCP ----------------------------------------------------------------------------

tcp_round_trip() {
	local addr=$1 tag=$2
	if ! listen_tcp "$addr" --count 1; then
		fail "netprobe tcp-listen $tag" "no listener: $(cat "$BG_OUT")"
		return
	fi
	expect_rc "netprobe tcp-connect $tag to a listener gives 0" 0 \
		"$NETPROBE" tcp-connect "$addr" "$PORT"
	expect_rc "netprobe tcp-listen $tag --count 1 exits 0 after one client" 0 bg_wait "$BG_PID"
	check "netprobe tcp-listen $tag names the client" grep -qx "accepted $addr" "$BG_OUT"
	expect_rc "netprobe tcp-connect $tag to a closed port gives 1" 1 \
		"$NETPROBE" tcp-connect "$addr" "$PORT"
}

tcp_round_trip 127.0.0.1 IPv4
if have_ipv6_loopback; then
	tcp_round_trip ::1 IPv6
else
	skip "netprobe tcp IPv6" "no ::1 on this machine"
fi

out=$("$NETPROBE" tcp-connect 127.0.0.1 1 2>&1)
if [ "$out" = "tcp-connect 127.0.0.1 1: Connection refused" ]; then
	pass "netprobe tcp-connect prints one result line"
else
	fail "netprobe tcp-connect prints one result line" "got: $out"
fi

# A listener whose accept queue is full drops further SYNs: the connect must time out (3).
if command -v python3 >/dev/null; then
	full_port=$(random_port)
	if bg_start "$SCRATCH/backlog.out" '^listening$' python3 -c '
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(0)
c = socket.create_connection(("127.0.0.1", port))  # fills the accept queue
print("listening", flush=True)
time.sleep(60)
' "$full_port"; then
		expect_rc "netprobe tcp-connect gives 3 on a timeout" 3 \
			"$NETPROBE" tcp-connect 127.0.0.1 "$full_port" 300
		stop_pid "$BG_PID"
	else
		fail "netprobe tcp-connect timeout set-up" "$(cat "$SCRATCH/backlog.out")"
	fi
else
	skip "netprobe tcp-connect gives 3 on a timeout" "no python3"
fi

# ---- netprobe: UDP ----------------------------------------------------------------------------

if listen_udp 127.0.0.1 --timeout 2000 --expect 3; then
	expect_rc "netprobe udp-send 3 datagrams --from 127.0.0.2 gives 0" 0 \
		"$NETPROBE" udp-send 127.0.0.1 "$PORT" 3 --from 127.0.0.2
	expect_rc "netprobe udp-recv --expect 3 exits 0" 0 bg_wait "$BG_PID"
	check "netprobe udp-recv counts 3 datagrams" grep -qx "received 3" "$BG_OUT"
	n=$(grep -cx "from 127.0.0.2" "$BG_OUT")
	if [ "$n" = 3 ]; then
		pass "netprobe udp-recv shows the chosen source address"
	else
		fail "netprobe udp-recv shows the chosen source address" "$(tr '\n' ' ' <"$BG_OUT")"
	fi
else
	fail "netprobe udp-recv" "no listener: $(cat "$BG_OUT")"
fi

if listen_udp 127.0.0.1 --timeout 300; then
	expect_rc "netprobe udp-recv stops after its idle timeout" 0 bg_wait "$BG_PID" 3
	check "netprobe udp-recv counts 0 when nothing came" grep -qx "received 0" "$BG_OUT"
else
	fail "netprobe udp-recv idle" "no listener: $(cat "$BG_OUT")"
fi

# ---- netprobe: socket and usage ---------------------------------------------------------------

expect_rc "netprobe socket inet stream gives 0" 0 "$NETPROBE" socket inet stream
expect_rc "netprobe socket inet dgram udp gives 0" 0 "$NETPROBE" socket inet dgram udp
expect_rc "netprobe socket unix dgram gives 0" 0 "$NETPROBE" socket unix dgram
expect_rc "netprobe socket inet stream udp gives 4" 4 "$NETPROBE" socket inet stream udp
expect_rc "netprobe socket bad family is a usage error" 64 "$NETPROBE" socket ipx stream
expect_rc "netprobe with no command is a usage error" 64 "$NETPROBE"
expect_rc "netprobe tcp-connect with a host name is a usage error" 64 \
	"$NETPROBE" tcp-connect localhost 22
expect_rc "netprobe as-user without -- is a usage error" 64 "$NETPROBE" as-user 1 1 id

# ---- netprobe: cgroups and as-user ------------------------------------------------------------

mine=$(sed -n 's/^0:://p' /proc/$$/cgroup)
out=$("$NETPROBE" cgroup-of $$)
if [ -n "$mine" ] && [ "$out" = "$mine" ]; then
	pass "netprobe cgroup-of PID"
else
	fail "netprobe cgroup-of PID" "got '$out', /proc says '$mine'"
fi

check "netprobe as-user drops to 65534:65534 with no groups" \
	test "$("$NETPROBE" as-user 65534 65534 -- id -u):$("$NETPROBE" as-user 65534 65534 -- id -G)" \
	= "65534:65534"
expect_rc "netprobe as-user refuses when not root" 5 \
	"$NETPROBE" as-user 65534 65534 -- "$NETPROBE" as-user 0 0 -- true
expect_rc "netprobe as-user gives 5 when the cgroup cannot be joined" 5 \
	"$NETPROBE" as-user 65534 65534 --cgroup /nonexistent -- true

if mnt=$(cg2_mount); then
	cg=$mnt/cgbpf-selftest-$$-$RANDOM
	if mkdir "$cg"; then
		on_exit rmdir "$cg"
		out=$("$NETPROBE" as-user 65534 65534 --cgroup "$cg" -- "$NETPROBE" cgroup-of self)
		if [ "$out" = "${cg#"$mnt"}" ]; then
			pass "netprobe as-user --cgroup runs the command in the cgroup"
		else
			fail "netprobe as-user --cgroup runs the command in the cgroup" \
				"cgroup-of self says '$out', expected '${cg#"$mnt"}'"
		fi
	else
		fail "netprobe as-user --cgroup" "cannot create $cg"
	fi
else
	fail "cg2_mount" "no cgroup2 in /proc/self/mounts"
fi

# ---- the test BPF object: what a cgroup egress drop looks like to TCP and UDP -----------------

obj=$BUILD/tests/bpf/deny_port.bpf.o
if [ ! -f "$obj" ] || ! command -v bpftool >/dev/null || [ -z "${cg:-}" ] || [ ! -d "$cg" ]; then
	skip "deny_port.bpf.o drops port 9" "needs $obj, bpftool and a cgroup"
elif ! pins=$(tmpdir_root) || ! mount -t bpf bpf "$pins"; then
	fail "deny_port.bpf.o set-up" "cannot mount a private bpffs"
else
	on_exit umount "$pins"
	if bpftool prog loadall "$obj" "$pins/p" &&
		bpftool cgroup attach "$cg" egress pinned "$pins/p/deny_port_9" multi; then
		on_exit bpftool cgroup detach "$cg" egress pinned "$pins/p/deny_port_9"
		as_nobody=("$NETPROBE" as-user 65534 65534 --cgroup "$cg" --)
		expect_rc "deny_port: UDP to port 9 gives 2 (EPERM)" 2 \
			"${as_nobody[@]}" "$NETPROBE" udp-send 127.0.0.1 9
		if have_ipv6_loopback; then
			expect_rc "deny_port: UDP to [::1]:9 gives 2 (EPERM)" 2 \
				"${as_nobody[@]}" "$NETPROBE" udp-send ::1 9
		fi
		# The kernel retransmits a SYN that the egress hook dropped: connect times out.
		expect_rc "deny_port: TCP to port 9 times out (3)" 3 \
			"${as_nobody[@]}" "$NETPROBE" tcp-connect 127.0.0.1 9 500
		if listen_tcp 127.0.0.1 --count 1; then
			expect_rc "deny_port: TCP to another port gives 0" 0 \
				"${as_nobody[@]}" "$NETPROBE" tcp-connect 127.0.0.1 "$PORT"
		fi
		expect_rc "deny_port: UDP to another port gives 0" 0 \
			"${as_nobody[@]}" "$NETPROBE" udp-send 127.0.0.1 10
	else
		fail "deny_port.bpf.o set-up" "bpftool could not load or attach $obj"
	fi
fi

# ---- logsink and the lib.sh syslog helpers ----------------------------------------------------

sock=$SCRATCH/log.sock
if bg_start "$SCRATCH/sink1.out" '^ready$' "$LOGSINK" "$sock" "$SCRATCH/sink1.log"; then
	check "logsink makes its socket mode 0666" test "$(stat -c %a "$sock")" = 666
	expect_rc "logsink refuses a socket that is already served" 3 \
		"$LOGSINK" "$sock" "$SCRATCH/sink2.log"
	kill -KILL "$BG_PID"
	bg_wait "$BG_PID" 2>/dev/null
	if bg_start "$SCRATCH/sink3.out" '^ready$' "$LOGSINK" "$sock" "$SCRATCH/sink3.log"; then
		pass "logsink replaces a stale socket"
		kill -TERM "$BG_PID"
		expect_rc "logsink exits 0 on SIGTERM" 0 bg_wait "$BG_PID"
		check_fails "logsink removes its socket at exit" test -e "$sock"
	else
		fail "logsink replaces a stale socket" "$(cat "$SCRATCH/sink3.out")"
	fi
else
	fail "logsink starts" "$(cat "$SCRATCH/sink1.out")"
fi

start_syslog
check "start_syslog serves /dev/log" test -S /dev/log
expect_rc "a second logsink on /dev/log is refused" 3 "$LOGSINK" /dev/log "$SCRATCH/x.log"
token=selftest-$$-$RANDOM
logger -u /dev/log -t cgbpf-selftest "first $token"
check "logsink captures a logger line" log_has "cgbpf-selftest: first $token\$"
log_mark
check_fails "log_has ignores lines before log_mark" log_has "first $token"
# glibc's syslog(3), which pam_syslog uses, sends datagrams to /dev/log as well.
if command -v python3 >/dev/null; then
	python3 -c 'import syslog, sys; syslog.openlog("cgbpf-py"); syslog.syslog(sys.argv[1])' \
		"second $token"
	check "logsink captures a syslog(3) line" log_has "cgbpf-py: second $token\$"
fi

# ---- pamsession -------------------------------------------------------------------------------

if confdir=$(tmpdir_root); then
	trace=$SCRATCH/pam-trace
	cat >"$confdir/hook" <<EOF
#!/bin/sh
echo "\$PAM_TYPE \$PAM_USER" >>"$trace"
EOF
	chmod 0755 "$confdir/hook"
	echo "session required pam_permit.so" >"$confdir/permit"
	echo "session required pam_deny.so" >"$confdir/deny"
	echo "session required pam_exec.so $confdir/hook" >"$confdir/trace"

	expect_rc "pamsession open-close with pam_permit gives 0" 0 \
		"$PAMSESSION" -c "$confdir" permit root open-close
	expect_rc "pamsession gives PAM_SESSION_ERR (14) from pam_deny" 14 \
		"$PAMSESSION" -c "$confdir" deny root open-close
	expect_rc "pamsession usage error gives 64" 64 "$PAMSESSION" permit root dance

	: >"$trace"
	"$PAMSESSION" -c "$confdir" trace nobody open &&
		"$PAMSESSION" -c "$confdir" trace nobody close &&
		"$PAMSESSION" -c "$confdir" trace nobody open-close
	check "pamsession open, close and open-close call the right PAM functions" \
		test "$(tr '\n' , <"$trace")" = \
		"open_session nobody,close_session nobody,open_session nobody,close_session nobody,"

	# hold: open, then close at EOF on stdin.
	: >"$trace"
	stdin_fifo_open
	if BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/hold1.out" '^opened [0-9]+$' \
		"$PAMSESSION" -c "$confdir" trace nobody hold; then
		pid=$BG_PID
		check "pamsession hold keeps the session open" test "$(cat "$trace")" = "open_session nobody"
		check "pamsession hold prints its pid" grep -qx "opened $pid" "$SCRATCH/hold1.out"
		stdin_fifo_close
		expect_rc "pamsession hold closes at EOF on stdin" 0 bg_wait "$pid"
		check "pamsession hold called pam_close_session" grep -qx "close_session nobody" "$trace"
	else
		fail "pamsession hold" "$(cat "$SCRATCH/hold1.out")"
	fi
	stdin_fifo_close

	# hold: close at SIGTERM.
	stdin_fifo_open
	if BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/hold2.out" '^opened' \
		"$PAMSESSION" -c "$confdir" permit nobody hold; then
		pid=$BG_PID
		kill -TERM "$pid"
		expect_rc "pamsession hold closes at SIGTERM" 0 bg_wait "$pid"
		check "pamsession hold says closed" grep -qx closed "$SCRATCH/hold2.out"
	else
		fail "pamsession hold (SIGTERM)" "$(cat "$SCRATCH/hold2.out")"
	fi

	# hold-fork: the child outlives the session and leaves at EOF.
	if BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/hold3.out" '^child [0-9]+$' \
		"$PAMSESSION" -c "$confdir" permit nobody hold-fork; then
		pid=$BG_PID
		child=$(sed -n 's/^child //p' "$SCRATCH/hold3.out")
		on_exit stop_pid "$child"
		kill -TERM "$pid"
		expect_rc "pamsession hold-fork parent closes at SIGTERM" 0 bg_wait "$pid"
		check "pamsession hold-fork leaves the child running" kill -0 "$child"
		stdin_fifo_close
		for ((i = 0; i < 40; i++)); do
			kill -0 "$child" 2>/dev/null || break
			sleep 0.05
		done
		check_fails "pamsession hold-fork child exits at EOF on stdin" kill -0 "$child"
	else
		fail "pamsession hold-fork" "$(cat "$SCRATCH/hold3.out")"
	fi
	stdin_fifo_close
else
	fail "pamsession set-up" "tmpdir_root failed"
fi

# ---- lib.sh -----------------------------------------------------------------------------------

if u=$(mkuser cgbpfself) && g=$(mkgroup cgbpfself); then
	check "mkuser creates a user" getent passwd "$u"
	check "mkgroup creates a group" getent group "$g"
	check "mkuser names fit in 32 characters" test "${#u}" -le 32
else
	fail "mkuser/mkgroup" "could not create a user or group"
fi
d=$(tmpdir_root)
check "tmpdir_root is root-owned 0755" test "$(stat -c '%U %a' "$d")" = "root 755"

# The cleanup stack runs even when the suite dies: a child suite proves it.
child_out=$SCRATCH/child.out
bash -c '. tests/lib.sh
	u=$(mkuser cgbpfdie); d=$(tmpdir_root)
	echo "$u $d"
	kill -TERM $$
	sleep 5' >"$child_out" 2>&1
rc=$?
read -r du dd <"$child_out"
if [ "$rc" -eq 143 ] && [ -n "$du" ] && ! getent passwd "$du" >/dev/null && [ ! -e "$dd" ]; then
	pass "the cleanup stack runs when a suite is killed"
else
	fail "the cleanup stack runs when a suite is killed" "status $rc, $(tr '\n' ' ' <"$child_out")"
	[ -n "$du" ] && userdel -f "$du" 2>/dev/null
fi
