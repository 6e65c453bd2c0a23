/* SPDX-License-Identifier: MIT */
/* Unit tests: remove an SQLite database and its WAL and shared-memory files. */
#pragma once

#include <stdio.h>
#include <unistd.h>

static inline void db_unlink(const char *path)
{
	char p[4200];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}
