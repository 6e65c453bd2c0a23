/* SPDX-License-Identifier: MIT */
/* The analysis database's defensive configuration (reliability-targets D8): DEFENSIVE on,
 * lowered limits on every connection; read-only connections attach nothing and may only read. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>

#include "an_db.h"
#include "dbfiles.h"
#include "obs_err.h"

static char path[64];

static void setup(void)
{
	snprintf(path, sizeof(path), "/tmp/obs-andb-%d.db", getpid());
	unlink(path);
	an_db_t *db = NULL;
	char err[256];
	cr_assert_eq(an_db_open(path, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	an_db_close(db);
}

static void teardown(void)
{
	db_unlink(path);
}

TestSuite(an_db, .init = setup, .fini = teardown);

static an_db_t *open_db(bool ro)
{
	an_db_t *db = NULL;
	char err[256];
	cr_assert_eq(an_db_open(path, ro, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	return db;
}

static int run(an_db_t *db, const char *sql)
{
	return sqlite3_exec(an_db_sql(db), sql, NULL, NULL, NULL);
}

Test(an_db, every_connection_is_defensive_with_lowered_limits)
{
	for (int ro = 0; ro < 2; ro++) {
		an_db_t *db = open_db(ro);
		sqlite3 *s = an_db_sql(db);
		int on = -1;
		sqlite3_db_config(s, SQLITE_DBCONFIG_DEFENSIVE, -1, &on);
		cr_expect_eq(on, 1, "DEFENSIVE (ro=%d)", ro);
		cr_expect_eq(sqlite3_limit(s, SQLITE_LIMIT_LENGTH, -1), AN_DB_MAX_LENGTH);
		cr_expect_eq(sqlite3_limit(s, SQLITE_LIMIT_SQL_LENGTH, -1), AN_DB_MAX_SQL);
		cr_expect_eq(sqlite3_limit(s, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, -1), 1024);
		/* ingest attaches collector databases on the writable connection */
		cr_expect_eq(sqlite3_limit(s, SQLITE_LIMIT_ATTACHED, -1) == 0, ro == 1,
			     "attached limit (ro=%d)", ro);
		/* DEFENSIVE: the schema cannot be written through PRAGMA writable_schema */
		if (!ro) {
			cr_expect_eq(run(db, "PRAGMA writable_schema=ON"), SQLITE_OK);
			cr_expect_neq(run(db, "UPDATE sqlite_schema SET sql = sql"), SQLITE_OK,
				      "DEFENSIVE keeps sqlite_schema read-only");
		}
		an_db_close(db);
	}
}

Test(an_db, read_only_connections_can_only_read)
{
	an_db_t *db = open_db(true);
	static const char *const denied[] = {
	    "ATTACH ':memory:' AS x",    "CREATE TABLE t (x)",
	    "CREATE TEMP TABLE t (x)",   "CREATE TEMP VIEW v AS SELECT 1",
	    "DROP TABLE schema_version", "DELETE FROM schema_version",
	    "PRAGMA query_only=0",       "PRAGMA journal_mode=DELETE",
	    "PRAGMA user_version=7",     "ANALYZE",
	};
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		cr_expect_neq(run(db, denied[i]), SQLITE_OK, "allowed: %s", denied[i]);
	static const char *const allowed[] = {
	    "SELECT count(*) FROM schema_version",
	    "PRAGMA user_version",
	    "PRAGMA cache_size=-2048",
	    "BEGIN; SELECT 1; COMMIT",
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) "
	    "SELECT sum(i) FROM n",
	};
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		cr_expect_eq(run(db, allowed[i]), SQLITE_OK, "denied: %s: %s", allowed[i],
			     sqlite3_errmsg(an_db_sql(db)));
	an_db_close(db);
	/* the writable connection is not restricted by the authorizer */
	db = open_db(false);
	cr_expect_eq(run(db, "CREATE TEMP TABLE t (x); DROP TABLE t"), SQLITE_OK);
	an_db_close(db);
}
