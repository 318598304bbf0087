#!/usr/bin/env bash
# On a bpffs that others may write (mounted 1777 by someone else), a user could make the pin
# directories first and so own what sits above our pins: every directory on bpffs above the
# pins must be root's (and not writable without the sticky bit), and a directory somebody else
# made is refused with a message naming it. Each refusal is a real refused login.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
start_syslog
sandbox_setup

U=$(mkuser cgbfo) || die mkuser "cannot create the user"
UID_U=$(id -u "$U")
GID_U=$(id -g "$U")
policy "* egress deny"

MNT=$(tmpdir_root)/bpffs
mkdir -m 0755 "$MNT" && mount -t bpf -o mode=1777 bpf "$MNT" || die "a private bpffs" "cannot mount"
on_exit umount -l "$MNT"
on_exit sh -c 'find "$1" -mindepth 1 \( -type f -o -type l \) -delete; find "$1" -mindepth 1 -depth -type d -exec rmdir {} +' rm "$MNT"
check "set-up: the private bpffs is mode 1777" test "$(stat -c %a "$MNT")" = 1777

# try NAME BPFFS [CONTROL-REGEX]: a login with bpffs=BPFFS; sets RC.
try() {
	local svc=cgbpf-t65-$$-$1
	printf 'session required %s config=%s cgroup_root=%s bpffs=%s state_dir=%s\n' \
		"$MODULE" "$POLICY" "$CG_ROOT" "$2" "$STATE" >"/etc/pam.d/$svc"
	on_exit rm -f "/etc/pam.d/$svc"
	log_mark
	"$PAMSESSION" "$svc" "$U" open-close >"$SCRATCH/try.out" 2>&1
	RC=$?
}

# A directory the user made in the sticky mount, above the pins: today's pins would sit in it.
as_user "$UID_U" mkdir "$MNT/x"
check "set-up: the user made $MNT/x" test "$(stat -c %u "$MNT/x")" = "$UID_U"
try above "$MNT/x/pam_cgbpf"
check "a login under a user-made directory is refused (PAM_SESSION_ERR)" test "$RC" = 14
check "the log names the directory and its owner" \
	log_has "bpffs=$MNT/x/pam_cgbpf refused: $MNT/x is owned by uid $UID_U"
check "nothing was made inside the user's directory" test -z "$(ls -A "$MNT/x")"

# The bpffs directory itself, made first by the user.
as_user "$UID_U" mkdir "$MNT/pam_cgbpf"
try itself "$MNT/pam_cgbpf"
check "a login with a user-made bpffs directory is refused" test "$RC" = 14
check "the log names it and says somebody else made it" \
	log_has "$MNT/pam_cgbpf refused: .*uid $UID_U.*someone else created it"

# A bpffs mounted for someone else (its root owned by the user).
chown "$UID_U:$GID_U" "$MNT"
try mount "$MNT/root-made"
check "a login on a bpffs whose root the user owns is refused" test "$RC" = 14
check "the log names the mount point" log_has "bpffs=$MNT/root-made refused: $MNT is owned by uid $UID_U"
chown 0:0 "$MNT"

# Root's own directory in the sticky mount works, and the sandbox is real.
try ok "$MNT/root-made"
check "a login with root's directory in a 1777 bpffs works" test "$RC" = 0
check "it pinned its anchor there" test -d "$MNT/root-made/anchor"
assert_clean "bpffs ownership" "$UID_U"
