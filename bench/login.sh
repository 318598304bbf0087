# shellcheck shell=bash
# Sourced by bench/run.sh: logins in a fresh process each, as sshd makes them, back to back and
# spaced out, against the same pam_permit-only stack.
echo
echo "== fresh-process logins (fork, pam_start, open, close, pam_end, exit)"
"$BUILD/bench/login_bench" "$CONFDIR" bench-sandbox bench-permit "$U" "${BENCH_LOGINS:-200}"
echo
"$BUILD/bench/login_bench" "$CONFDIR" bench-sandbox bench-permit "$U" "${BENCH_SPACED:-30}" \
	"${BENCH_SPACING_MS:-300}"
