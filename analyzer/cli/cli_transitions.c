/* SPDX-License-Identifier: MIT */
/* obs-analyzer transitions: the classified transitions of each zone (text or JSON). */
#include <stdio.h>

#include "cli.h"
#include "obs_err.h"
#include "report.h"
#include "trans.h"

static int one_zone(cli_ctx_t *c, const char *zone, void *arg)
{
	(void)arg;
	trans_set_t *s = NULL;
	int ret = trans_run(c->db, zone, c->at, NULL, &s);
	if (ret != OBS_EOK)
		return ret;
	obs_usec_t from, to;
	if ((ret = cli_period(c, &from, &to)) != OBS_EOK) {
		trans_free(s);
		return ret;
	}
	if (c->json) {
		json_t *d = rep_transitions_doc(s, from, to);
		if (d == NULL)
			ret = OBS_ENOMEM;
		else
			cli_print_json(d);
		json_decref(d);
	} else {
		rep_transitions_text(stdout, s, from, to);
	}
	trans_free(s);
	return ret;
}

int cli_transitions(cli_ctx_t *c)
{
	return cli_each_zone(c, one_zone, NULL);
}
