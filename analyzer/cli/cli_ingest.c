/* SPDX-License-Identifier: MIT */
/* obs-analyzer ingest: copy collector databases into the analysis database. */
#include <stdio.h>

#include "cli.h"
#include "ingest.h"
#include "model.h"
#include "obs_err.h"

int cli_ingest(cli_ctx_t *c)
{
	int ret = OBS_EOK;
	for (int i = 0; ret == OBS_EOK && i < c->argc; i++) {
		ing_stats_t s;
		if ((ret = ing_collector(c->db, c->argv[i], c->now, &s, c->err, c->errlen)) ==
		    OBS_EOK)
			printf("%s: collector %s: %lld observations, %lld new versions, %lld keys, "
			       "%lld series re-run, clock offset %.3f s (%lld samples)\n",
			       c->argv[i], s.collector, (long long)s.observations,
			       (long long)s.versions, (long long)s.keys, (long long)s.runs_series,
			       (double)s.clock_offset_us / 1e6, (long long)s.offset_samples);
	}
	/* verify every signature once now, so the read-only commands verify nothing */
	if (ret == OBS_EOK)
		ret = mdl_verify_all(c->db, c->now, c->err, c->errlen);
	return ret;
}
