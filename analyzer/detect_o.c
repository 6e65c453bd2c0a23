/* SPDX-License-Identifier: MIT */
/* Detectors of vantage and observation artifacts (reference §3.7): O-1 to O-4.
 * T-1 and T-2 from passive evidence (fetch.h): answers judged against the resolver's own
 * fetches; T-1 from the collector's polls alone is det_t_resolver's. */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_int.h"

void det_o_fetch(void *arg, const fetch_resolver_t *r)
{
	struct det_ctx *d = arg;
	for (size_t i = 0; i < r->flags_n; i++) {
		const fetch_flag_t *f = &r->flags[i];
		if (strcmp(f->id, "T-1") == 0 && !f->passive && f->fetch_obs == 0)
			continue;
		int64_t obs[3] = {f->first_obs, f->last_obs, f->fetch_obs};
		char v[160];
		snprintf(v, sizeof(v), "passive/%s", r->name);
		det_emit(d, f->id, f->sev ? SEV_WARN : SEV_INFO, NULL, NULL, v, f->lo, f->hi + 1,
			 &f->version_id, 1, obs, 3,
			 "resolver %s (via %s) %s version %lld: %lld answers, TTL up to %lld, held "
			 "%lld s "
			 "from its fetch (profile %s)",
			 r->name, f->via,
			 f->id[2] == '1' ? "answers with a TTL beyond its fetch of"
					 : "serves past its fetch's TTL",
			 (long long)f->version_id, (long long)f->answers,
			 (long long)f->ttl_answer_s, (long long)f->held_s,
			 fetch_profile_names[r->profile]);
	}
}

void det_o_vantage(void *arg, const og_vantage_t *v)
{
	struct det_ctx *d = arg;
	if (v->broken)
		det_emit(
		    d, "O-1", SEV_INFO, NULL, NULL, v->vantage, v->baseline_lo, v->baseline_hi,
		    NULL, 0, &v->first_obs, 1,
		    "vantage failed %lld of %lld rounds in the healthy baseline: excluded from "
		    "glitch attribution",
		    (long long)v->baseline_fail, (long long)v->baseline_polls);
	if (v->nonvalidating)
		det_emit(
		    d, "O-3", SEV_INFO, NULL, NULL, v->vantage, v->baseline_lo, INT64_MAX, NULL, 0,
		    NULL, 0,
		    "vantage does not validate (never AD, the bogus canary resolves): excluded "
		    "from V-glitches");
}
