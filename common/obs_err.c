/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "obs_err.h"

static const struct {
	int code;
	const char *text;
} obs_err_texts[] = {
    {OBS_EOK, "ok"},
    {OBS_ERROR, "failed"},
    {OBS_ECONFIG, "invalid configuration"},
    {OBS_ESQL, "database error"},
    {OBS_ESCHEMA, "unknown database schema version"},
    {OBS_EMALFORMED, "malformed DNS message"},
    {OBS_ETOOBIG, "input exceeds a size cap"},
    {OBS_EMISMATCH, "answer does not match the query"},
    {OBS_ENET, "network error"},
    {OBS_ELIMIT, "limit reached"},
    {OBS_EDNS, "DNS library error"},
    {OBS_ESYNTAX, "syntax error"},
};

const char *obs_strerror(int code)
{
	for (size_t i = 0; i < sizeof(obs_err_texts) / sizeof(obs_err_texts[0]); i++) {
		if (obs_err_texts[i].code == code)
			return obs_err_texts[i].text;
	}
	if (code < 0 && code > -1000)
		return strerror(-code);
	return "unknown error";
}
