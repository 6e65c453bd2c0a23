/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "an_db.h"
#include "migrate.h"
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
	/* a day of polls is millions of rows: SQLite's default 2 MiB page cache re-reads the
	 * observation indexes from the OS on every insert and scan (measured with
	 * tests/bench/analyzer-replay.sh); memory is only committed as pages are used */
	if (ret == OBS_EOK)
		ret = an_db_exec(db,
				 "PRAGMA cache_size=-262144; PRAGMA mmap_size=1073741824; PRAGMA "
				 "temp_store=MEMORY",
				 err, errlen);
	if (ret)
		goto fail;
	if ((ret = obs_migrate(db->db, obs_analysis_migrations, obs_analysis_migrations_n,
			       "analysis", readonly, now, err, errlen)))
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
