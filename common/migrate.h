/* SPDX-License-Identifier: MIT */
/* Numbered schema migrations, shared by every SQLite database of the project: a
 * schema_version table, each missing migration applied in its own transaction, a database
 * newer than the program refused. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "clock.h"
#include "embedded.h"

/* Bring db to version n (migrations m[0..n) are versions 1..n). label names the kind of
 * database in messages ("collector", "analysis"). readonly: apply nothing, and refuse any
 * version other than n. Returns OBS_EOK, OBS_ESCHEMA or OBS_ESQL with the reason in err. */
int obs_migrate(sqlite3 *db, const struct obs_embedded *m, size_t n, const char *label,
		bool readonly, obs_usec_t now, char *err, size_t errlen);
