#!/usr/bin/env bash
# The policy parser under libFuzzer (ASan and UBSan) for FUZZ_SECONDS (default 60): any crash,
# leak, sanitizer report or timeout fails. Needs libFuzzer's runtime (libclang-rt-14-dev, in
# make deps); without it the suite says SKIP, visibly.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
SECONDS_TO_RUN=${FUZZ_SECONDS:-60}

probe=$SCRATCH/probe
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
	>"$probe.c"
if ! clang -fsanitize=fuzzer -o "$probe" "$probe.c" >/dev/null 2>&1; then
	skip "fuzz_policy" "clang cannot link -fsanitize=fuzzer (install libclang-rt-14-dev: make deps)"
	exit 0
fi
out=$SCRATCH/fuzz.out
if ! make --no-print-directory BUILD="$BUILD" fuzz-build >"$out" 2>&1; then
	fail "fuzz_policy builds" "$(tail -5 "$out" | tr '\n' ' ')"
	exit 1
fi
pass "fuzz_policy builds"
# A private copy of the seed corpus grows in SCRATCH; the seeds themselves are never written.
mkdir -p "$SCRATCH/corpus"
(cd "$SCRATCH" && "$BUILD/fuzz/fuzz_policy" -max_total_time="$SECONDS_TO_RUN" -timeout=10 \
	-rss_limit_mb=1024 -print_final_stats=1 corpus "$CGBPF_ROOT/tests/fuzz/corpus") >"$out" 2>&1
rc=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$out")
if [ "$rc" -eq 0 ] && [ -n "$runs" ] && [ "$runs" -gt 0 ]; then
	pass "fuzz_policy: $runs inputs in ${SECONDS_TO_RUN}s, no crash, leak or sanitizer report"
else
	fail "fuzz_policy: libFuzzer found a problem (exit $rc)" \
		"$(grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$out" | head -5 | tr '\n' ' ')"
	grep -E 'ERROR|SUMMARY|runtime error|#0|#1|#2|#3' "$out" | head -20 | sed 's/^/    | /'
	# Keep the reproducer where the reader can find it.
	for f in "$SCRATCH"/crash-* "$SCRATCH"/leak-* "$SCRATCH"/timeout-*; do
		[ -e "$f" ] && cp "$f" "$BUILD/fuzz/" && echo "    reproducer: $BUILD/fuzz/$(basename "$f")"
	done
fi
