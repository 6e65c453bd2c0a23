/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "an_db.h"
#include "embedded.h"
#include "obs_err.h"

struct an_db {
	sqlite3 *db;
};

sqlite3 *an_db_sql(an_db_t *db)
{
	return db->db;
}

int an_db_schema_version(void)
{
	return (int)obs_analysis_migrations_n;
}

int an_db_exec(an_db_t *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		if (err)
			snprintf(err, errlen, "%s", msg ? msg : "sqlite3_exec failed");
		sqlite3_free(msg);
		return OBS_ESQL;
	}
	return OBS_EOK;
}

int an_db_int(an_db_t *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	*out = 0;
	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? OBS_EOK : OBS_ESQL;
}

static int migrate(an_db_t *db, bool readonly, obs_usec_t now, char *err, size_t errlen)
{
	int64_t cur = 0;
	int ret;
	if (!readonly && (ret = an_db_exec(db,
					   "CREATE TABLE IF NOT EXISTS schema_version (version "
					   "INTEGER NOT NULL, applied_at INTEGER NOT NULL)",
					   err, errlen)))
		return ret;
	if (an_db_int(db, "SELECT coalesce(max(version), 0) FROM schema_version", &cur)) {
		snprintf(err, errlen, "not an analysis database (no schema_version): %s",
			 sqlite3_errmsg(db->db));
		return OBS_ESCHEMA;
	}
	if (cur > (int64_t)obs_analysis_migrations_n ||
	    (readonly && cur != (int64_t)obs_analysis_migrations_n)) {
		snprintf(err, errlen,
			 "analysis database schema version %lld, this analyzer knows %zu",
			 (long long)cur, obs_analysis_migrations_n);
		return OBS_ESCHEMA;
	}
	for (size_t i = (size_t)cur; i < obs_analysis_migrations_n; i++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%zu, %lld)", i + 1,
			 (long long)now);
		if ((ret = an_db_exec(db, "BEGIN IMMEDIATE", err, errlen)) ||
		    (ret = an_db_exec(db, obs_analysis_migrations[i].data, err, errlen)) ||
		    (ret = an_db_exec(db, sql, err, errlen)) ||
		    (ret = an_db_exec(db, "COMMIT", err, errlen))) {
			an_db_exec(db, "ROLLBACK", NULL, 0);
			return ret;
		}
	}
	return OBS_EOK;
}

int an_db_open(const char *path, bool readonly, obs_usec_t now, an_db_t **out, char *err,
	       size_t errlen)
{
	*out = NULL;
	an_db_t *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return OBS_ENOMEM;
	int ret = OBS_ESQL;
	int flags = SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX |
		    (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (sqlite3_open_v2(path, &db->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db->db ? sqlite3_errmsg(db->db) : "open");
		goto fail;
	}
	sqlite3_busy_timeout(db->db, 5000);
	sqlite3_db_config(db->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (readonly)
		ret = an_db_exec(db, "PRAGMA query_only=1", err, errlen);
	else if ((ret = an_db_exec(db, "PRAGMA journal_mode=WAL", err, errlen)) == OBS_EOK)
		ret = an_db_exec(db, "PRAGMA synchronous=NORMAL", err, errlen);
	if (ret)
		goto fail;
	if ((ret = migrate(db, readonly, now, err, errlen)))
		goto fail;
	*out = db;
	return OBS_EOK;
fail:
	an_db_close(db);
	return ret;
}

void an_db_close(an_db_t *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->db);
	free(db);
}
