/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "cache.h"
#include "graphs.h"
#include "http.h"
#include "live.h"
#include "metrics.h"
#include "obs_err.h"
#include "server.h"

int ws_parse_listen(const char *s, char *addr, size_t addrlen, uint16_t *port)
{
	const char *colon;
	size_t n;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end[1] != ':')
			return OBS_ESYNTAX;
		n = (size_t)(end - s - 1);
		s++;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return OBS_ESYNTAX;
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= addrlen)
		return OBS_ESYNTAX;
	memcpy(addr, s, n);
	addr[n] = '\0';
	unsigned char buf[16];
	if (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1)
		return OBS_ESYNTAX;
	char *e = NULL;
	unsigned long p = strtoul(colon + 1, &e, 10);
	if (colon[1] == '\0' || *e != '\0' || p == 0 || p > 65535)
		return OBS_ESYNTAX;
	*port = (uint16_t)p;
	return OBS_EOK;
}

static bool is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static int read_token(web_ctx_t *w, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return OBS_ECONFIG;
	}
	if (sb.st_mode & 077)
		obs_log_fmt(&w->log, OBS_LOG_WARN, path,
			    "token file is readable by group or others (chmod 600)");
	ssize_t n = read(fd, w->token, WEB_TOKEN_MAX);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
		return OBS_ECONFIG;
	}
	while (n > 0 && isspace((unsigned char)w->token[n - 1]))
		n--;
	w->token[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)w->token[i] <= 0x20 || (unsigned char)w->token[i] >= 0x7f) {
			snprintf(err, errlen, "token file %s: the token must be printable ASCII",
				 path);
			return OBS_ECONFIG;
		}
	if (n < WEB_TOKEN_MIN) {
		snprintf(err, errlen, "token file %s: the token must have at least %d characters",
			 path, WEB_TOKEN_MIN);
		return OBS_ECONFIG;
	}
	w->token_len = (size_t)n;
	return OBS_EOK;
}

static void add_host(web_ctx_t *w, const char *h)
{
	if (w->hosts_n == sizeof(w->hosts) / sizeof(w->hosts[0]) ||
	    strlen(h) >= sizeof(w->hosts[0]))
		return;
	size_t i = 0;
	for (; h[i]; i++)
		w->hosts[w->hosts_n][i] = (char)tolower((unsigned char)h[i]);
	w->hosts[w->hosts_n][i] = '\0';
	w->hosts_n++;
}

/* Each HTTP connection holds a descriptor and libevent 2.1.12's evhttp has no connection cap:
 * with Debian's default soft limit of 1,024, about a thousand idle or Slowloris connections
 * make accept() fail and nobody is served. Raise the soft limit to the hard one (at most
 * WEB_NOFILE_WANT), as nginx and Unbound do, and say what is in force. */
static void raise_nofile(web_ctx_t *w)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > WEB_NOFILE_WANT
			  ? WEB_NOFILE_WANT
			  : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 4096)
		obs_log_fmt(&w->log, OBS_LOG_WARN, w->opts.listen,
			    "descriptor limit %llu: about as many open connections exhaust it "
			    "(raise the hard limit, ulimit -Hn)",
			    (unsigned long long)rl.rlim_cur);
}

int ws_open(web_ctx_t *w, char *err, size_t errlen)
{
	int ret;
	if ((ret = ws_parse_listen(w->opts.listen, w->listen_addr, sizeof(w->listen_addr),
				   &w->port))) {
		snprintf(err, errlen, "--listen %s: ADDR:PORT or [ADDR]:PORT expected",
			 w->opts.listen);
		return ret;
	}
	if (w->opts.token_file && (ret = read_token(w, w->opts.token_file, err, errlen)))
		return ret;
	if (!is_loopback(w->listen_addr) && w->token_len == 0) {
		snprintf(err, errlen,
			 "--listen %s is not a loopback address: --token-file is "
			 "required",
			 w->opts.listen);
		return OBS_ECONFIG;
	}
	char h[80];
	if (strchr(w->listen_addr, ':'))
		snprintf(h, sizeof(h), "[%s]", w->listen_addr);
	else
		snprintf(h, sizeof(h), "%s", w->listen_addr);
	add_host(w, h);
	add_host(w, "localhost");
	for (size_t i = 0; i < w->opts.allow_hosts_n; i++)
		add_host(w, w->opts.allow_hosts[i]);

	raise_nofile(w);
	obs_usec_t now = obs_clock_now(&w->clock);
	bool ro = w->opts.collectors_n == 0;
	if ((ret = an_db_open(w->opts.db_path, ro, now, &w->db, err, errlen)) ||
	    (ret = sigv_new(w->db, !ro, &w->sv)) || (ret = wm_new(&w->metrics)) ||
	    (ret = wc_new(&w->cache)))
		return ret;
	if (w->opts.state_dir &&
	    (ret = wg_new(w->opts.state_dir, &w->graphs, err, errlen)) != OBS_EOK)
		return ret;
	if ((w->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		return OBS_ENOMEM;
	}
	/* priority 0 for the connection cap's bookkeeping (conn.h), 1 for everything else */
	if (event_base_priority_init(w->base, 2) != 0) {
		snprintf(err, errlen, "event_base_priority_init failed");
		return OBS_ENOMEM;
	}
	return OBS_EOK;
}

void ws_close(web_ctx_t *w)
{
	wh_stop(w);
	wl_free(w->live);
	wg_free(w->graphs);
	wm_free(w->metrics);
	wc_free(w->cache);
	sigv_free(w->sv);
	an_db_close(w->db);
	if (w->base)
		event_base_free(w->base);
	memset(w->token, 0, sizeof(w->token));
}
