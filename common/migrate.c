/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "migrate.h"
#include "obs_err.h"

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		if (err)
			snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return OBS_ESQL;
	}
	return OBS_EOK;
}

int obs_migrate(sqlite3 *db, const struct obs_embedded *m, size_t n, const char *label,
		bool readonly, obs_usec_t now, char *err, size_t errlen)
{
	int ret;
	if (!readonly && (ret = exec(db,
				     "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER "
				     "NOT NULL, applied_at INTEGER NOT NULL)",
				     err, errlen)))
		return ret;
	sqlite3_stmt *st = NULL;
	long long cur = -1;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		cur = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (cur < 0) {
		snprintf(err, errlen, "not a %s database (no schema_version)", label);
		return OBS_ESCHEMA;
	}
	if (cur > (long long)n || (readonly && cur != (long long)n)) {
		snprintf(err, errlen, "%s database schema version %lld, this program knows %zu",
			 label, cur, n);
		return OBS_ESCHEMA;
	}
	for (size_t i = (size_t)cur; i < n; i++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%zu, %lld)", i + 1,
			 (long long)now);
		if ((ret = exec(db, "BEGIN IMMEDIATE", err, errlen)) ||
		    (ret = exec(db, m[i].data, err, errlen)) ||
		    (ret = exec(db, sql, err, errlen)) || (ret = exec(db, "COMMIT", err, errlen))) {
			exec(db, "ROLLBACK", NULL, 0);
			return ret;
		}
	}
	return OBS_EOK;
}
