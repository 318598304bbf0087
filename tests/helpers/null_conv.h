/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A PAM conversation that answers nothing: the helpers and benchmarks never prompt. */
#ifndef CGBPF_NULL_CONV_H
#define CGBPF_NULL_CONV_H

#include <security/pam_appl.h>

static inline int null_conv(int n, const struct pam_message **msg, struct pam_response **resp,
			    void *data)
{
	(void)n;
	(void)msg;
	(void)resp;
	(void)data;
	return PAM_CONV_ERR;
}

#endif
