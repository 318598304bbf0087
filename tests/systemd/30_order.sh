#!/usr/bin/env bash
# pam_cgbpf placed before pam_systemd (before "@include common-session" in /etc/pam.d/sshd): the
# login is still in ssh.service, not in a session scope, so placement=auto refuses it: the user's
# command does not run, the journal has the module's line naming pam_systemd, nothing is left.
# The same for a non-interactive stack without pam_systemd (cron's), and placement=own there is
# honoured.
# shellcheck source=tests/systemd/sd-sandbox-lib.sh
. "$(dirname "$0")/sd-sandbox-lib.sh"

need_root
sd_start
sd_install
sd_policy "tester egress allow daddr=127.0.0.2" "tester egress deny"
sd_pam_line sshd before "" || die sd_pam_line "cannot edit /etc/pam.d/sshd in the container"

journal_mark "$SCRATCH/cursor"
out=$(sd_ssh tester 'echo CMD-RAN' </dev/null 2>&1)
rc=$?
check "module before pam_systemd: the ssh login is refused" test "$rc" != 0
check "... and the user's command does not run" not_ran "$out"
jr=$(journal_since "$SCRATCH/cursor")
check "... and the journal has the module's line naming pam_systemd" \
	grep -E 'pam_cgbpf.*pam_systemd' <<<"$jr"
check "... and cgbpfctl status lists no sandbox" test "$(status_sandboxes)" = 0
check "... and no cgroup of the module's own was made" sd_exec test ! -e /sys/fs/cgroup/pam_cgbpf
check "... and no program of the module is on the user's slice" no_module_progs "$SLICE"
check "... and no pins are left" sd_exec test ! -e /sys/fs/bpf/pam_cgbpf/user-1000

# A stack without pam_systemd, as cron's common-session-noninteractive (pamtester from root,
# outside any session scope).
printf '%s\n' 'auth required pam_permit.so' 'account required pam_permit.so' \
	'session required pam_cgbpf.so' | sd_write /etc/pam.d/cgbpf-cron 0644
journal_mark "$SCRATCH/cursor"
check_fails "a stack without pam_systemd under placement=auto is refused" \
	sd_exec pamtester cgbpf-cron tester open_session close_session
jr=$(journal_since "$SCRATCH/cursor")
check "... with a line naming pam_systemd" grep -E 'pam_cgbpf.*pam_systemd' <<<"$jr"
printf '%s\n' 'auth required pam_permit.so' 'account required pam_permit.so' \
	'session required pam_cgbpf.so placement=own' | sd_write /etc/pam.d/cgbpf-cron 0644
check "placement=own there is honoured" \
	sd_exec pamtester cgbpf-cron tester open_session close_session
check "... and leaves no sandbox" test "$(status_sandboxes)" = 0
