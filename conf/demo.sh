#!/usr/bin/env bash
# make demo: one real user's session opened through PAM, sandboxed, traffic allowed and refused,
# status shown, closed, everything cleaned up. Uses its own cgroup_root, bpffs directory, state
# directory and PAM service, so it never touches a real installation.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
T=$BUILD/tests
UNEXPECTED=0
if [ "$(id -u)" != 0 ]; then
	echo "make demo must run as root (it creates a user and loads BPF programs)" >&2
	exit 1
fi

B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
[ -t 1 ] || B= G= R= N=
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
say() { printf '   %s\n' "$*"; }
show() { printf '   $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/     /'; }

TAG=cgbpf-demo
USER_NAME=cgbpfdemo$$
CG2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
DIR=$(mktemp -d /tmp/cgbpf-demo.XXXXXX)
chmod 0755 "$DIR"
POLICY=$DIR/pam_cgbpf.conf
SVC=cgbpf-demo-$$
ARGS="config=$POLICY cgroup_root=$TAG bpffs=/sys/fs/bpf/$TAG state_dir=/run/$TAG"
CTL=("$BUILD/cgbpfctl" --config "$POLICY" --cgroup-root "$TAG" --bpffs "/sys/fs/bpf/$TAG" --state-dir "/run/$TAG")
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"${CTL[@]}" gc >/dev/null 2>&1
	rm -f "/etc/pam.d/$SVC"
	userdel -f "$USER_NAME" 2>/dev/null
	[ -d "/sys/fs/bpf/$TAG" ] && find "/sys/fs/bpf/$TAG" -type f -delete 2>/dev/null
	[ -d "/sys/fs/bpf/$TAG" ] && find "/sys/fs/bpf/$TAG" -depth -type d -exec rmdir {} + 2>/dev/null
	[ -d "$CG2/$TAG" ] && find "$CG2/$TAG" -depth -type d -exec rmdir {} + 2>/dev/null
	rm -rf "/run/$TAG" "$DIR"
}
trap cleanup EXIT

step "A user and a policy"
useradd -M -N -s /bin/sh "$USER_NAME"
UID_U=$(id -u "$USER_NAME")
say "user $USER_NAME, uid $UID_U"
cat >"$POLICY" <<EOF
# students reach 127.0.0.2 on their listener's port only, and no raw sockets
*   egress       allow   daddr=127.0.0.0/8 proto=udp dport=53
*   egress       allow   daddr=127.0.0.2 proto=tcp
*   egress       deny
*   sock_create  deny    type=raw
EOF
chmod 0644 "$POLICY"
show cat "$POLICY"
show "$BUILD/cgbpfctl" --config "$POLICY" check --user "$USER_NAME"
echo "session required $BUILD/pam_cgbpf.so $ARGS" >"/etc/pam.d/$SVC"
say "PAM service /etc/pam.d/$SVC:"
sed 's/^/     /' "/etc/pam.d/$SVC"

step "Listeners on 127.0.0.2 and 127.0.0.3 (outside any sandbox)"
PORT=$((20000 + RANDOM % 20000))
"$T/netprobe" tcp-listen 127.0.0.2 "$PORT" >/dev/null 2>&1 &
PIDS+=($!)
"$T/netprobe" tcp-listen 127.0.0.3 "$PORT" >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.3
say "127.0.0.2:$PORT and 127.0.0.3:$PORT"

step "Open a session through PAM (pam_open_session, as sshd or login would)"
mkfifo "$DIR/stdin"
exec 9<>"$DIR/stdin"
"$T/pamsession" "$SVC" "$USER_NAME" hold <"$DIR/stdin" >"$DIR/session.out" 2>&1 &
SESSION=$!
PIDS+=("$SESSION")
for _ in $(seq 50); do grep -q opened "$DIR/session.out" && break; sleep 0.1; done
if ! grep -q opened "$DIR/session.out"; then
	cat "$DIR/session.out" >&2
	echo "the session did not open" >&2
	exit 1
fi
say "session process $SESSION is now in $(sed -n 's/^0:://p' "/proc/$SESSION/cgroup")"
show bpftool cgroup show "$CG2/$TAG/user-$UID_U"

step "Traffic from inside the sandbox, as $USER_NAME"
run() {
	local want=$1 what=$2
	shift 2
	"$T/netprobe" as-user "$UID_U" "$(id -g "$USER_NAME")" --cgroup "$CG2/$TAG/user-$UID_U" -- "$@" >"$DIR/out" 2>&1
	local rc=$?
	if [ "$want" = allowed ] && [ $rc = 0 ]; then
		printf '   %sallowed%s  %s\n' "$G" "$N" "$what"
	elif [ "$want" = refused ] && { [ $rc = 2 ] || [ $rc = 3 ]; }; then
		printf '   %srefused%s  %s  (%s)\n' "$R" "$N" "$what" "$(tail -1 "$DIR/out" | sed 's/.*: //')"
	else
		printf '   UNEXPECTED: %s gave %s: %s\n' "$what" "$rc" "$(cat "$DIR/out")"
		UNEXPECTED=$((UNEXPECTED + 1))
	fi
}
run allowed "TCP connect to 127.0.0.2:$PORT" "$T/netprobe" tcp-connect 127.0.0.2 "$PORT" 1000
run refused "TCP connect to 127.0.0.3:$PORT (refused at connect(), at once)" \
	"$T/netprobe" tcp-connect 127.0.0.3 "$PORT" 1000
run refused "UDP datagram to 127.0.0.3:$PORT" "$T/netprobe" udp-send 127.0.0.3 "$PORT"
run allowed "an ordinary TCP socket()" "$T/netprobe" socket inet stream
say "and a raw socket, even for a process with CAP_NET_RAW (root) in the sandbox:"
"$T/netprobe" as-user 0 0 --cgroup "$CG2/$TAG/user-$UID_U" -- "$T/netprobe" socket inet raw icmp >"$DIR/out" 2>&1
if [ $? = 2 ]; then
	printf '   %srefused%s  socket(AF_INET, SOCK_RAW)  (%s)\n' "$R" "$N" "$(tail -1 "$DIR/out" | sed 's/.*: //')"
else
	printf '   UNEXPECTED: raw socket: %s\n' "$(cat "$DIR/out")"
	UNEXPECTED=$((UNEXPECTED + 1))
fi
say "the same user outside the sandbox is not affected:"
"$T/netprobe" as-user "$UID_U" "$(id -g "$USER_NAME")" -- "$T/netprobe" tcp-connect 127.0.0.3 "$PORT" 1000 >/dev/null 2>&1 &&
	printf '   %sallowed%s  TCP connect to 127.0.0.3:%s\n' "$G" "$N" "$PORT"

step "What cgbpfctl status sees"
show "${CTL[@]}" status

step "Close the session"
kill -TERM "$SESSION"
wait "$SESSION"
say "pamsession exited with $?"
left=""
[ -e "$CG2/$TAG/user-$UID_U" ] && left="$left cgroup"
[ -e "/sys/fs/bpf/$TAG/user-$UID_U" ] && left="$left pins"
[ -e "/run/$TAG/user-$UID_U.ledger" ] && left="$left ledger"
if [ -z "$left" ]; then
	say "no cgroup, no pinned link, no ledger entry left for uid $UID_U"
else
	say "LEFT BEHIND:$left"
	UNEXPECTED=$((UNEXPECTED + 1))
fi
if "$T/netprobe" as-user "$UID_U" "$(id -g "$USER_NAME")" -- "$T/netprobe" tcp-connect 127.0.0.3 "$PORT" 1000 >/dev/null 2>&1; then
	printf '   %sallowed%s  a fresh process of %s reaches 127.0.0.3:%s again\n' "$G" "$N" "$USER_NAME" "$PORT"
else
	printf '   UNEXPECTED: traffic still refused after logout\n'
	UNEXPECTED=$((UNEXPECTED + 1))
fi

step "Clean-up"
say "demo user, PAM service, cache and temporary files removed"
if [ "$UNEXPECTED" != 0 ]; then
	echo "$UNEXPECTED unexpected result(s)" >&2
	exit 1
fi
