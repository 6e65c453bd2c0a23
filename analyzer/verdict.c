/* SPDX-License-Identifier: MIT */
/* Placeholder while the cache-state model lands (this session): every call fails with a
 * clear error, so nothing can take it for an answer. */
#include <stdio.h>

#include "obs_err.h"
#include "verdict.h"

int vd_status(an_db_t *db, sigv_t *sv, const char *zone, obs_usec_t at, const vd_opts_t *opts,
	      json_t **out, char *err, size_t errlen)
{
	(void)db, (void)sv, (void)zone, (void)at, (void)opts;
	*out = NULL;
	snprintf(err, errlen, "status: not implemented yet");
	return OBS_ERROR;
}

int vd_whatif(an_db_t *db, sigv_t *sv, const json_t *request, obs_usec_t now,
	      const vd_opts_t *opts, json_t **out, char *err, size_t errlen)
{
	(void)db, (void)sv, (void)request, (void)now, (void)opts;
	*out = NULL;
	snprintf(err, errlen, "whatif: not implemented yet");
	return OBS_ERROR;
}

int vd_steps_from_argv(int argc, char **argv, const char *zone, obs_usec_t at, json_t **out,
		       char *err, size_t errlen)
{
	(void)argc, (void)argv, (void)zone, (void)at;
	*out = NULL;
	snprintf(err, errlen, "whatif: not implemented yet");
	return OBS_ERROR;
}
