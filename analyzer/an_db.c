/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "an_db.h"
#include "ochunk.h"
#include "migrate.h"
#include "embedded.h"
#include "obs_err.h"

struct an_db {
	sqlite3 *db;
	int declaring; /* > 0 while the observation table declares its columns (ochunk.h) */
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

/* Read-only connections (reliability-targets D8): whatever SQL reaches them can only read. No
 * ATTACH or DETACH, no schema change, no write, and PRAGMAs only to read a value or to set
 * the connection-local cache settings. */
static int ro_authorizer(void *arg, int action, const char *a1, const char *a2, const char *dbn,
			 const char *trigger)
{
	(void)dbn, (void)trigger;
	if (*(const int *)arg > 0)
		return SQLITE_OK; /* sqlite3_declare_vtab's own parse (the analyzer's code) */
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_PRAGMA: {
		static const char *const settable[] = {"cache_size", "mmap_size", "temp_store",
						       "busy_timeout"};
		if (a2 == NULL)
			return SQLITE_OK; /* reading a value */
		for (size_t i = 0; a1 && i < sizeof(settable) / sizeof(settable[0]); i++)
			if (strcasecmp(a1, settable[i]) == 0)
				return SQLITE_OK;
		return SQLITE_DENY;
	}
	default: /* ATTACH, DETACH, CREATE, DROP, ALTER, INSERT, UPDATE, DELETE, ANALYZE, ... */
		return SQLITE_DENY;
	}
}

/* Lowered limits on every connection (the analyzer's statements and values are small; a
 * runaway one fails instead of growing without bound) and, read-only, the authorizer and no
 * attached databases. */
static void harden(an_db_t *db, bool readonly)
{
	sqlite3_limit(db->db, SQLITE_LIMIT_LENGTH, AN_DB_MAX_LENGTH);
	sqlite3_limit(db->db, SQLITE_LIMIT_SQL_LENGTH, AN_DB_MAX_SQL);
	sqlite3_limit(db->db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 1024);
	if (readonly) {
		sqlite3_limit(db->db, SQLITE_LIMIT_ATTACHED, 0);
		sqlite3_set_authorizer(db->db, ro_authorizer, &db->declaring);
	}
}

/* OBS_SQL_PROFILE=1: every finished statement's wall time and text on stderr (a developer's
 * aid for the replay benchmark; statements under 1 ms are left out). */
static int profile_trace(unsigned type, void *ctx, void *p, void *x)
{
	(void)ctx;
	if (type != SQLITE_TRACE_PROFILE)
		return 0;
	uint64_t ns = *(const uint64_t *)x;
	if (ns < 1000000)
		return 0;
	char *sql = sqlite3_expanded_sql(p);
	const char *text = sql ? sql : sqlite3_sql(p);
	fprintf(stderr, "sql: %8.1f ms  %.160s\n", (double)ns / 1e6, text ? text : "?");
	sqlite3_free(sql);
	return 0;
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
	if (oc_register(db->db, &db->declaring) != OBS_EOK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db->db));
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
	harden(db, readonly);
	if (getenv("OBS_SQL_PROFILE"))
		sqlite3_trace_v2(db->db, SQLITE_TRACE_PROFILE, profile_trace, NULL);
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
