/* SPDX-License-Identifier: MIT */
/* Benchmark data generator (tests/bench/analyzer-replay.sh): a large collector database made
 * through the collector's own store (collector/store.h) from a real recording. Each recorded
 * poll becomes `stretch` polls at the recording's own poll spacing, so the run lasts `stretch`
 * times longer with the same transitions (key and signature rollovers, outcomes), every answer
 * parsed by ans_parse from the recorded wire. With --servers 2 each provider server gets a twin
 * (same answers, another address, polled half a spacing later): 3 providers x 2 servers.
 * Deterministic: same input and arguments, same rows.
 * Usage: replay-gen --src RECORDED.db --out NEW.db --stretch M [--servers 1|2] */
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "obs_err.h"
#include "store.h"

typedef struct src_obs {
	obs_usec_t t, next_t; /* next_t: the series' next recorded poll (or t + its spacing) */
	int64_t series;       /* source series id */
	unsigned attempt, transport, status, outcome;
	obs_usec_t rtt;
	int64_t wire; /* index into wires, -1 none */
} src_obs_t;

typedef struct src_wire {
	uint8_t *data;
	size_t len;
	uint8_t hash[ANS_HASH_LEN];
	ans_summary_t sum;
	bool parsed;
} src_wire_t;

typedef struct event {
	obs_usec_t t;
	uint32_t obs;
	uint8_t twin;
} event_t;

static int ev_cmp(const void *a, const void *b)
{
	const event_t *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->obs != y->obs)
		return x->obs < y->obs ? -1 : 1;
	return (int)x->twin - (int)y->twin;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "replay-gen: %s: %s\n", what, detail);
	exit(1);
}

/* id -> index maps over small dense source ids */
typedef struct idmap {
	int64_t *v;
	size_t n;
} idmap_t;

static void idmap_set(idmap_t *m, int64_t id, int64_t v)
{
	if ((size_t)id >= m->n) {
		size_t nn = (size_t)id * 2 + 16;
		int64_t *p = realloc(m->v, nn * sizeof(*p));
		if (p == NULL)
			die("memory", "idmap");
		memset(p + m->n, 0, (nn - m->n) * sizeof(*p));
		m->v = p;
		m->n = nn;
	}
	m->v[id] = v;
}

static int64_t idmap_get(const idmap_t *m, int64_t id)
{
	return id >= 0 && (size_t)id < m->n ? m->v[id] : 0;
}

int main(int argc, char **argv)
{
	const char *src = NULL, *out = NULL;
	long stretch = 1, servers = 1;
	int opt;
	static const struct option longs[] = {{"src", required_argument, NULL, 's'},
					      {"out", required_argument, NULL, 'o'},
					      {"stretch", required_argument, NULL, 'm'},
					      {"servers", required_argument, NULL, 'n'},
					      {NULL, 0, NULL, 0}};
	while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (opt) {
		case 's':
			src = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'm':
			stretch = strtol(optarg, NULL, 10);
			break;
		case 'n':
			servers = strtol(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (src == NULL || out == NULL || stretch < 1 || servers < 1 || servers > 2) {
		fprintf(stderr,
			"usage: replay-gen --src DB --out DB --stretch M [--servers 1|2]\n");
		return 2;
	}
	sqlite3 *in = NULL;
	if (sqlite3_open_v2(src, &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die(src, in ? sqlite3_errmsg(in) : "open");
	sqlite3_stmt *st = NULL;
	char name[128] = "bench";
	if (sqlite3_prepare_v2(in, "SELECT value FROM meta WHERE key = 'collector'", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(name, sizeof(name), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	obs_usec_t t0 = 0;
	if (sqlite3_prepare_v2(in, "SELECT min(t) FROM observation", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		die(src, sqlite3_errmsg(in));
	t0 = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	/* stretched time: the recording's instants spread by `stretch` around its start */
#define STRETCH(t) (t0 + ((t)-t0) * stretch)

	unlink(out);
	char walp[4200];
	snprintf(walp, sizeof(walp), "%s-wal", out);
	unlink(walp);
	snprintf(walp, sizeof(walp), "%s-shm", out);
	unlink(walp);
	obs_store_t *s = NULL;
	char err[256];
	if (store_open(out, name, t0, &s, err, sizeof(err)) != OBS_EOK)
		die(out, err);

	/* targets (and the provider twins), then series */
	idmap_t tmap = {0}, tmap2 = {0}, smap = {0}, smap2 = {0};
	if (sqlite3_prepare_v2(in,
			       "SELECT id, kind, zone, origin, host, address, pinned, first_seen "
			       "FROM target ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		die(src, sqlite3_errmsg(in));
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), nid = 0;
		const char *kind = (const char *)sqlite3_column_text(st, 1);
		const char *zone = (const char *)sqlite3_column_text(st, 2);
		const char *origin = (const char *)sqlite3_column_text(st, 3);
		const char *host = (const char *)sqlite3_column_text(st, 4);
		const char *addr = (const char *)sqlite3_column_text(st, 5);
		const char *pinned = (const char *)sqlite3_column_text(st, 6);
		obs_usec_t fs = STRETCH(sqlite3_column_int64(st, 7));
		if (store_target(s, kind, zone, origin, host, addr, pinned, fs, &nid) != OBS_EOK)
			die("target", store_errmsg(s));
		idmap_set(&tmap, id, nid);
		if (servers == 2 && strcmp(kind, "provider") == 0) {
			char h2[300], a2[300];
			snprintf(h2, sizeof(h2), "ns2.%s", host);
			snprintf(a2, sizeof(a2), "%s0", addr); /* 127.0.0.11 -> 127.0.0.110 */
			if (store_target(s, kind, zone, origin, h2, a2, pinned, fs, &nid) !=
			    OBS_EOK)
				die("target", store_errmsg(s));
			idmap_set(&tmap2, id, nid);
		}
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(in,
			       "SELECT id, target_id, qname, qtype, flags, role FROM series "
			       "ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		die(src, sqlite3_errmsg(in));
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), tid = sqlite3_column_int64(st, 1), nid;
		const char *qn = (const char *)sqlite3_column_text(st, 2);
		uint16_t qt = (uint16_t)sqlite3_column_int(st, 3);
		unsigned fl = (unsigned)sqlite3_column_int(st, 4);
		const char *role = (const char *)sqlite3_column_text(st, 5);
		if (store_series(s, idmap_get(&tmap, tid), qn, qt, fl, role, &nid) != OBS_EOK)
			die("series", store_errmsg(s));
		idmap_set(&smap, id, nid);
		if (idmap_get(&tmap2, tid)) {
			if (store_series(s, idmap_get(&tmap2, tid), qn, qt, fl, role, &nid) !=
			    OBS_EOK)
				die("series", store_errmsg(s));
			idmap_set(&smap2, id, nid);
		}
	}
	sqlite3_finalize(st);

	/* the recorded observations with their wires (parsed once per distinct wire) */
	src_obs_t *obs = NULL;
	size_t on = 0, ocap = 0;
	src_wire_t *wires = NULL;
	size_t wn = 0;
	idmap_t wmap = {0}; /* source wire id -> index + 1 */
	if (sqlite3_prepare_v2(in,
			       "SELECT o.t, o.series_id, o.attempt, o.transport, o.status, "
			       "coalesce(o.rtt, -1), coalesce(o.outcome, 0), o.wire_id, w.data, "
			       "s.qname, s.qtype FROM observation o JOIN series s ON s.id = "
			       "o.series_id LEFT JOIN wire w ON w.id = o.wire_id ORDER BY "
			       "o.series_id, o.t, o.id",
			       -1, &st, NULL) != SQLITE_OK)
		die(src, sqlite3_errmsg(in));
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (on == ocap) {
			ocap = ocap ? ocap * 2 : 4096;
			obs = realloc(obs, ocap * sizeof(*obs));
			if (obs == NULL)
				die("memory", "observations");
		}
		src_obs_t *o = &obs[on++];
		o->t = sqlite3_column_int64(st, 0);
		o->series = sqlite3_column_int64(st, 1);
		o->attempt = (unsigned)sqlite3_column_int(st, 2);
		o->transport = (unsigned)sqlite3_column_int(st, 3);
		o->status = (unsigned)sqlite3_column_int(st, 4);
		o->rtt = sqlite3_column_int64(st, 5);
		o->outcome = (unsigned)sqlite3_column_int(st, 6);
		o->wire = -1;
		if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
			int64_t wid = sqlite3_column_int64(st, 7);
			int64_t wi = idmap_get(&wmap, wid);
			if (wi == 0) {
				wires = realloc(wires, (wn + 1) * sizeof(*wires));
				if (wires == NULL)
					die("memory", "wires");
				src_wire_t *w = &wires[wn];
				memset(w, 0, sizeof(*w));
				w->len = (size_t)sqlite3_column_bytes(st, 8);
				w->data = malloc(w->len + 1);
				if (w->data == NULL)
					die("memory", "wire");
				memcpy(w->data, sqlite3_column_blob(st, 8), w->len);
				ans_wire_hash(w->data, w->len, w->hash);
				w->parsed = ans_parse(w->data, w->len,
						      (const char *)sqlite3_column_text(st, 9),
						      (uint16_t)sqlite3_column_int(st, 10),
						      &w->sum) == OBS_EOK;
				wi = (int64_t)++wn;
				idmap_set(&wmap, wid, wi);
			}
			o->wire = wi - 1;
		}
	}
	sqlite3_finalize(st);
	/* each poll's successor in its series (rows are ordered by series, t) */
	for (size_t i = 0; i < on; i++) {
		bool last = i + 1 == on || obs[i + 1].series != obs[i].series;
		if (!last) {
			obs[i].next_t = obs[i + 1].t;
		} else {
			obs_usec_t gap = i > 0 && obs[i - 1].series == obs[i].series
					     ? obs[i].t - obs[i - 1].t
					     : OBS_USEC_PER_SEC;
			obs[i].next_t = obs[i].t + (gap > 0 ? gap : 1);
		}
	}

	/* the stretched schedule: `stretch` polls per recorded poll, at the recorded spacing */
	size_t per = (size_t)stretch * (size_t)servers;
	size_t en = 0;
	event_t *ev = malloc(on * per * sizeof(*ev));
	if (ev == NULL)
		die("memory", "events");
	for (size_t i = 0; i < on; i++) {
		obs_usec_t a = STRETCH(obs[i].t), b = STRETCH(obs[i].next_t);
		obs_usec_t step = (b - a) / stretch;
		if (step < 1)
			step = 1;
		for (long k = 0; k < stretch; k++) {
			obs_usec_t t = a + k * step;
			ev[en++] = (event_t){.t = t, .obs = (uint32_t)i, .twin = 0};
			if (idmap_get(&smap2, obs[i].series))
				ev[en++] =
				    (event_t){.t = t + step / 2, .obs = (uint32_t)i, .twin = 1};
		}
	}
	qsort(ev, en, sizeof(*ev), ev_cmp);
	size_t written = 0;
	for (size_t e = 0; e < en; e++) {
		const src_obs_t *o = &obs[ev[e].obs];
		const src_wire_t *w = o->wire >= 0 ? &wires[o->wire] : NULL;
		store_obs_t so = {
		    .series_id = idmap_get(ev[e].twin ? &smap2 : &smap, o->series),
		    .t = ev[e].t,
		    .attempt = o->attempt,
		    .transport = o->transport,
		    .status = (enum store_status)o->status,
		    .rtt = o->rtt,
		    .ans = w && w->parsed ? &w->sum : NULL,
		    .outcome = (enum store_outcome)o->outcome,
		    .wire = w ? w->data : NULL,
		    .wire_hash = w ? w->hash : NULL,
		    .wire_len = w ? w->len : 0,
		};
		if (store_observe(s, &so, NULL) != OBS_EOK)
			die("observe", store_errmsg(s));
		if (++written % 200000 == 0 && store_commit(s) != OBS_EOK)
			die("commit", store_errmsg(s));
	}

	/* NS listings and addresses, with stretched times */
	if (sqlite3_prepare_v2(
		in,
		"SELECT zone, source_target_id, ns, ttl_s, first_listed, last_listed "
		"FROM ns_listing ORDER BY id",
		-1, &st, NULL) != SQLITE_OK)
		die(src, sqlite3_errmsg(in));
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *zone = (const char *)sqlite3_column_text(st, 0);
		int64_t tid = idmap_get(&tmap, sqlite3_column_int64(st, 1));
		const char *ns = (const char *)sqlite3_column_text(st, 2);
		uint32_t ttl = (uint32_t)sqlite3_column_int64(st, 3);
		if (store_ns_listing(s, zone, tid, ns, ttl, STRETCH(sqlite3_column_int64(st, 4))) ||
		    store_ns_listing(s, zone, tid, ns, ttl, STRETCH(sqlite3_column_int64(st, 5))))
			die("ns_listing", store_errmsg(s));
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(in,
			       "SELECT zone, ns, address, source, first_seen, last_seen FROM "
			       "ns_address ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		die(src, sqlite3_errmsg(in));
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *zone = (const char *)sqlite3_column_text(st, 0);
		const char *ns = (const char *)sqlite3_column_text(st, 1);
		const char *addr = (const char *)sqlite3_column_text(st, 2);
		const char *source = (const char *)sqlite3_column_text(st, 3);
		if (store_ns_address(s, zone, ns, addr, source,
				     STRETCH(sqlite3_column_int64(st, 4))) ||
		    store_ns_address(s, zone, ns, addr, source,
				     STRETCH(sqlite3_column_int64(st, 5))))
			die("ns_address", store_errmsg(s));
	}
	sqlite3_finalize(st);
	if (store_commit(s) != OBS_EOK)
		die("commit", store_errmsg(s));
	store_close(s);
	sqlite3_close(in);
	printf("replay-gen: %zu recorded observations x %ld (x %ld provider servers) -> %zu rows\n",
	       on, stretch, servers, written);
	for (size_t i = 0; i < wn; i++) {
		ans_summary_clear(&wires[i].sum);
		free(wires[i].data);
	}
	free(wires);
	free(obs);
	free(ev);
	free(tmap.v);
	free(tmap2.v);
	free(smap.v);
	free(smap2.v);
	free(wmap.v);
	return 0;
}
