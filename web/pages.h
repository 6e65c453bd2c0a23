/* SPDX-License-Identifier: MIT */
/* The dashboard: HTML, CSS and JS embedded in the binary (tools/embed.c, web/assets/), never
 * read from the filesystem. "/" lists the zones and "/zones/NAME" is a zone's page, both
 * rendered with every DNS name HTML-escaped; "/assets/NAME" serves one embedded file by exact
 * name. Anything else is a 404 JSON error. */
#pragma once

#include <stddef.h>

#include "http.h"

/* Serve a page or an asset, or reply 404/405 in JSON. */
void wp_handle(wh_req_t *r);

/* HTML-escape text into out: & < > " ' as entities, bytes outside printable ASCII as \DDD
 * (DNS presentation). Always NUL-terminates; truncates to outlen. Returns out. */
char *wp_html_escape(const char *in, char *out, size_t outlen);
