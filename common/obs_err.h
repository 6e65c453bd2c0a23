/* SPDX-License-Identifier: MIT */
/* The project's one error enum. OBS_EOK is 0, system errors are -errno, project codes are
 * below -1000. Functions return int; results travel through out-parameters. */
#pragma once

#include <errno.h>

enum obs_err {
	OBS_EOK = 0,
	OBS_ENOMEM = -ENOMEM,
	OBS_EINVAL = -EINVAL,
	OBS_ENOENT = -ENOENT,
	OBS_EAGAIN = -EAGAIN,
	OBS_ERANGE = -ERANGE,

	OBS_ERROR = -1000,      /* generic failure */
	OBS_ECONFIG = -1001,    /* invalid configuration */
	OBS_ESQL = -1002,       /* SQLite failed */
	OBS_ESCHEMA = -1003,    /* unknown or newer schema version */
	OBS_EMALFORMED = -1004, /* DNS message failed the guard or ldns parsing */
	OBS_ETOOBIG = -1005,    /* input exceeds an explicit cap */
	OBS_EMISMATCH = -1006,  /* answer does not match the query */
	OBS_ENET = -1007,       /* socket operation failed */
	OBS_ELIMIT = -1008,     /* a configured bound was reached */
	OBS_EDNS = -1009,       /* ldns refused to build or convert something */
	OBS_ESYNTAX = -1010,    /* a value does not parse */
};

/* Human-readable text for any obs_err or -errno value. Never NULL; static storage. */
const char *obs_strerror(int code);
