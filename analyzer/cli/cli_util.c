/* SPDX-License-Identifier: MIT */
#include <jansson.h>
#include <stdio.h>

#include "cli.h"
#include "obs_err.h"

int cli_each_zone(cli_ctx_t *c, int (*fn)(cli_ctx_t *c, const char *zone, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(an_db_sql(c->db),
			       "SELECT DISTINCT zone FROM target WHERE ?1 IS NULL "
			       "OR zone = ?1 ORDER BY zone",
			       -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, c->zone, -1, SQLITE_STATIC);
	int ret = OBS_EOK, n = 0;
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW) {
		n++;
		ret = fn(c, (const char *)sqlite3_column_text(st, 0), arg);
	}
	sqlite3_finalize(st);
	if (ret == OBS_EOK && n == 0 && c->zone) {
		snprintf(c->err, c->errlen, "zone %s: not in the analysis database", c->zone);
		return OBS_ENOENT;
	}
	return ret;
}

void cli_print_json(const void *doc)
{
	json_dumpf((const json_t *)doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	printf("\n");
}
