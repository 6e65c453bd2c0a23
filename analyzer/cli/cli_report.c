/* SPDX-License-Identifier: MIT */
/* obs-analyzer report: one zone's report (--zone) or the population report (every zone), as
 * text, JSON or self-contained HTML, on stdout or into -o FILE. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "obs_err.h"
#include "report.h"

int cli_report(cli_ctx_t *c)
{
	rep_opts_t o = {.format = REP_TEXT, .at = c->at, .progress = c->progress || isatty(2)};
	int ret = cli_period(c, &o.from, &o.to);
	if (ret != OBS_EOK)
		return ret;
	if (c->format == NULL || strcmp(c->format, "text") == 0)
		o.format = c->json ? REP_JSON : REP_TEXT;
	else if (strcmp(c->format, "json") == 0)
		o.format = REP_JSON;
	else if (strcmp(c->format, "html") == 0)
		o.format = REP_HTML;
	else {
		snprintf(c->err, c->errlen, "--format %s: not text, json or html", c->format);
		return OBS_EINVAL;
	}
	FILE *f = stdout;
	if (c->out && (f = fopen(c->out, "w")) == NULL) {
		snprintf(c->err, c->errlen, "%s: cannot write", c->out);
		return OBS_ENOENT;
	}
	ret = c->zone ? rep_zone(c->db, c->zone, &o, f) : rep_population(c->db, NULL, &o, f);
	if (f != stdout && fclose(f) != 0 && ret == OBS_EOK)
		ret = OBS_ENET;
	return ret;
}
