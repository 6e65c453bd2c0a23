/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "obs_err.h"

int obs_addr_parse(const char *s, uint16_t default_port, obs_addr_t *out)
{
	char host[OBS_ADDR_STRLEN];
	const char *at = strchr(s, '@');
	size_t hlen = at ? (size_t)(at - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return OBS_ESYNTAX;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	unsigned long port = default_port;
	if (at) {
		char *end = NULL;
		port = strtoul(at + 1, &end, 10);
		if (end == at + 1 || *end != '\0' || port == 0 || port > 65535)
			return OBS_ESYNTAX;
	}
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*v4);
		return OBS_EOK;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*v6);
		return OBS_EOK;
	}
	return OBS_ESYNTAX;
}

int obs_addr_from_raw(const uint8_t *raw, size_t rawlen, uint16_t port, obs_addr_t *out)
{
	memset(out, 0, sizeof(*out));
	if (rawlen == 4) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		memcpy(&v4->sin_addr, raw, 4);
		out->len = sizeof(*v4);
		return OBS_EOK;
	}
	if (rawlen == 16) {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		memcpy(&v6->sin6_addr, raw, 16);
		out->len = sizeof(*v6);
		return OBS_EOK;
	}
	return OBS_EINVAL;
}

char *obs_addr_format(const obs_addr_t *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
		port = ntohs(v4->sin_port);
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
		port = ntohs(v6->sin6_port);
	}
	if (port == 53 || port == 0)
		snprintf(buf, len, "%s", host);
	else
		snprintf(buf, len, "%s@%u", host, port);
	return buf;
}

bool obs_addr_equal(const obs_addr_t *a, const obs_addr_t *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

bool obs_addr_is_loopback(const obs_addr_t *a)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss;
		return (ntohl(x->sin_addr.s_addr) >> 24) == 127;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss;
		return IN6_IS_ADDR_LOOPBACK(&x->sin6_addr);
	}
	return false;
}
