/* SPDX-License-Identifier: MIT */
/* obs-web's set-up and tear-down: the listen address, the bearer token file, the Host
 * allowlist, the analysis database (writable only when collectors are ingested), the
 * signature memo, metrics, graphs and the event base. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "web.h"

/* Parse "ADDR:PORT" or "[V6ADDR]:PORT" (port 1-65535). Returns OBS_EOK or OBS_ESYNTAX. */
int ws_parse_listen(const char *s, char *addr, size_t addrlen, uint16_t *port);

/* Open everything w->opts asks for. Refuses a non-loopback listen address without a token
 * (reliability-targets G1). Returns OBS_EOK or an OBS_E* code with the reason in err. */
int ws_open(web_ctx_t *w, char *err, size_t errlen);

/* Release everything ws_open and the server created. */
void ws_close(web_ctx_t *w);
