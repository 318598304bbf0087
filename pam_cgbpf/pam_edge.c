// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The PAM entry points: read the user and the arguments, call the session
 * code, map its negative errno to a PAM code. Nothing else lives here.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "args.h"
#include "fault.h"
#include "log.h"
#include "proc_guard.h"
#include "session.h"

#define DATA_KEY "pam_cgbpf_session"

/* What a refused user is told; the reason, which may name the policy, goes to the log only. */
#define REFUSAL_MESSAGE                                                                            \
	"This session could not be sandboxed (pam_cgbpf); please ask the administrator."

static void log_to_pam(void *ctx, int priority, const char *fmt, va_list ap)
{
	pam_vsyslog((pam_handle_t *)ctx, priority, fmt, ap);
}

static const char *get_item_str(pam_handle_t *pamh, int item)
{
	const void *v = NULL;

	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || !v || !*(const char *)v)
		return NULL;
	return v;
}

/* Everything both entry points need before they can do anything. */
struct edge {
	struct cgbpf_settings settings;
	struct session_info si;
	struct cgbpf_log_sink saved_sink;
	struct proc_guard guard;
};

static int edge_enter(struct edge *e, pam_handle_t *pamh, int argc, const char **argv)
{
	struct cgbpf_error err = { { 0 } };
	const char *user = NULL;

	/* First: the caller inherits limits and signals from the user (su), not from us. */
	proc_guard_enter(&e->guard);
	settings_init(&e->settings);
	e->saved_sink = cgbpf_log_set((struct cgbpf_log_sink){ .fn = log_to_pam, .ctx = pamh });
	if (settings_parse_args(&e->settings, argc, argv, &err) < 0) {
		pam_syslog(pamh, LOG_ERR, "%s", err.msg);
		return PAM_SESSION_ERR;
	}
	cgbpf_log_set((struct cgbpf_log_sink){
		.fn = log_to_pam, .ctx = pamh, .debug = e->settings.debug });
	fault_configure(e->settings.fault);
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || !user || !*user) {
		pam_syslog(pamh, LOG_ERR, "cannot determine the user name");
		return PAM_SESSION_ERR;
	}
	e->si = (struct session_info){
		.user = user,
		.pid = getpid(),
		.service = get_item_str(pamh, PAM_SERVICE),
		.tty = get_item_str(pamh, PAM_TTY),
		.rhost = get_item_str(pamh, PAM_RHOST),
	};
	return PAM_SUCCESS;
}

static void edge_leave(struct edge *e)
{
	proc_guard_leave(&e->guard);
	cgbpf_log_set(e->saved_sink);
}

static void free_key(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

__attribute__((visibility("default"))) PAM_EXTERN int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct cgbpf_error err = { { 0 } };
	struct session_key key, *saved;
	struct edge e;
	bool sandboxed = false;
	int ret;

	ret = edge_enter(&e, pamh, argc, argv);
	if (ret != PAM_SUCCESS)
		goto out;
	if (session_open(&e.settings, &e.si, &sandboxed, &key, &err) < 0) {
		pam_syslog(pamh, LOG_ERR, "session refused for user %s: %s", e.si.user, err.msg);
		ret = PAM_SESSION_ERR;
		goto out;
	}
	if (!sandboxed) {
		ret = PAM_IGNORE;
		goto out;
	}
	/* Survives a fork, so a child that closes the session closes this one. */
	saved = malloc(sizeof(*saved));
	if (saved) {
		*saved = key;
		if (pam_set_data(pamh, DATA_KEY, saved, free_key) != PAM_SUCCESS)
			free(saved);
	}
	ret = PAM_SUCCESS;
out:
	if (ret == PAM_SESSION_ERR && !(flags & PAM_SILENT))
		pam_error(pamh, "%s", REFUSAL_MESSAGE);
	edge_leave(&e);
	return ret;
}

__attribute__((visibility("default"))) PAM_EXTERN int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct cgbpf_error err = { { 0 } };
	const void *data = NULL;
	struct edge e;
	bool had = false;
	int ret;

	(void)flags;
	ret = edge_enter(&e, pamh, argc, argv);
	if (ret != PAM_SUCCESS)
		goto out;
	if (pam_get_data(pamh, DATA_KEY, &data) != PAM_SUCCESS)
		data = NULL;
	if (session_close(&e.settings, &e.si, data, &had, &err) < 0) {
		pam_syslog(pamh, LOG_ERR, "closing the session of user %s: %s", e.si.user, err.msg);
		ret = PAM_SESSION_ERR;
		goto out;
	}
	ret = had ? PAM_SUCCESS : PAM_IGNORE;
out:
	edge_leave(&e);
	return ret;
}
