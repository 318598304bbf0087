# shellcheck shell=bash
# The systemd-host harness: a real Debian 12 host (systemd as PID 1, dbus, logind, sshd with
# pam_systemd) in a systemd-nspawn container, for the suites tests/systemd/NN_*.sh.
#
#	. "$(dirname "$0")/lib.sh"     # sources tests/lib.sh too
#	need_root; sd_start            # boots a fresh copy of the cached rootfs; sd_stop runs at exit
#	sd_install                     # build/pam_cgbpf.so, build/cgbpfctl, test helpers into it
#	sd_exec systemctl is-system-running
#	sd_ssh tester 'cat /proc/self/cgroup'     # a real key login: a logind session scope
#
# SD_NAME (cgbpf-sd) names the container, its cached rootfs and its state directory; SD_PORT (2422)
# is sshd's port on 127.0.0.1 (the host network is shared). The rootfs is built once per machine
# by debootstrap from the Debian archive the host uses, into /var/lib/machines/$SD_NAME.base
# (under a lock, so concurrent suites never build it twice), and rebuilt when the package list
# below changes. Every sd_start boots a fresh copy, $SD_ROOT, so each suite starts clean; sd_stop
# powers it off and deletes the copy. One container per SD_NAME at a time: sd_start waits for a
# suite that still holds it.
#
# What this machine needs from nspawn (see also ../shared/systemd-host/README.md): the host has
# no systemd or machined, so nspawn runs with --register=no --keep-unit in a cgroup made here;
# the host's cgroups are hybrid, so that cgroup is made in the unified tree and in name=systemd,
# and SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 gives the container a pure cgroup2 tree, as on a Debian 12
# server; CAP_BPF and friends plus the bpf syscall let root inside load and attach programs; a
# private bpffs is bound at /sys/fs/bpf. The container's cgroup2 has no controllers (they are
# bound to cgroup v1 on this host), so memory.max, pids.max and TasksMax= do nothing; cgroup BPF
# works on every cgroup. The kernel is the host's: program and link ids are global.
#
# SD_KEEP=1 leaves the container running after the suite, for a look inside (ssh -i
# $SD_STATE/id_ed25519 -p $SD_PORT tester@127.0.0.1); the next sd_start stops it.

# Run directly, this library is not a suite (tests/run.sh skips it too).
[ "${BASH_SOURCE[0]}" = "$0" ] && exit 0

# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SD_NAME=${SD_NAME:-cgbpf-sd}
SD_PORT=${SD_PORT:-2422}
SD_BOOT_TIMEOUT=${SD_BOOT_TIMEOUT:-120}
SD_MACHINES=/var/lib/machines
SD_BASE=$SD_MACHINES/$SD_NAME.base
SD_ROOT=$SD_MACHINES/$SD_NAME
SD_STATE=$SD_MACHINES/$SD_NAME.state
SD_BPFFS_HOST=/run/$SD_NAME.bpffs
SD_USER=tester
SD_UID=1000

# What the rootfs holds: a Debian 12 server's login stack, what the module and the test helpers
# link against, and the tools the suites run inside. Changing this list rebuilds the rootfs.
SD_PACKAGES=systemd,systemd-sysv,dbus,libpam-systemd,libpam-modules,libpam-runtime,openssh-server
SD_PACKAGES+=,openssh-client,libbpf1,libelf1,zlib1g,libpam0g,bpftool,iproute2,python3,procps
SD_PACKAGES+=,pamtester,util-linux,passwd,login,apt
# Bumped when the rootfs set-up below changes.
SD_LAYOUT=1

_sd_started=
_sd_lock_fd=

_sd_say() {
	echo "    sd: $*" >&2
}

# ---- cgroups of the container on the host -------------------------------------------------------

# Sets SD_CG2 (the host's cgroup2 mount), _sd_cgv1 (name=systemd, hybrid hosts only) and
# SD_CG_HOST (the container's cgroup2 root as seen from the host).
_sd_cgroups() {
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		SD_CG2=/sys/fs/cgroup
		_sd_cgv1=
	elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
		SD_CG2=/sys/fs/cgroup/unified
		_sd_cgv1=/sys/fs/cgroup/systemd
		[ "$(stat -f -c %T "$_sd_cgv1" 2>/dev/null)" = cgroupfs ] || _sd_cgv1=
	else
		return 1
	fi
	_sd_cg_rel=machine.slice/machine-$SD_NAME.scope
	SD_CG_HOST=$SD_CG2/$_sd_cg_rel/payload
}

# Kills what is left in the container's cgroups and removes them.
_sd_cgroups_remove() {
	local top pids
	for top in "$SD_CG2/$_sd_cg_rel" ${_sd_cgv1:+"$_sd_cgv1/$_sd_cg_rel"}; do
		[ -d "$top" ] || continue
		pids=$(find "$top" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')
		if [ -n "${pids// /}" ]; then
			_sd_say "killing processes left in $top: $pids"
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null
			sleep 0.3
		fi
		find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null
		rmdir "$(dirname "$top")" 2>/dev/null
		[ -d "$top" ] && return 1
	done
	return 0
}

# ---- the cached rootfs --------------------------------------------------------------------------

_sd_stamp() {
	printf 'layout %s\npackages %s\n' "$SD_LAYOUT" "$SD_PACKAGES"
}

_sd_mirror() {
	grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list 2>/dev/null | head -n 1 | awk '{ print $2 }'
}

# Builds $SD_BASE unless it is there and current; under its own lock.
_sd_build_base() {
	local fd suite mirror r t0=$SECONDS
	exec {fd}>"$SD_MACHINES/$SD_NAME.base.lock"
	if ! flock -w 900 "$fd"; then
		exec {fd}>&-
		echo "another suite holds $SD_MACHINES/$SD_NAME.base.lock (building the rootfs?)"
		return 1
	fi
	if [ -x "$SD_BASE/lib/systemd/systemd" ] &&
		[ "$(cat "$SD_BASE/etc/cgbpf-sd.stamp" 2>/dev/null)" = "$(_sd_stamp)" ]; then
		exec {fd}>&-
		return 0
	fi
	suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
	mirror=$(_sd_mirror)
	if [ -z "$mirror" ]; then
		exec {fd}>&-
		echo "no Debian mirror in the host's apt sources"
		return 1
	fi
	_sd_say "building $SD_BASE: debootstrap $suite from $mirror (about a minute, once)"
	r=$SD_BASE.tmp
	rm -rf --one-file-system "$r"
	if ! debootstrap --variant=minbase --include="$SD_PACKAGES" "$suite" "$r" "$mirror" \
		>"$SD_STATE/debootstrap.log" 2>&1; then
		tail -n 20 "$SD_STATE/debootstrap.log"
		rm -rf --one-file-system "$r"
		exec {fd}>&-
		echo "debootstrap failed (log: $SD_STATE/debootstrap.log)"
		return 1
	fi
	echo "$SD_NAME" >"$r/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
		"$SD_NAME" >"$r/etc/hosts"
	# The same archive as the host, updates and security included.
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		cp /etc/apt/sources.list.d/debian.sources "$r/etc/apt/sources.list.d/" &&
			rm -f "$r/etc/apt/sources.list"
	fi
	# tester: no password, but not locked, so that a key login works.
	chroot "$r" useradd -m -s /bin/bash -u "$SD_UID" "$SD_USER" &&
		chroot "$r" usermod -p '*' "$SD_USER" || {
		rm -rf --one-file-system "$r"
		exec {fd}>&-
		echo "cannot create $SD_USER in the rootfs"
		return 1
	}
	printf 'PasswordAuthentication no\nPermitRootLogin prohibit-password\n' \
		>"$r/etc/ssh/sshd_config.d/00-cgbpf-sd.conf"
	# Timers that would only make noise in a test host.
	for t in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
		fstrim.timer; do
		ln -sf /dev/null "$r/etc/systemd/system/$t"
	done
	rm -f "$r/var/cache/apt/archives/"*.deb
	_sd_stamp >"$r/etc/cgbpf-sd.stamp"
	rm -rf --one-file-system "$SD_BASE"
	mv "$r" "$SD_BASE"
	exec {fd}>&-
	_sd_say "built $SD_BASE in $((SECONDS - t0)) s"
}

# ---- start and stop -----------------------------------------------------------------------------

# sd_start: boots a fresh copy of the rootfs and waits until systemd runs and root can log in
# over ssh. Registers sd_stop. Sets SD_ROOT, SD_LEADER (the container's PID 1 on the host),
# SD_NSPAWN_PID, SD_CG_HOST, SD_KEY. Fails the suite when it cannot.
sd_start() {
	local t0=$SECONDS tb state err
	[ -n "$_sd_started" ] && return 0
	[ "$(id -u)" = 0 ] || die sd_start "needs root"
	command -v systemd-nspawn >/dev/null && command -v debootstrap >/dev/null ||
		die sd_start "systemd-nspawn or debootstrap missing: run make deps"
	_sd_cgroups || die sd_start "no cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified"
	mkdir -p "$SD_STATE" || die sd_start "cannot create $SD_STATE"
	exec {_sd_lock_fd}>"$SD_STATE/lock"
	flock -w 900 "$_sd_lock_fd" || die sd_start "another suite holds $SD_STATE/lock"
	_sd_started=1
	on_exit sd_stop
	# What a killed suite or SD_KEEP=1 left behind.
	_sd_teardown || die sd_start "cannot clean up after the last $SD_NAME"

	err=$(_sd_build_base) || die sd_start "$err"
	tb=$SECONDS

	rm -rf --one-file-system "$SD_ROOT"
	cp -a --reflink=auto "$SD_BASE" "$SD_ROOT" || die sd_start "cannot copy $SD_BASE to $SD_ROOT"

	SD_KEY=$SD_STATE/id_ed25519
	if [ ! -f "$SD_KEY" ]; then
		ssh-keygen -q -t ed25519 -N '' -C "$SD_NAME-test" -f "$SD_KEY" </dev/null ||
			die sd_start "ssh-keygen failed"
	fi
	install -d -m 0700 "$SD_ROOT/root/.ssh" "$SD_ROOT/home/$SD_USER/.ssh" &&
		install -m 0600 "$SD_KEY.pub" "$SD_ROOT/root/.ssh/authorized_keys" &&
		install -m 0600 -o "$SD_UID" -g "$SD_UID" "$SD_KEY.pub" \
			"$SD_ROOT/home/$SD_USER/.ssh/authorized_keys" &&
		chown "$SD_UID:$SD_UID" "$SD_ROOT/home/$SD_USER/.ssh" ||
		die sd_start "cannot install the ssh key"
	printf 'Port %s\nListenAddress 127.0.0.1\n' "$SD_PORT" \
		>"$SD_ROOT/etc/ssh/sshd_config.d/01-port.conf"
	[ -z "$(ss -Hltn "sport = :$SD_PORT")" ] ||
		die sd_start "TCP port $SD_PORT is in use on the host (set SD_PORT)"

	mkdir -p "$SD_BPFFS_HOST" && mount -t bpf -o mode=700 bpf "$SD_BPFFS_HOST" ||
		die sd_start "cannot mount a bpffs at $SD_BPFFS_HOST"

	mkdir -p "$SD_CG2/$_sd_cg_rel" || die sd_start "cannot create $SD_CG2/$_sd_cg_rel"
	[ -n "$_sd_cgv1" ] && mkdir -p "$_sd_cgv1/$_sd_cg_rel"

	: >"$SD_STATE/console.log"
	(
		# The container must hold none of the suite's fds: its locks (this one, or
		# /run/cgbpf-dev.lock from flock), its fifo, run.sh's log.
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && exec {fd}>&-
		done 2>/dev/null
		echo "$BASHPID" >"$SD_CG2/$_sd_cg_rel/cgroup.procs" || exit 1
		[ -n "$_sd_cgv1" ] && echo "$BASHPID" >"$_sd_cgv1/$_sd_cg_rel/cgroup.procs"
		export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
		exec setsid systemd-nspawn --quiet --boot --directory="$SD_ROOT" \
			--machine="$SD_NAME" --register=no --keep-unit --console=read-only \
			--capability=CAP_BPF,CAP_PERFMON,CAP_NET_ADMIN,CAP_SYS_RESOURCE,CAP_IPC_LOCK \
			--system-call-filter='bpf perf_event_open' \
			--bind="$SD_BPFFS_HOST:/sys/fs/bpf"
	) </dev/null >>"$SD_STATE/console.log" 2>&1 &
	SD_NSPAWN_PID=$!
	echo "$SD_NSPAWN_PID" >"$SD_STATE/nspawn.pid"

	SD_SSH_OPTS=(-i "$SD_KEY" -p "$SD_PORT" -o StrictHostKeyChecking=no
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes
		-o ConnectTimeout=5)
	SD_LEADER=
	state=
	while :; do
		kill -0 "$SD_NSPAWN_PID" 2>/dev/null || _sd_boot_failed "systemd-nspawn exited"
		[ -n "$SD_LEADER" ] || SD_LEADER=$(pgrep -P "$SD_NSPAWN_PID" -x systemd | head -n 1)
		if [ -n "$SD_LEADER" ]; then
			state=$(sd_exec systemctl is-system-running 2>/dev/null)
			case $state in
			running | degraded)
				ssh "${SD_SSH_OPTS[@]}" root@127.0.0.1 true </dev/null 2>/dev/null && break
				;;
			esac
		fi
		[ $((SECONDS - tb)) -lt "$SD_BOOT_TIMEOUT" ] ||
			_sd_boot_failed "not up after $SD_BOOT_TIMEOUT s (state ${state:-unknown})"
		sleep 0.3
	done
	export SD_ROOT SD_LEADER SD_NSPAWN_PID SD_CG_HOST SD_KEY
	_sd_say "$SD_NAME up: systemd $state; rootfs ready after $((tb - t0)) s, booted in" \
		"$((SECONDS - tb)) s; ssh -i $SD_KEY -p $SD_PORT tester@127.0.0.1"
}

_sd_boot_failed() {
	echo "    sd: last lines of $SD_STATE/console.log:"
	tail -n 25 "$SD_STATE/console.log" | sed 's/\x1b\[[0-9;]*m//g; s/^/    | /'
	if [ -n "${SD_LEADER:-}" ]; then
		sd_exec systemctl --no-pager --failed 2>&1 | sed 's/^/    | /'
	fi
	die sd_start "$1"
}

# Stops the container of the pid file, if it still runs: poweroff, SIGKILL after 30 s.
_sd_kill_nspawn() {
	local pid i
	pid=$(cat "$SD_STATE/nspawn.pid" 2>/dev/null)
	if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
		[[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == *"systemd-nspawn "*"--machine=$SD_NAME "* ]]; then
		kill -TERM "$pid"
		for ((i = 0; i < 300; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			_sd_say "$SD_NAME did not power off within 30 s, killing it"
			kill -KILL "$pid" 2>/dev/null
			sleep 0.2
		fi
	fi
	rm -f "$SD_STATE/nspawn.pid"
}

# Everything a container leaves on the host: itself, its cgroups, nspawn's propagation
# directory, its bpffs (the pins go with it), the rootfs copy.
_sd_teardown() {
	local rc=0
	_sd_kill_nspawn
	_sd_cgroups_remove || {
		_sd_say "could not remove $SD_CG2/$_sd_cg_rel"
		rc=1
	}
	rm -rf "/run/systemd/nspawn/propagate/$SD_NAME"
	if mountpoint -q "$SD_BPFFS_HOST"; then umount "$SD_BPFFS_HOST" || rc=1; fi
	rmdir "$SD_BPFFS_HOST" 2>/dev/null
	rm -rf --one-file-system "$SD_ROOT"
	return "$rc"
}

# sd_stop: powers the container off, removes its cgroups, bpffs and rootfs copy. Idempotent.
sd_stop() {
	local rc=0
	[ -n "$_sd_started" ] || return 0
	if [ "${SD_KEEP:-0}" = 1 ]; then
		_sd_say "SD_KEEP=1: $SD_NAME left running (leader $SD_LEADER, rootfs $SD_ROOT)"
		[ -n "$_sd_lock_fd" ] && exec {_sd_lock_fd}>&-
		_sd_lock_fd=
		_sd_started=
		return 0
	fi
	_sd_teardown || rc=1
	[ -n "$_sd_lock_fd" ] && exec {_sd_lock_fd}>&-
	_sd_lock_fd=
	_sd_started=
	SD_LEADER=
	return "$rc"
}

# ---- getting in ---------------------------------------------------------------------------------

# sd_exec CMD...: runs CMD as root in the container's namespaces, with a clean environment. The
# process keeps a host cgroup (outside the container's tree): use sd_ssh where that matters.
sd_exec() {
	[ -n "${SD_LEADER:-}" ] || {
		echo "sd_exec: the container is not running" >&2
		return 125
	}
	nsenter -t "$SD_LEADER" -a -- env -C /root -i HOME=/root LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# sd_ssh USER CMD...: a real ssh key login as USER (tester or root), so pam_systemd and logind
# give it a session; ssh joins CMD's words into one remote shell command line, as ssh does.
# Stdin is passed on: redirect it (</dev/null) when the command should not read the suite's.
sd_ssh() {
	local user=$1
	shift
	ssh "${SD_SSH_OPTS[@]}" "$user@127.0.0.1" "$@"
}

# sd_pam_dir: the container's multiarch PAM module directory, as seen inside.
sd_pam_dir() {
	local f
	for f in "$SD_ROOT"/usr/lib/*/security/pam_unix.so; do
		[ -f "$f" ] && {
			dirname "${f#"$SD_ROOT"}"
			return 0
		}
	done
	return 1
}

# sd_install: $BUILD/pam_cgbpf.so and its loader (pam_cgbpf/loader.so beside it) into the
# multiarch PAM directory, $BUILD/cgbpfctl into /usr/sbin, and what sd_install_helpers
# installs, all inside the container.
sd_install() {
	local pamdir
	pamdir=$(sd_pam_dir) || die sd_install "no pam_unix.so in $SD_ROOT/usr/lib/*/security"
	[ -f "$BUILD/pam_cgbpf.so" ] && [ -f "$BUILD/cgbpfctl" ] ||
		die sd_install "$BUILD/pam_cgbpf.so or $BUILD/cgbpfctl not built (make tests)"
	install -m 0644 "$BUILD/pam_cgbpf.so" "$SD_ROOT$pamdir/pam_cgbpf.so" &&
		install -d -m 0755 "$SD_ROOT$pamdir/pam_cgbpf" &&
		install -m 0644 "$BUILD/pam_cgbpf/loader.so" "$SD_ROOT$pamdir/pam_cgbpf/loader.so" &&
		install -m 0755 "$BUILD/cgbpfctl" "$SD_ROOT/usr/sbin/cgbpfctl" ||
		die sd_install "cannot copy the module and cgbpfctl into $SD_ROOT"
	sd_install_helpers
}

# sd_install_helpers: only the test helpers, into /usr/local/bin, and the test BPF objects,
# into /usr/local/lib/cgbpf-tests/bpf (for a suite that installs the module another way).
sd_install_helpers() {
	local f
	for f in netprobe pamsession logsink; do
		[ -f "$HELPERS/$f" ] || continue
		install -m 0755 "$HELPERS/$f" "$SD_ROOT/usr/local/bin/$f" ||
			die sd_install "cannot copy $f into $SD_ROOT"
	done
	if compgen -G "$BUILD/tests/bpf/*.bpf.o" >/dev/null; then
		install -d "$SD_ROOT/usr/local/lib/cgbpf-tests/bpf" &&
			install -m 0644 "$BUILD"/tests/bpf/*.bpf.o "$SD_ROOT/usr/local/lib/cgbpf-tests/bpf/" ||
			die sd_install "cannot copy the test BPF objects into $SD_ROOT"
	fi
}
