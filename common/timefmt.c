/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "obs_err.h"
#include "timefmt.h"

char *obs_time_format(obs_usec_t t, char *buf, size_t len)
{
	obs_usec_t sec = t / OBS_USEC_PER_SEC;
	obs_usec_t frac = t % OBS_USEC_PER_SEC;
	if (frac < 0) {
		frac += OBS_USEC_PER_SEC;
		sec -= 1;
	}
	time_t tt = (time_t)sec;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, len, "invalid");
		return buf;
	}
	char base[24];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(frac / 1000));
	return buf;
}

static int parse_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)**p))
			return OBS_ESYNTAX;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return OBS_EOK;
}

static int parse_relative(const char *s, obs_usec_t now, obs_usec_t *out)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v > 1e12 || v < -1e12)
		return OBS_ESYNTAX;
	*out = now + (obs_usec_t)(v * 1e6);
	return OBS_EOK;
}

int obs_time_parse(const char *s, obs_usec_t now, obs_usec_t *out)
{
	if (s == NULL || *s == '\0')
		return OBS_ESYNTAX;
	if (s[0] == '+' || s[0] == '-')
		return parse_relative(s, now, out);

	const char *p = s;
	int y, mo, d, h, mi, se;
	if (parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) || *p++ != '-' ||
	    parse_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return OBS_ESYNTAX;
	p++;
	if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi) || *p++ != ':' ||
	    parse_digits(&p, 2, &se))
		return OBS_ESYNTAX;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return OBS_ESYNTAX;
	obs_usec_t frac = 0;
	if (*p == '.') {
		p++;
		obs_usec_t scale = 100000;
		if (!isdigit((unsigned char)*p))
			return OBS_ESYNTAX;
		while (isdigit((unsigned char)*p)) {
			frac += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	int offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;
		p++;
		if (parse_digits(&p, 2, &oh) || *p++ != ':' || parse_digits(&p, 2, &om))
			return OBS_ESYNTAX;
		offset = sign * (oh * 3600 + om * 60);
	} else {
		return OBS_ESYNTAX;
	}
	if (*p != '\0')
		return OBS_ESYNTAX;
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = se};
	time_t t = timegm(&tm);
	*out = ((obs_usec_t)t - offset) * OBS_USEC_PER_SEC + frac;
	return OBS_EOK;
}

int obs_duration_parse(const char *s, obs_usec_t *out)
{
	if (s == NULL || *s == '\0')
		return OBS_ESYNTAX;
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s)
		return OBS_ESYNTAX;
	double mult;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1e6;
	else if (strcmp(end, "ms") == 0)
		mult = 1e3;
	else if (strcmp(end, "us") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60e6;
	else if (strcmp(end, "h") == 0)
		mult = 3600e6;
	else if (strcmp(end, "d") == 0)
		mult = 86400e6;
	else
		return OBS_ESYNTAX;
	double r = v * mult;
	if (v < 0 || r > 9.2e18)
		return OBS_ERANGE;
	*out = (obs_usec_t)r;
	return OBS_EOK;
}
