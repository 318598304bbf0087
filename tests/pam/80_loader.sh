#!/usr/bin/env bash
# The loader split (pam_cgbpf/loader.h): pam_cgbpf.so does not link libbpf; a cold login (its
# programs not loaded yet) loads pam_cgbpf/loader.so and works; a warm one, in a fresh process,
# maps neither the loader nor libbpf, program= rules included; a loader that is not root's, is
# writable by others or in a directory that is, is a symlink, is missing or is of another build
# (any source of either side changed) is refused and the login fails closed.
# shellcheck source=tests/sandbox.sh
. "$(dirname "$0")/../sandbox.sh"
need_root
start_syslog
sandbox_setup

U=$(mkuser cgld)
UID_U=$(id -u "$U")
SVC=cgbpf-t80-$$
stdin_fifo_open
OBJDIR=$(tmpdir_root)
install -m 0644 "$TEST_BPF/sock_addr.bpf.o" "$OBJDIR/sock_addr.bpf.o"
policy "* egress deny daddr=198.51.100.0/24" "* sock_create deny type=raw" \
	"* connect4 program $OBJDIR/sock_addr.bpf.o"

# ---- the module's own dependencies ------------------------------------------------------------
no_bpf_needed() { ! readelf -d "$1" | grep -E 'NEEDED.*(libbpf|libelf|libz)'; }
check "pam_cgbpf.so has no libbpf, libelf or libz NEEDED" no_bpf_needed "$MODULE"
check "the fault build's module has none either" no_bpf_needed "$FAULT_MODULE"
check "the loader is beside the module" test -f "$(dirname "$MODULE")/pam_cgbpf/loader.so"

# ---- a bad loader: refused, the login fails closed, nothing left ------------------------------
# A copy of the module in a directory of its own, with the loader beside it as each case makes it.
MODDIR=$(tmpdir_root)
install -m 0644 "$MODULE" "$MODDIR/pam_cgbpf.so"
mkdir -m 0755 "$MODDIR/pam_cgbpf"
service_line "$SVC-bad" "session required $MODDIR/pam_cgbpf.so $ARGS"
pins() { find "$BPFFS" -type f 2>/dev/null | wc -l; }
bad_loader() {
	local label=$1 why=$2
	log_mark
	expect_rc "$label: the login fails with PAM_SESSION_ERR" 14 \
		"$PAMSESSION" "$SVC-bad" "$U" open
	check "$label: the log says why" log_has "session refused for user $U: .*$why"
	assert_clean "$label" "$UID_U"
	check "$label: no shared program is left pinned" test "$(pins)" = 0
}
install -m 0664 "$(dirname "$MODULE")/pam_cgbpf/loader.so" "$MODDIR/pam_cgbpf/loader.so"
bad_loader "a group-writable loader" "refusing the BPF loader $MODDIR/pam_cgbpf/loader.so: not a regular file owned by root and writable by root only"
chmod 0646 "$MODDIR/pam_cgbpf/loader.so"
bad_loader "an other-writable loader" "refusing the BPF loader .*writable by root only"
chmod 0644 "$MODDIR/pam_cgbpf/loader.so"
chown 65534 "$MODDIR/pam_cgbpf/loader.so"
bad_loader "a loader not owned by root" "refusing the BPF loader .*owned by root"
chown 0 "$MODDIR/pam_cgbpf/loader.so"
chmod 0775 "$MODDIR/pam_cgbpf"
bad_loader "a loader in a group-writable directory" "refusing the BPF loader's directory $MODDIR/pam_cgbpf: not owned by root and writable by root only"
chmod 0755 "$MODDIR/pam_cgbpf"
chown 65534 "$MODDIR/pam_cgbpf"
bad_loader "a loader in a directory not root's" "refusing the BPF loader's directory .*owned by root"
chown 0 "$MODDIR/pam_cgbpf"
mv "$MODDIR/pam_cgbpf/loader.so" "$MODDIR/pam_cgbpf/real.so"
chown 0 "$MODDIR/pam_cgbpf/real.so"
ln -s real.so "$MODDIR/pam_cgbpf/loader.so"
bad_loader "a symlinked loader" "cannot open the BPF loader $MODDIR/pam_cgbpf/loader.so"
rm "$MODDIR/pam_cgbpf/loader.so"
bad_loader "a missing loader" "cannot open the BPF loader $MODDIR/pam_cgbpf/loader.so: No such file"
# Not a loader at all (a root-owned 0644 file of another kind): dlopen or the version says no.
install -m 0644 "$MODULE" "$MODDIR/pam_cgbpf/loader.so"
bad_loader "a file that is not a loader" "the BPF loader .* is not of this module's build|cannot load the BPF loader"

# Of another build: this tree and its build copied, one .c file changed that is not a header
# (filter_load.c, compiled into both sides), and the loader rebuilt from it. Unchanged, the copy's
# build tag is ours, so it is the change that makes the other build.
TREE=$(tmpdir_root)
mkdir "$TREE/build"
tar -C "$CGBPF_ROOT" -cf - Makefile pam_cgbpf | tar -C "$TREE" -xf -
(cd "$BUILD" && tar -cf - obj bpf loader_gen engine_build.h ./*.skel.h libcgbpf.a pam_cgbpf) |
	tar -C "$TREE/build" -xf -
other_build() { make -C "$TREE" --no-print-directory BUILD=build build/pam_cgbpf/loader.so; }
check "a copy of this build: make builds its loader" other_build
check "a copy of this build: its build tag is ours" cmp -s "$TREE/build/engine_build.h" \
	"$BUILD/engine_build.h"
echo "/* another build */" >>"$TREE/pam_cgbpf/filter_load.c"
check "a loader built from a changed .c: builds" other_build
check_fails "a loader built from a changed .c: has another build tag" \
	grep -qF "$(grep CGBPF_LOADER_ABI "$BUILD/engine_build.h")" "$TREE/build/engine_build.h"
install -m 0644 "$TREE/build/pam_cgbpf/loader.so" "$MODDIR/pam_cgbpf/loader.so"
bad_loader "a loader built from a changed .c" "the BPF loader $MODDIR/pam_cgbpf/loader.so is not of this module's build"

# A refused loader is not kept: in one process, a login beside the other build's loader fails,
# ours is put in its place, and the next login opens that file afresh and succeeds.
log_mark
retry=$("$HELPERS/pamretry" "$SVC-bad" "$U" \
	"install -m 0644 '$(dirname "$MODULE")/pam_cgbpf/loader.so' '$MODDIR/pam_cgbpf/loader.so'")
check "a refused loader, then ours in one process: the first login fails" has '^first: 14$' "$retry"
check "a refused loader, then ours in one process: the second opens ours and succeeds" \
	has '^second: 0$' "$retry"
check "a refused loader, then ours in one process: the log says why the first failed" \
	log_has "session refused for user $U: .*is not of this module's build"
assert_clean "a refused loader, then ours in one process" "$UID_U"
# What it loaded goes, so that the next login is cold again.
check "gc removes the shared programs it loaded" "${CTL[@]}" gc
check "no shared program is left pinned" test "$(pins)" = 0
rm "$MODDIR/pam_cgbpf/loader.so"

# ---- cold, then warm, each in a fresh process ----------------------------------------------------
service "$SVC"
# held_maps LABEL: opens a session in a fresh pamsession, which holds it, and saves its maps.
held_maps() {
	local out=$SCRATCH/hold.$RANDOM
	BG_STDIN=$STDIN_FIFO bg_start "$out" '^opened' "$PAMSESSION" "$SVC" "$U" hold ||
		die "$1" "open failed: $(cat "$out")"
	MAPS=$SCRATCH/maps.$RANDOM
	cp "/proc/$BG_PID/maps" "$MAPS"
	HOLD=$BG_PID
}
close_held() {
	kill -TERM "$HOLD"
	expect_rc "$1: close the session" 0 bg_wait "$HOLD"
	assert_clean "$1" "$UID_U"
}
maps_have() { grep -Eq "$1" "$MAPS"; }

held_maps "cold login"
check "cold login: the sandbox is up" test -d "$(cg_of "$UID_U")"
check "cold login: the loader was mapped to load the programs" maps_have '/pam_cgbpf/loader\.so$'
check "cold login: and libbpf with it" maps_have '/libbpf\.so'
close_held "cold login"

held_maps "warm login"
check "warm login: the sandbox is up" test -d "$(cg_of "$UID_U")"
n=$(attached "$UID_U")
if [ "$n" -eq $((3 + EARLY)) ]; then pass "warm login: filters, the program rule and $EARLY early programs attached"; else
	fail "warm login: filters, the program rule and $EARLY early programs attached" "saw $n"; fi
check_fails "warm login: the loader was not mapped" maps_have 'pam_cgbpf/loader\.so'
check_fails "warm login: nor libbpf, libelf or libz" maps_have '/(libbpf|libelf|libz)\.so'
close_held "warm login"

# A warm login with the bad loader beside the module copy: nothing needs it, so it succeeds.
install -m 0664 "$(dirname "$MODULE")/pam_cgbpf/loader.so" "$MODDIR/pam_cgbpf/loader.so"
expect_rc "warm login beside a bad loader: the loader is never opened" 0 \
	"$PAMSESSION" "$SVC-bad" "$U" open-close
assert_clean "warm login beside a bad loader" "$UID_U"
