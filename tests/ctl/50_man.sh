#!/usr/bin/env bash
# The man pages render without a single warning, and say what the contract needs them to say.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

PAGES=(man/pam_cgbpf.8 man/pam_cgbpf.conf.5 man/cgbpfctl.8)
command -v groff >/dev/null || die "groff is installed" "apt-get install groff-base"
command -v man >/dev/null || die "man is installed" "apt-get install man-db"

for p in "${PAGES[@]}"; do
	if [ ! -f "$p" ]; then
		fail "$p exists"
		continue
	fi
	out=$(groff -man -ww -z "$p" 2>&1)
	if [ -z "$out" ]; then pass "$p: groff -man -ww -z prints nothing"; else
		fail "$p: groff -man -ww -z prints nothing" "$(head -5 <<<"$out" | tr '\n' ' ')"; fi
	out=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
	if [ -z "$out" ]; then pass "$p: man --warnings prints nothing"; else
		fail "$p: man --warnings prints nothing" "$(head -5 <<<"$out" | tr '\n' ' ')"; fi
	# Narrow terminals are where unbreakable lines show up.
	out=$(MANWIDTH=60 man --warnings -l "$p" 2>&1 >/dev/null)
	if [ -z "$out" ]; then pass "$p: no warnings at 60 columns either"; else
		fail "$p: no warnings at 60 columns either" "$(head -5 <<<"$out" | tr '\n' ' ')"; fi
done

# mentions PAGE REGEX...: the rendered page contains every REGEX.
mentions() {
	local p=$1 text r missing=""
	shift
	text=$(MANWIDTH=200 man -l "$p" 2>/dev/null | col -b | tr -s " ")
	for r in "$@"; do
		grep -Eq -- "$r" <<<"$text" || missing="$missing '$r'"
	done
	if [ -z "$missing" ]; then pass "$p documents: $*"; else fail "$p documents everything" "missing:$missing"; fi
}

mentions man/pam_cgbpf.8 "config=PATH" "cgroup_root=NAME" "bpffs=PATH" "state_dir=PATH" \
	"on_logout=keep\|kill" "debug" "pam_systemd" "last in the session stack" "PAM_IGNORE" \
	"PAM_SESSION_ERR" "syslog" "/run/pam_cgbpf/user-UID.ledger"
mentions man/pam_cgbpf.conf.5 "@group" "uid range" "allow \| deny" "program PATH\[:NAME\]" \
	"pinned PATH" "none" "daddr=" "sport=" "family=" "type=" "first rule that matches" \
	"256" "100,000" "64" "16 MiB" "IPv4-mapped" "extension headers" "up to 8" \
	"fragments" "truncated" "SYN" "EPERM" "sticky bit" "FILE:LINE"
mentions man/cgbpfctl.8 "check \[--user NAME\]" "status \[--json\]" "gc" "reload" \
	"--config" "--cgroup-root" "--bpffs" "--state-dir" "--verbose" "EXIT STATUS" \
	"Usage error" '"version"' '"sandboxes"' '"errors"' "processes" "sessions" "opened_iso" \
	"hooks" "program_id" "link_id" "program_name" "counters" "passed_packets" \
	"dropped_bytes" "hits"
