#!/usr/bin/env bash
# Group lookups never fail open (INTERFACE.md §4): a member of @G whose group sits after one
# very long line in /etc/group (a group of 3,000 members, more than glibc's lookups fit in a
# 16 KiB buffer) still gets the @G rules, proven by a datagram the rule refuses.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
start_syslog
sandbox_setup

# set_members GROUP MEMBERS: rewrites GROUP's member list in /etc/group and /etc/gshadow, under
# the account lock of tests/lib.sh and shadow's own lock, each file replaced atomically.
set_members() {
	_lib_account_cmd python3 - "$1" "$2" <<'EOF'
import fcntl, os, sys
name, members = sys.argv[1], sys.argv[2]
with open("/etc/.pwd.lock", "a") as lock:
    fcntl.lockf(lock, fcntl.LOCK_EX)
    for path, field in (("/etc/group", 3), ("/etc/gshadow", 3)):
        if not os.path.exists(path):
            continue
        with open(path) as f:
            lines = f.read().split("\n")
        hit = 0
        for i, line in enumerate(lines):
            parts = line.split(":")
            if parts[0] == name and len(parts) > field:
                parts[field] = members
                lines[i] = ":".join(parts)
                hit += 1
        if hit != 1:
            sys.exit(f"{path}: {hit} lines for group {name}")
        st = os.stat(path)
        tmp = path + ".cgbpf-test"
        with open(tmp, "w") as f:
            f.write("\n".join(lines))
        os.chown(tmp, st.st_uid, st.st_gid)
        os.chmod(tmp, st.st_mode & 0o7777)
        os.replace(tmp, path)
EOF
}

# BIG is created first, so its line comes before G's; U is a member of G only.
BIG=$(mkgroup cgbig) || die mkgroup "cannot create the big group"
G=$(mkgroup cggrp) || die mkgroup "cannot create the group"
U=$(mkuser cggrpu -G "$G") || die mkuser "cannot create the user"
UID_U=$(id -u "$U")
members=$(for ((i = 0; i < 3000; i++)); do printf 'cgbpfmember%05d,' "$i"; done)
members=${members%,}
# Restored before groupdel runs (the stack runs in reverse): an empty member list again.
on_exit set_members "$BIG" ""
set_members "$BIG" "$members" || die "a group of 3,000 members" "cannot edit /etc/group"
big_line=$(grep -n "^$BIG:" /etc/group | cut -d: -f1)
g_line=$(grep -n "^$G:" /etc/group | cut -d: -f1)
check "set-up: the 3,000-member line ($(grep "^$BIG:" /etc/group | wc -c) bytes) comes before the user's group" \
	test "${big_line:-0}" -gt 0 -a "${g_line:-0}" -gt "${big_line:-0}"
check "set-up: NSS still lists the user in the group" sh -c "id -nG '$U' | grep -qw '$G'"

SVC=cgbpf-t60-$$
service "$SVC"
policy "@$G egress deny"
ctl check --user "$U"
verdict "cgbpfctl check --user: egress decided by the group behind the long line" \
	"$([ "$RC" = 0 ] && has "^egress: decided by group" "$OUT" && echo 1)"

stdin_fifo_open
log_mark
if BG_STDIN=$STDIN_FIFO bg_start "$SCRATCH/hold.out" '^opened' "$PAMSESSION" "$SVC" "$U" hold; then
	HOLD=$BG_PID
	check "the session opener is inside the user's sandbox" \
		test "$("$NETPROBE" cgroup-of "$HOLD")" = "/$CG_ROOT/user-$UID_U"
	expect_rc "a datagram from the session is refused by the @group rule (EPERM)" 2 \
		as_sandboxed "$UID_U" "$NETPROBE" udp-send 127.0.0.1 "$(random_port)"
	kill -TERM "$HOLD"
	expect_rc "the session closes" 0 bg_wait "$HOLD"
else
	fail "a session for a member of @$G behind a 3,000-member line opens sandboxed" \
		"$(tr '\n' ' ' <"$SCRATCH/hold.out")"
fi
stdin_fifo_close
expect_rc "control: the same datagram outside the session is sent" 0 \
	as_user "$UID_U" "$NETPROBE" udp-send 127.0.0.1 "$(random_port)"
assert_clean "after the session" "$UID_U"
