#!/usr/bin/env bash
# make install / make uninstall: with DESTDIR the tree is laid out as README.md says and an
# existing policy is kept; a real install is usable by name from /etc/pam.d (a session through
# pamtester), and uninstall leaves the system's files as they were. Anything of a previous
# installation is moved aside first and put back at the end, whatever happens.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
sandbox_setup

PAM_LIBDIR=$(pkg-config --variable=libdir pam 2>/dev/null)
[ -n "$PAM_LIBDIR" ] || die "pkg-config knows the PAM libdir" "pkg-config --variable=libdir pam is empty"
SECUREDIR=$PAM_LIBDIR/security
TARGETS=("$SECUREDIR/pam_cgbpf.so" "$SECUREDIR/pam_cgbpf/loader.so" /usr/sbin/cgbpfctl /usr/share/man/man8/pam_cgbpf.8
	/usr/share/man/man8/cgbpfctl.8 /usr/share/man/man5/pam_cgbpf.conf.5
	/etc/security/pam_cgbpf.conf)

mk() {
	make -s --no-print-directory -C "$CGBPF_ROOT" "$@"
}

# ---- DESTDIR: the layout ------------------------------------------------------------------------
D=$(tmpdir_root)
expect_rc "make install DESTDIR=..." 0 mk install DESTDIR="$D"
want=$(printf '%s\n' "${TARGETS[@]}" | sort)
got=$(cd "$D" && find . -type f -o -type l | sed 's|^\.||' | sort)
if [ "$got" = "$want" ]; then pass "DESTDIR: exactly the module, its loader, cgbpfctl, 3 man pages and the policy"; else
	fail "DESTDIR: exactly the module, its loader, cgbpfctl, 3 man pages and the policy" "got: $(tr "\n" " " <<<"$got")"; fi
check "DESTDIR: the module is mode 0644" test "$(stat -c %a "$D$SECUREDIR/pam_cgbpf.so")" = 644
check "DESTDIR: its loader is mode 0644, beside it" \
	test "$(stat -c %a "$D$SECUREDIR/pam_cgbpf/loader.so")" = 644
check "DESTDIR: cgbpfctl is mode 0755" test "$(stat -c %a "$D/usr/sbin/cgbpfctl")" = 755
check "DESTDIR: the policy is the example" cmp -s conf/pam_cgbpf.conf "$D/etc/security/pam_cgbpf.conf"
check "DESTDIR: the installed cgbpfctl runs" "$D/usr/sbin/cgbpfctl" --help
check "DESTDIR: the installed module exports the session entry points" \
	bash -c "nm -D --defined-only '$D$SECUREDIR/pam_cgbpf.so' | grep -q ' pam_sm_open_session$'"
expect_rc "make uninstall DESTDIR=..." 0 mk uninstall DESTDIR="$D"
left=$(cd "$D" && find . -type f -o -type l -o -path "*/security/pam_cgbpf")
if [ -z "$left" ]; then pass "DESTDIR: uninstall removes every file"; else
	fail "DESTDIR: uninstall removes every file" "left: $(tr "\n" " " <<<"$left")"; fi

# An administrator's policy survives install and uninstall.
D2=$(tmpdir_root)
mkdir -p "$D2/etc/security"
printf '# mine\n* egress deny\n' >"$D2/etc/security/pam_cgbpf.conf"
cp "$D2/etc/security/pam_cgbpf.conf" "$SCRATCH/mine.conf"
expect_rc "install over an existing policy" 0 mk install DESTDIR="$D2"
check "install keeps an existing policy untouched" cmp -s "$SCRATCH/mine.conf" "$D2/etc/security/pam_cgbpf.conf"
expect_rc "uninstall with a modified policy" 0 mk uninstall DESTDIR="$D2"
check "uninstall keeps a modified policy" cmp -s "$SCRATCH/mine.conf" "$D2/etc/security/pam_cgbpf.conf"
check "uninstall removed the rest" test ! -e "$D2/usr/sbin/cgbpfctl"

# ---- the real thing -----------------------------------------------------------------------------
BK=$(tmpdir_root)
restore_target() {
	rm -f -- "$1"
	mkdir -p "$(dirname "$1")"
	mv -- "$BK$1" "$1"
}
for t in "${TARGETS[@]}"; do
	if [ -e "$t" ] || [ -L "$t" ]; then
		mkdir -p "$BK$(dirname "$t")"
		mv -- "$t" "$BK$t" || die "move $t aside" "mv failed"
		on_exit restore_target "$t"
		echo "    moved a previous $t aside; it is put back at the end"
	fi
done
# The loader's directory goes with the last file in it (uninstall), so it must not be there now.
rmdir "$SECUREDIR/pam_cgbpf" 2>/dev/null

snapshot() {
	find "$SECUREDIR" /usr/sbin /usr/share/man/man5 /usr/share/man/man8 /etc/security -xdev \
		\( -type d -printf '%p d %m\n' \) -o \( -printf '%p %y %m %s\n' \) 2>/dev/null | sort
}
snapshot >"$SCRATCH/before"

# Undone at exit if the suite stops half-way; a no-op after a successful uninstall.
on_exit mk uninstall
expect_rc "make install" 0 mk install
for t in "${TARGETS[@]}"; do
	check "installed: $t" test -f "$t"
done

U=$(mkuser cgiu)
UID_U=$(id -u "$U")
SVC=cgbpf-ctl40-$$
service_line "$SVC" "session required pam_cgbpf.so $ARGS"
policy "* egress deny daddr=127.0.0.3"
expect_rc "pamtester open_session through pam_cgbpf.so by name" 0 pamtester "$SVC" "$U" open_session
check "the session got its sandbox cgroup" test -d "$(cg_of "$UID_U")"
check "the installed cgbpfctl lists the sandbox" \
	bash -c "/usr/sbin/cgbpfctl --config '$POLICY' --cgroup-root '$CG_ROOT' --bpffs '$BPFFS' --state-dir '$STATE' status --json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if [s for s in d[\"sandboxes\"] if s[\"uid\"] == $UID_U] else 1)'"
expect_rc "pamtester close_session" 0 pamtester "$SVC" "$U" close_session
assert_clean "installed module" "$UID_U"
check "man finds the installed cgbpfctl(8)" bash -c "man -w cgbpfctl | grep -qx /usr/share/man/man8/cgbpfctl.8"
check "man finds the installed pam_cgbpf.conf(5)" \
	bash -c "man -w 5 pam_cgbpf.conf | grep -qx /usr/share/man/man5/pam_cgbpf.conf.5"
check "the installed cgbpfctl checks the installed example policy" /usr/sbin/cgbpfctl check

expect_rc "make uninstall" 0 mk uninstall
for t in "${TARGETS[@]}"; do
	check "uninstalled: $t" test ! -e "$t"
done
"${CTL[@]}" gc >/dev/null 2>&1
snapshot >"$SCRATCH/after"
if cmp -s "$SCRATCH/before" "$SCRATCH/after"; then
	pass "after uninstall the system's files are as they were ($(wc -l <"$SCRATCH/before") entries compared)"
else
	fail "after uninstall the system's files are as they were" \
		"$(diff "$SCRATCH/before" "$SCRATCH/after" | head -20 | tr '\n' ' ')"
fi
