/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "obs_err.h"
#include "timefmt.h"

int cli_period(cli_ctx_t *c, obs_usec_t *from, obs_usec_t *to)
{
	*from = INT64_MIN;
	*to = INT64_MAX;
	if (c->from_s && obs_time_parse(c->from_s, c->now, from) != OBS_EOK) {
		snprintf(c->err, c->errlen, "--from %s: not RFC 3339 or +/-SECONDS", c->from_s);
		return OBS_ESYNTAX;
	}
	if (c->to_s && obs_time_parse(c->to_s, c->now, to) != OBS_EOK) {
		snprintf(c->err, c->errlen, "--to %s: not RFC 3339 or +/-SECONDS", c->to_s);
		return OBS_ESYNTAX;
	}
	return OBS_EOK;
}
