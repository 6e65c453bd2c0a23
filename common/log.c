/* SPDX-License-Identifier: MIT */
#include <stdarg.h>

#include "log.h"

static const char *const obs_log_names[] = {"error", "warning", "info", "debug"};

void obs_log_fmt(const obs_log_t *log, enum obs_log_level level, const char *source,
		 const char *fmt, ...)
{
	if (!obs_log_enabled(log, level))
		return;
	FILE *out = log->out ? log->out : stderr;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(out, "%s: %s%s%s\n", obs_log_names[level], source ? source : "", source ? ": " : "",
		msg);
	fflush(out);
}
