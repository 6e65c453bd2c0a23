/* SPDX-License-Identifier: MIT */
/* The analysis database (schemas/analysis): open, apply the embedded migrations, refuse a
 * newer schema. One writer; readers open it read-only. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "clock.h"

typedef struct an_db an_db_t;

#define AN_DB_MAX_LENGTH (32 << 20) /* largest string or blob (SQLITE_LIMIT_LENGTH) */
#define AN_DB_MAX_SQL    (1 << 20)  /* longest statement (SQLITE_LIMIT_SQL_LENGTH) */

/* Open (creating when writable) the analysis database at path and apply migrations.
 * Every connection is DEFENSIVE with the lowered limits above. readonly: open with
 * SQLITE_OPEN_READONLY and PRAGMA query_only (no migration; an older schema is refused too),
 * no attached databases, and an authorizer that denies anything but reading (no ATTACH, DDL,
 * writes, or PRAGMA other than reads and the cache settings). Returns OBS_EOK, OBS_ESQL or
 * OBS_ESCHEMA; on failure the reason is written to err. *out is owned by the caller (an_db_close).
 */
int an_db_open(const char *path, bool readonly, obs_usec_t now, an_db_t **out, char *err,
	       size_t errlen);

/* Close; NULL is a no-op. */
void an_db_close(an_db_t *db);

/* The SQLite handle (owned by db). */
sqlite3 *an_db_sql(an_db_t *db);

/* The schema version this build writes. */
int an_db_schema_version(void);

/* Run SQL without results; on failure the SQLite message goes to err. */
int an_db_exec(an_db_t *db, const char *sql, char *err, size_t errlen);

/* One integer from a query (0 when there is no row). */
int an_db_int(an_db_t *db, const char *sql, int64_t *out);
