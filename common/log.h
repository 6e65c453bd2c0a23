/* SPDX-License-Identifier: MIT */
/* Logging: one format everywhere, to a FILE (stderr by default). Only the top layer logs;
 * libraries return codes. The logger is a value owned by the program's context. */
#pragma once

#include <stdio.h>

enum obs_log_level { OBS_LOG_ERR = 0, OBS_LOG_WARN, OBS_LOG_INFO, OBS_LOG_DEBUG };

typedef struct obs_log {
	enum obs_log_level level; /* messages above this level are dropped before formatting */
	FILE *out;                /* not owned; NULL means stderr */
} obs_log_t;

/* Log one line "LEVEL source: message". source names the zone / server / probe. */
void obs_log_fmt(const obs_log_t *log, enum obs_log_level level, const char *source,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define obs_log_enabled(log, lvl) ((log) != NULL && (lvl) <= (log)->level)
