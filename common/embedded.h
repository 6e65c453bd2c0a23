/* SPDX-License-Identifier: MIT */
/* Files embedded in the binaries at build time by tools/embed.c (schemas, web assets). */
#pragma once

#include <stddef.h>

struct obs_embedded {
	const char *name; /* file name without directories, e.g. "0001_init.sql" */
	const char *data; /* NUL-terminated */
	size_t len;
};

/* schemas/collector/NNNN_*.sql in migration order */
extern const struct obs_embedded obs_collector_migrations[];
extern const size_t obs_collector_migrations_n;

/* schemas/analysis/NNNN_*.sql in migration order */
extern const struct obs_embedded obs_analysis_migrations[];
extern const size_t obs_analysis_migrations_n;
