#!/usr/bin/env bash
# Runs every test suite and ends with one line "N passed, N failed, N skipped".
# Suites print "PASS: name", "FAIL: name" or "SKIP: name: why" lines; a suite that exits
# non-zero without printing a FAIL line counts as one failure of its own.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
pass=0 fail=0 skip=0
log=$(mktemp /tmp/cgbpf-run.XXXXXX)
trap 'rm -f "$log"' EXIT

if [ "$(id -u)" != 0 ]; then
	echo "make check must run as root (it loads BPF programs and creates users)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

run_suite() {
	local name=$1
	shift
	echo "== $name"
	"$@" >"$log" 2>&1
	local rc=$?
	cat "$log"
	local p f s
	p=$(grep -c '^PASS: ' "$log")
	f=$(grep -c '^FAIL: ' "$log")
	s=$(grep -c '^SKIP: ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name exited with status $rc"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && run_suite "$(basename "$t")" "$t"
done
# The same unit tests built with AddressSanitizer and UBSan, when make check built them.
if [ -n "${SAN_BUILD:-}" ]; then
	for t in "$SAN_BUILD"/tests/test_*; do
		[ -x "$t" ] && run_suite "$(basename "$t") (ASan+UBSan)" \
			env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$t"
	done
fi
for t in tests/pam/*.sh tests/sshd/*.sh tests/ctl/*.sh tests/systemd/*.sh tests/fuzz/*.sh; do
	case $t in *-lib.sh | */lib.sh) continue ;; esac
	[ -f "$t" ] && run_suite "$t" bash "$t"
done

echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
