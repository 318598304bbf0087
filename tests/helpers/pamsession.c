/*
 * pamsession: a minimal PAM client that opens and closes sessions for the tests and the demo.
 *
 *   pamsession [-c CONFDIR] SERVICE USER open-close|open|close|hold|hold-fork
 *
 * The exit status is the PAM return code of the first call that did not return PAM_SUCCESS
 * (0 when all did), 64 for a usage error, 70 when the helper itself fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <security/pam_appl.h>

#define RC_USAGE    64
#define RC_INTERNAL 70

enum action { OPEN_CLOSE, OPEN, CLOSE, HOLD, HOLD_FORK };

static const char usage_text[] =
	"usage: pamsession [-c CONFDIR] SERVICE USER open-close|open|close|hold|hold-fork\n";

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/* Prompts cannot be answered; messages go to stderr so the test log shows them. */
static int null_conv(int num_msg, const struct pam_message **msg, struct pam_response **resp,
		     void *appdata)
{
	struct pam_response *replies;

	(void)appdata;
	if (num_msg <= 0)
		return PAM_CONV_ERR;
	replies = calloc(num_msg, sizeof(*replies));
	if (!replies)
		return PAM_BUF_ERR;
	for (int i = 0; i < num_msg; i++) {
		switch (msg[i]->msg_style) {
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			fprintf(stderr, "%s\n", msg[i]->msg ? msg[i]->msg : "");
			break;
		default:
			free(replies);
			return PAM_CONV_ERR;
		}
	}
	*resp = replies;
	return PAM_SUCCESS;
}

struct session {
	pam_handle_t *pamh;
	int first_failure; /* PAM code of the first call that failed, PAM_SUCCESS if none */
};

/* Records a call's result; returns true when it succeeded. */
static bool note(struct session *s, const char *call, int rc)
{
	if (rc == PAM_SUCCESS)
		return true;
	fprintf(stderr, "%s: %s (%d)\n", call, pam_strerror(s->pamh, rc), rc);
	if (s->first_failure == PAM_SUCCESS)
		s->first_failure = rc;
	return false;
}

static bool install_stop_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal, .sa_flags = SA_RESTART };
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return false;
	}
	return true;
}

/*
 * Waits for EOF on stdin or a stop signal. The signals stay blocked outside ppoll() so one that
 * arrives between the check and the wait is not lost.
 */
static void wait_for_stop(void)
{
	sigset_t block, orig;
	char buf[512];

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	while (!stop_signal) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		ssize_t n;

		if (ppoll(&pfd, 1, NULL, &orig) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents & POLLNVAL)
			break;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
}

/*
 * The child stays in the session's cgroup after the parent closes the session; it lives until
 * stdin reaches EOF or it is killed. Its stdout is detached so that nobody reading the parent's
 * output waits for the child too.
 */
static void run_session_child(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	char buf[512];
	int devnull;
	ssize_t n;

	sigemptyset(&dfl.sa_mask);
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGHUP, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	printf("child %d\n", (int)getpid());
	fflush(stdout);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDOUT_FILENO);
		close(devnull);
	}
	do {
		n = read(STDIN_FILENO, buf, sizeof(buf));
	} while (n > 0 || (n < 0 && errno == EINTR));
	_exit(0);
}

static bool parse_action(const char *name, enum action *action)
{
	static const struct {
		const char *name;
		enum action action;
	} actions[] = {
		{ "open-close", OPEN_CLOSE }, { "open", OPEN },
		{ "close", CLOSE },	      { "hold", HOLD },
		{ "hold-fork", HOLD_FORK },
	};

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(name, actions[i].name) == 0) {
			*action = actions[i].action;
			return true;
		}
	}
	return false;
}

int main(int argc, char **argv)
{
	struct pam_conv conv = { .conv = null_conv };
	struct session s = { .first_failure = PAM_SUCCESS };
	const char *confdir = NULL;
	enum action action;
	bool internal_error = false;
	int opt, rc, end_status = PAM_SUCCESS;

	while ((opt = getopt(argc, argv, "+c:")) != -1) {
		if (opt != 'c') {
			fputs(usage_text, stderr);
			return RC_USAGE;
		}
		confdir = optarg;
	}
	if (argc - optind != 3 || !parse_action(argv[optind + 2], &action)) {
		fputs(usage_text, stderr);
		return RC_USAGE;
	}
	if ((action == HOLD || action == HOLD_FORK) && !install_stop_handlers()) {
		perror("pamsession: sigaction");
		return RC_INTERNAL;
	}

	if (confdir)
		rc = pam_start_confdir(argv[optind], argv[optind + 1], &conv, confdir, &s.pamh);
	else
		rc = pam_start(argv[optind], argv[optind + 1], &conv, &s.pamh);
	if (!note(&s, confdir ? "pam_start_confdir" : "pam_start", rc))
		return s.first_failure;

	switch (action) {
	case OPEN_CLOSE:
		rc = pam_open_session(s.pamh, 0);
		if (note(&s, "pam_open_session", rc)) {
			rc = pam_close_session(s.pamh, 0);
			note(&s, "pam_close_session", rc);
		}
		end_status = rc;
		break;
	case OPEN:
		rc = pam_open_session(s.pamh, 0);
		note(&s, "pam_open_session", rc);
		/* PAM_DATA_SILENT: module data cleanups must not undo the open session. */
		end_status = rc == PAM_SUCCESS ? PAM_SUCCESS | PAM_DATA_SILENT : rc;
		break;
	case CLOSE:
		rc = pam_close_session(s.pamh, 0);
		note(&s, "pam_close_session", rc);
		end_status = rc;
		break;
	case HOLD:
	case HOLD_FORK:
		rc = pam_open_session(s.pamh, 0);
		end_status = rc;
		if (!note(&s, "pam_open_session", rc))
			break;
		printf("opened %d\n", (int)getpid());
		fflush(stdout);
		if (action == HOLD_FORK) {
			pid_t pid = fork();

			if (pid == 0)
				run_session_child();
			if (pid < 0) {
				perror("pamsession: fork");
				internal_error = true;
			}
		}
		wait_for_stop();
		rc = pam_close_session(s.pamh, 0);
		if (note(&s, "pam_close_session", rc)) {
			printf("closed\n");
			fflush(stdout);
		}
		end_status = rc;
		break;
	}

	rc = pam_end(s.pamh, end_status);
	s.pamh = NULL;
	note(&s, "pam_end", rc);
	if (s.first_failure == PAM_SUCCESS && internal_error)
		return RC_INTERNAL;
	return s.first_failure;
}
