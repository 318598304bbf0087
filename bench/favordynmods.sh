# shellcheck shell=bash
# Sourced by bench/run.sh: what the cgroup2 mount option favordynmods changes, for a login and
# for fork+exit. The option is not per mount: every cgroup2 mount is the one hierarchy, and a
# mount or remount in the initial cgroup namespace sets its flags for the whole machine (a
# second, private mount with favordynmods turns it on for /sys/fs/cgroup too, and it stays on
# after that mount is gone). So this step remounts the machine's cgroup2 mount with the option
# toggled for a few seconds and then remounts it with exactly the options it had, also when the
# bench fails or is interrupted, and checks that they are back.
FDM_MOUNT=$(cg2_mount)
fdm_opts() { awk -v m="$FDM_MOUNT" '$5 == m { for (i = 7; $i != "-"; i++); print $(i + 3); exit }' \
	/proc/self/mountinfo; }
# The superblock options without rw/ro, as a remount takes them ("" when there are none).
FDM_ORIG=$(fdm_opts | tr , '\n' | grep -vxE 'rw|ro' | paste -sd,)
fdm_remount() {
	mount -t cgroup2 -o "remount${1:+,$1}" cgroup2 "$FDM_MOUNT"
}
fdm_restore() {
	fdm_remount "$FDM_ORIG"
	if [ "$(fdm_opts | tr , '\n' | grep -vxE 'rw|ro' | paste -sd,)" != "$FDM_ORIG" ]; then
		echo "WARNING: $FDM_MOUNT options are now '$(fdm_opts)', were '$FDM_ORIG'" >&2
	fi
}

# fdm_measure LABEL: fork+exit and logins back to back, and logins 300 ms apart.
fdm_measure() {
	local back spaced
	back=$("$BUILD/bench/login_bench" "$CONFDIR" bench-sandbox bench-permit "$U" 100)
	spaced=$("$BUILD/bench/login_bench" "$CONFDIR" bench-sandbox bench-permit "$U" \
		"${BENCH_FDM_SPACED:-15}" 300)
	printf '  %-24s %18s %18s %18s %18s\n' "$1" \
		"$(awk '/^  fork\+exit/ {print $4}' <<<"$back")" \
		"$(awk '/^  pam_cgbpf/ {print $6}' <<<"$back")" \
		"$(awk '/^  pam_cgbpf/ {print $6}' <<<"$spaced")" \
		"$(awk '/^  pam_cgbpf/ {print $8}' <<<"$spaced")"
}

echo
echo "== favordynmods (cgroup2 at $FDM_MOUNT, options now: $(fdm_opts))"
printf '  %-24s %18s %18s %18s %18s\n' "" "fork+exit (us)" "login, back to" "login, 300 ms" \
	"of which open"
printf '  %-24s %18s %18s %18s %18s\n' "" "back to back" "back (us)" "apart (us)" "(us)"
case ,$FDM_ORIG, in
*,favordynmods,*)
	fdm_measure "with favordynmods"
	on_exit fdm_restore
	fdm_remount "$(tr , '\n' <<<"$FDM_ORIG" | grep -vx favordynmods | paste -sd,)"
	fdm_measure "without"
	;;
*)
	fdm_measure "without favordynmods"
	on_exit fdm_restore
	fdm_remount "${FDM_ORIG:+$FDM_ORIG,}favordynmods"
	fdm_measure "with"
	;;
esac
fdm_restore
echo "  (options restored: $(fdm_opts))"
