/* SPDX-License-Identifier: MIT */
#include "answer.h"
#include "classify.h"

#define RCODE_NOERROR  0
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3

static bool has_answer(const class_obs_t *o)
{
	return o->status == ST_ANSWERED &&
	       (o->rcode == RCODE_NOERROR || o->rcode == RCODE_NXDOMAIN);
}

enum store_outcome class_outcome(const class_obs_t *cd0, const class_obs_t *cd1)
{
	if (has_answer(cd0))
		return (cd0->flags & ANS_F_AD) ? OUT_SECURE : OUT_INSECURE;
	if (cd0->status == ST_ANSWERED && cd0->rcode == RCODE_SERVFAIL && has_answer(cd1))
		return OUT_BOGUS;
	return OUT_LOST;
}
