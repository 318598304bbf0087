#!/usr/bin/env bash
# make bench, systemd placement (issue 13): what pam_cgbpf in placement=systemd adds to a real
# ssh login on a systemd host (tests/systemd/lib.sh: systemd as PID 1, logind, sshd with
# pam_systemd in a container). Logins `ssh tester@127.0.0.1 true`, alternating between the stock
# sshd PAM stack (a) and the same stack with pam_cgbpf's session line right after
# "@include common-session" (b). Before the timing, a held login of stack (b) must be in its
# logind session scope with the module's programs in effect there, and one of stack (a) must
# have none: otherwise the section fails rather than print a figure.
# Sourced by bench/run.sh, it runs as a process of its own (its own container and cleanup
# stack); run directly: flock /run/cgbpf-dev.lock bash bench/systemd_login.sh
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
	# A failure here fails make bench at its end (tests/lib.sh counts it) after the other sections.
	bash "${BASH_SOURCE[0]}" || fail "bench/systemd_login.sh" "the systemd placement section failed"
	return 0
fi
# shellcheck source=tests/systemd/sd-sandbox-lib.sh
. "$(dirname "$0")/../tests/systemd/sd-sandbox-lib.sh"
need_root

N=${BENCH_SD_LOGINS:-40}
echo
echo "== systemd placement: real ssh logins to a systemd host, without and with pam_cgbpf"
for t in systemd-nspawn debootstrap ssh; do
	command -v "$t" >/dev/null || {
		echo "  skipped: $t is not installed (make deps)"
		exit 0
	}
done
for f in "$BUILD/pam_cgbpf.so" "$BUILD/cgbpfctl"; do
	[ -f "$f" ] || {
		echo "  skipped: $f is not built (make tests)"
		exit 0
	}
done
# sd_start and sd_install fail the section (exit non-zero, with why) when they cannot.
sd_start
sd_install

# The same small policy as bench/run.sh's: ingress, egress and sock_create rules.
sd_policy "* ingress deny saddr=192.0.2.0/24" "* egress deny daddr=198.51.100.0/24 dport=9" \
	"* sock_create deny type=raw"
PAMD=/etc/pam.d/sshd
sd_exec cp "$PAMD" "$PAMD.stock" || die "systemd bench" "cannot copy $PAMD in the container"
sd_pam_line sshd after "placement=systemd" || die "systemd bench" "cannot edit $PAMD"
sd_exec cp "$PAMD" "$PAMD.cgbpf"
sd_exec grep -q pam_systemd /etc/pam.d/common-session ||
	die "systemd bench" "pam_systemd is not in common-session of the container"
stack() { # a|b: which /etc/pam.d/sshd the next login reads
	case $1 in
	a) sd_exec cp "$PAMD.stock" "$PAMD" ;;
	b) sd_exec cp "$PAMD.cgbpf" "$PAMD" ;;
	esac
}
# A login is over when sshd's processes for it are gone (it closes the PAM session after the
# client has left): each timed login starts with none left.
settled() {
	local i
	for ((i = 0; i < 100; i++)); do
		sd_exec pgrep -f '^sshd: tester' >/dev/null || return 0
		sleep 0.05
	done
	echo "sshd processes of tester still there after 5 s" >&2
	return 1
}

# ---- the placement is real --------------------------------------------------------------------
stack b
hold_open B tester || die "systemd bench" "a login with pam_cgbpf did not come up"
[[ $HOLD_CG_B =~ ^/user\.slice/user-$SD_UID\.slice/session-[0-9a-z]+\.scope$ ]] ||
	die "systemd bench" "the login with pam_cgbpf is in '$HOLD_CG_B', not a session scope of user-$SD_UID.slice"
out=$(has_effective "/sys/fs/cgroup$HOLD_CG_B" cgroup_inet_ingress cgroup_inet_egress \
	cgroup_inet_sock_create) ||
	die "systemd bench" "the module's programs are not in effect on the login's scope: $out"
sd_exec sh -c 'cgbpfctl status | grep -Eq "placement +systemd"' ||
	die "systemd bench" "cgbpfctl status does not show placement systemd"
hold_close B
wait_sessions 0 >/dev/null || die "systemd bench" "the login with pam_cgbpf did not close"
stack a
hold_open A tester || die "systemd bench" "a login without pam_cgbpf did not come up"
out=$(our_progs "$SLICE") || die "systemd bench" "bpftool cannot show $SLICE: $out"
[ -z "$out" ] ||
	die "systemd bench" "programs of the module on $SLICE without it in the stack: $out"
hold_close A
settled || die "systemd bench" "the login without pam_cgbpf did not end"
echo "  checked: with the module, a login stays in its session scope ($HOLD_CG_B)"
echo "  and the module's ingress, egress and sock_create programs on user-$SD_UID.slice are in"
echo "  effect there; without it, none of the module's programs are on the slice"

# ---- the timing ---------------------------------------------------------------------------------
# Client wall time of one login, in ms (monotonic clock), taken by python around ssh only.
timed_login() {
	python3 -c '
import subprocess, sys, time
t = time.monotonic_ns()
r = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL)
d = time.monotonic_ns() - t
if r.returncode:
    sys.exit(r.returncode)
print("%.2f" % (d / 1e6))' ssh "${SD_SSH_OPTS[@]}" tester@127.0.0.1 true
}
# One untimed login of each first: caches warm, user@1000.service up.
for s in a b; do
	stack "$s"
	sd_ssh tester true </dev/null || die "systemd bench" "warm-up login ($s) failed"
	settled || die "systemd bench" "warm-up login ($s) did not end"
done
t_a=() t_b=()
for ((i = 0; i < N; i++)); do
	for s in a b; do
		stack "$s"
		v=$(timed_login) || die "systemd bench" "login $i ($s) failed"
		settled || die "systemd bench" "login $i ($s) did not end"
		if [ "$s" = a ]; then t_a+=("$v"); else t_b+=("$v"); fi
	done
done
# The module must still have been placing: one more (b) login, checked as above.
stack b
hold_open C tester || die "systemd bench" "the last login with pam_cgbpf did not come up"
out=$(has_effective "/sys/fs/cgroup$HOLD_CG_C" cgroup_inet_ingress cgroup_inet_egress \
	cgroup_inet_sock_create) ||
	die "systemd bench" "after the timing, the module's programs are not in effect: $out"
hold_close C

stat_of() { # P VALUE...: the P-th percentile (nearest rank)
	local p=$1
	shift
	printf '%s\n' "$@" | sort -g | awk -v p="$p" '{ v[NR] = $1 }
		END { r = int((p * NR + 99) / 100); if (r < 1) r = 1; printf "%.1f", v[r] }'
}
ma=$(stat_of 50 "${t_a[@]}") pa=$(stat_of 90 "${t_a[@]}")
mb=$(stat_of 50 "${t_b[@]}") pb=$(stat_of 90 "${t_b[@]}")
printf '  %-44s %10s %10s\n' "$N logins each, alternating (ms)" median p90
printf '  %-44s %10s %10s\n' "(a) sshd stack, pam_systemd only" "$ma" "$pa"
printf '  %-44s %10s %10s\n' "(b) ... and pam_cgbpf placement=systemd" "$mb" "$pb"
printf '  %-44s %10s\n' "added by pam_cgbpf (median b - median a)" \
	"$(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%+.1f", b - a }')"
echo "  (client wall time of 'ssh tester@127.0.0.1 true', key login, new connection each: TCP,"
echo "   key exchange, auth, PAM account and session open, the command; the PAM session close"
echo "   runs after the client has gone and is not in it. Each login starts after the previous"
echo "   one's sshd has exited, so that every (b) login is the user's first: the module loads"
echo "   and attaches its programs on the slice and detaches them at the close.)"
