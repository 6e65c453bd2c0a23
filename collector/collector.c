/* SPDX-License-Identifier: MIT */
#include <ldns/ldns.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "classify.h"
#include "collector.h"
#include "engine.h"
#include "obs_err.h"
#include "pcapw.h"
#include "probe.h"
#include "timefmt.h"

#define COLL_COMMIT_US    200000   /* batch commit period */
#define COLL_STORE_LOG_US 10000000 /* store failures logged at most this often */
#define COLL_COMMIT_ROWS  2000     /* or when this many rows are pending */
#define COLL_FAIL_LOG     3        /* consecutive failed rounds before a target is reported down */

enum coll_kind { K_PARENT, K_PROVIDER, K_RESOLVER };
static const char *const kind_names[] = {"parent", "provider", "resolver"};

struct coll_target;

struct coll_series {
	eng_req_t req; /* req.user = this */
	struct coll_target *target;
	int64_t id;
	const char *role;
	char qname[256];
	uint16_t qtype;
	unsigned flags;
	struct coll_series *pair; /* the CD=1 twin of a CD=0 resolver series and back */
	bool round_done;
	class_obs_t last;
	int64_t last_obs_id;
};

struct coll_ns;

struct coll_target {
	coll_t *c;
	struct coll_zone *zone;
	enum coll_kind kind;
	char origin[64];
	char host[256];
	char addr_text[OBS_ADDR_STRLEN];
	int64_t id;
	eng_target_t *et;
	struct coll_series **series;
	size_t series_n;
	struct event *timer;
	struct coll_ns *ns; /* provider servers: the NS name it serves as */
	bool active;
	bool round_failed; /* no series got an answer in the current round */
	unsigned failed_rounds;
	bool reported_down;
	unsigned rounds;
};

struct coll_ns {
	char name[256];
	const obs_cfg_provider_t *provider; /* NULL: maps to no configured provider */
	bool permanent;                     /* configured: polled for ever */
	obs_usec_t reach_until;             /* last listed + its NS TTL (+ one poll) */
	bool resolving;
};

struct coll_zone {
	coll_t *c;
	const obs_cfg_zone_t *cfg;
	struct coll_target **targets;
	size_t targets_n;
	struct coll_ns **ns;
	size_t ns_n;
	struct coll_target *addr_resolver; /* resolver target used to resolve NS names */
};

struct coll_addr_target {
	eng_target_t et;
};

struct coll {
	const obs_config_t *cfg;
	coll_opts_t opts;
	struct event_base *base;
	const obs_clock_t *clock;
	const obs_clock_t *mono; /* opts.mono or &mono_real */
	obs_clock_t mono_real;
	cstep_t cstep;        /* wall-clock step detector (checked every round and stats tick) */
	uint64_t clock_steps; /* steps detected */
	const obs_log_t *log;
	obs_store_t *store;
	eng_t *eng;
	struct coll_zone *zones;
	size_t zones_n;
	eng_target_t **ets; /* shared per address (rate limit per server) */
	size_t ets_n;
	struct event *commit_ev, *stats_ev, *sigint_ev, *sigterm_ev;
	cap_t *cap; /* live capture, or NULL */
	pw_t *pw;   /* -w FILE, or NULL */
	uint64_t outcomes[5];
	uint64_t overruns;
	uint64_t store_errors;
	uint64_t store_errors_logged; /* store_errors at the last logged one */
	obs_usec_t store_logged_at;   /* when it was logged */
	uint64_t store_recoveries;    /* store_health().recoveries last seen by commit_cb */
	int exit_code;
	bool stopping;
};

/* ---- helpers ---- */

static const char *type_name(uint16_t t, char *buf, size_t len)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(t);
	if (d && d->_name)
		snprintf(buf, len, "%s", d->_name);
	else
		snprintf(buf, len, "TYPE%u", t);
	return buf;
}

static void log_series(const struct coll_series *s, enum obs_log_level lvl, const char *fmt,
		       const char *what)
{
	const coll_t *c = s->target->c;
	if (!obs_log_enabled(c->log, lvl))
		return;
	char src[700], tn[16];
	snprintf(src, sizeof(src), "zone %s %s %s@%s probe %s/%s%s", s->target->zone->cfg->name,
		 kind_names[s->target->kind], s->target->host, s->target->addr_text, s->qname,
		 type_name(s->qtype, tn, sizeof(tn)), (s->flags & PROBE_CD) ? "+cd" : "");
	obs_log_fmt(c->log, lvl, src, fmt, what);
}

/* A store failure: counted always, logged at most every COLL_STORE_LOG_US with how many
 * were not (a full disk fails every write; the log must not fill what is left of it). */
static void store_failed(coll_t *c, const char *what)
{
	c->store_errors++;
	obs_usec_t now = obs_clock_now(c->clock);
	if (c->store_errors_logged > 0 && now - c->store_logged_at < COLL_STORE_LOG_US)
		return;
	uint64_t quiet = c->store_errors - c->store_errors_logged - 1;
	store_health_t h;
	store_health(c->store, &h);
	obs_log_fmt(c->log, OBS_LOG_ERR, "store",
		    "%s: %s (%llu failures not logged since the last one; %llu batches lost "
		    "holding %llu observations; storing resumes by itself once the cause is gone)",
		    what, store_errmsg(c->store), (unsigned long long)quiet,
		    (unsigned long long)h.recoveries, (unsigned long long)h.lost_observations);
	c->store_errors_logged = c->store_errors;
	c->store_logged_at = now;
}

static eng_target_t *shared_target(coll_t *c, const obs_addr_t *addr, uint64_t rate)
{
	for (size_t i = 0; i < c->ets_n; i++) {
		if (obs_addr_equal(&c->ets[i]->addr, addr))
			return c->ets[i];
	}
	eng_target_t **arr = realloc(c->ets, (c->ets_n + 1) * sizeof(*arr));
	eng_target_t *t = malloc(sizeof(*t));
	if (arr)
		c->ets = arr;
	if (arr == NULL || t == NULL) {
		free(t);
		return NULL;
	}
	eng_target_init(t, addr, rate);
	c->ets[c->ets_n++] = t;
	return t;
}

static obs_usec_t jittered(const struct coll_zone *z, coll_t *c)
{
	const obs_cfg_timing_t *tm = &z->cfg->timing;
	obs_usec_t spread = tm->poll * (obs_usec_t)tm->jitter / 100;
	(void)c;
	if (spread <= 0)
		return tm->poll;
	uint32_t r = ldns_get_random();
	return tm->poll - spread + (obs_usec_t)(r % (uint32_t)(2 * spread + 1));
}

/* ---- series ---- */

static struct coll_series *add_series(struct coll_target *t, const char *qname, uint16_t qtype,
				      unsigned flags, const char *role)
{
	coll_t *c = t->c;
	struct coll_series *s = calloc(1, sizeof(*s));
	struct coll_series **arr = realloc(t->series, (t->series_n + 1) * sizeof(*arr));
	if (arr)
		t->series = arr;
	if (s == NULL || arr == NULL) {
		free(s);
		return NULL;
	}
	s->target = t;
	s->role = role;
	snprintf(s->qname, sizeof(s->qname), "%s", qname);
	s->qtype = qtype;
	s->flags = flags;
	if (probe_build(qname, qtype, flags, &s->req.q) != OBS_EOK) {
		log_series(s, OBS_LOG_ERR, "%s", "cannot build the query");
		free(s);
		return NULL;
	}
	if (store_series(c->store, t->id, qname, qtype, flags, role, &s->id) != OBS_EOK) {
		store_failed(c, "series");
		probe_free(&s->req.q);
		free(s);
		return NULL;
	}
	s->req.target = t->et;
	s->req.timeout = t->zone->cfg->timing.timeout;
	s->req.retries = (unsigned)t->zone->cfg->timing.retries;
	s->req.user = s;
	/* discovery reads NS names and addresses from every answer of these */
	s->req.full_parse =
	    strcmp(role, "referral") == 0 || strcmp(role, "ns") == 0 || strcmp(role, "addr") == 0;
	t->series[t->series_n++] = s;
	return s;
}

static void add_resolver_pair(struct coll_target *t, const char *qname, uint16_t qtype,
			      const char *role)
{
	struct coll_series *a = add_series(t, qname, qtype, PROBE_RD | PROBE_DO, role);
	struct coll_series *b = add_series(t, qname, qtype, PROBE_RD | PROBE_DO | PROBE_CD, role);
	if (a && b) {
		a->pair = b;
		b->pair = a;
	}
}

static void build_series(struct coll_target *t)
{
	const obs_cfg_zone_t *z = t->zone->cfg;
	unsigned auth = PROBE_DO;
	switch (t->kind) {
	case K_PARENT:
		add_series(t, z->name, LDNS_RR_TYPE_DS, auth, "ds");
		add_series(t, z->name, LDNS_RR_TYPE_NS, auth, "referral");
		break;
	case K_PROVIDER: {
		static const struct {
			uint16_t type;
			const char *role;
		} apex[] = {{LDNS_RR_TYPE_SOA, "soa"},     {LDNS_RR_TYPE_DNSKEY, "dnskey"},
			    {LDNS_RR_TYPE_CDS, "cds"},     {LDNS_RR_TYPE_CDNSKEY, "cdnskey"},
			    {LDNS_RR_TYPE_CSYNC, "csync"}, {LDNS_RR_TYPE_NS, "ns"}};
		for (size_t i = 0; i < sizeof(apex) / sizeof(apex[0]); i++)
			add_series(t, z->name, apex[i].type, auth, apex[i].role);
		for (size_t i = 0; i < z->canaries_n; i++)
			add_series(t, z->canaries[i].name, z->canaries[i].type, auth, "canary");
		add_series(t, z->nx_canary, LDNS_RR_TYPE_A, auth, "nx");
		break;
	}
	case K_RESOLVER:
		add_resolver_pair(t, z->name, LDNS_RR_TYPE_DNSKEY, "dnskey");
		add_resolver_pair(t, z->name, LDNS_RR_TYPE_DS, "ds");
		add_resolver_pair(t, z->name, LDNS_RR_TYPE_SOA, "soa");
		for (size_t i = 0; i < z->canaries_n; i++)
			add_resolver_pair(t, z->canaries[i].name, z->canaries[i].type, "canary");
		add_resolver_pair(t, z->nx_canary, LDNS_RR_TYPE_A, "nx");
		if (z->bogus.name)
			add_resolver_pair(t, z->bogus.name, z->bogus.type, "bogus");
		break;
	}
}

/* ---- rounds ---- */

static void round_cb(evutil_socket_t fd, short what, void *arg);

static void schedule(struct coll_target *t, obs_usec_t delay)
{
	struct timeval tv = {(time_t)(delay / OBS_USEC_PER_SEC),
			     (suseconds_t)(delay % OBS_USEC_PER_SEC)};
	event_add(t->timer, &tv);
}

static void target_activate(struct coll_target *t)
{
	if (t->active)
		return;
	t->active = true;
	schedule(t, 0);
}

/* Compare the realtime and monotonic deltas since the last check (clockstep.h); a step is
 * logged once with its size, counted and stored (committed at once: it must outlive a crash).
 * Returns the realtime reading. */
static obs_usec_t clock_check(coll_t *c)
{
	obs_usec_t now = obs_clock_now(c->clock);
	cstep_event_t ev;
	if (!cstep_check(&c->cstep, now, obs_clock_now(c->mono), &ev))
		return now;
	c->clock_steps++;
	char before[OBS_TIME_STRLEN], after[OBS_TIME_STRLEN];
	obs_log_fmt(c->log, OBS_LOG_WARN, "clock",
		    "wall clock stepped %s by %.3f s (realtime %s, then %s, %.3f s apart on the "
		    "monotonic clock): verdicts whose evidence spans it are unknown",
		    ev.step > 0 ? "forward" : "back",
		    (double)(ev.step > 0 ? ev.step : -ev.step) / 1e6,
		    obs_time_format(ev.t_before, before, sizeof(before)),
		    obs_time_format(ev.t_after, after, sizeof(after)),
		    (double)(ev.mono_after - ev.mono_before) / 1e6);
	if (store_clock_step(c->store, &ev) != OBS_EOK || store_commit(c->store) != OBS_EOK)
		store_failed(c, "clock step");
	return now;
}

bool coll_clock_check(coll_t *c)
{
	uint64_t before = c->clock_steps;
	clock_check(c);
	return c->clock_steps != before;
}

static bool target_reachable(const struct coll_target *t, obs_usec_t now)
{
	if (t->kind != K_PROVIDER || t->ns == NULL)
		return true;
	return t->ns->permanent || now < t->ns->reach_until;
}

static void round_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct coll_target *t = arg;
	coll_t *c = t->c;
	if (c->stopping)
		return;
	obs_usec_t now = clock_check(c);
	if (!target_reachable(t, now)) {
		char when[OBS_TIME_STRLEN];
		obs_log_fmt(c->log, OBS_LOG_INFO, t->zone->cfg->name,
			    "server %s@%s is no longer in any NS set resolvers may use "
			    "(since %s); polling stops",
			    t->host, t->addr_text,
			    obs_time_format(t->ns->reach_until, when, sizeof(when)));
		t->active = false;
		return;
	}
	if (c->opts.once && t->rounds > 0)
		return;
	if (t->rounds > 0) {
		if (t->round_failed) {
			t->failed_rounds++;
			if (t->failed_rounds == COLL_FAIL_LOG && !t->reported_down) {
				t->reported_down = true;
				obs_log_fmt(c->log, OBS_LOG_WARN, t->zone->cfg->name,
					    "%s %s@%s answered nothing in %u rounds",
					    kind_names[t->kind], t->host, t->addr_text,
					    COLL_FAIL_LOG);
			}
		}
	}
	t->rounds++;
	t->round_failed = true;
	for (size_t i = 0; i < t->series_n; i++) {
		struct coll_series *s = t->series[i];
		s->round_done = false;
		if (eng_submit(c->eng, &s->req) == OBS_EAGAIN) {
			c->overruns++;
			log_series(s, OBS_LOG_DEBUG, "%s", "previous round still running");
		}
	}
	if (!c->opts.once)
		schedule(t, jittered(t->zone, c));
}

/* ---- targets ---- */

static struct coll_target *find_target(struct coll_zone *z, enum coll_kind kind, const char *host,
				       const obs_addr_t *addr)
{
	for (size_t i = 0; i < z->targets_n; i++) {
		struct coll_target *t = z->targets[i];
		if (t->kind == kind && strcmp(t->host, host) == 0 &&
		    obs_addr_equal(&t->et->addr, addr))
			return t;
	}
	return NULL;
}

static struct coll_target *add_target(struct coll_zone *z, enum coll_kind kind, const char *origin,
				      const char *host, const obs_addr_t *addr, const char *pinned)
{
	coll_t *c = z->c;
	struct coll_target *t = calloc(1, sizeof(*t));
	struct coll_target **arr = realloc(z->targets, (z->targets_n + 1) * sizeof(*arr));
	if (arr)
		z->targets = arr;
	if (t == NULL || arr == NULL) {
		free(t);
		return NULL;
	}
	t->c = c;
	t->zone = z;
	t->kind = kind;
	snprintf(t->origin, sizeof(t->origin), "%s", origin);
	snprintf(t->host, sizeof(t->host), "%s", host);
	obs_addr_format(addr, t->addr_text, sizeof(t->addr_text));
	t->et = shared_target(c, addr, z->cfg->timing.rate);
	t->timer = evtimer_new(c->base, round_cb, t);
	if (t->et == NULL || t->timer == NULL) {
		if (t->timer)
			event_free(t->timer);
		free(t);
		return NULL;
	}
	if (store_target(c->store, kind_names[kind], z->cfg->name, origin, host, t->addr_text,
			 pinned, obs_clock_now(c->clock), &t->id) != OBS_EOK) {
		store_failed(c, "target");
		event_free(t->timer);
		free(t);
		return NULL;
	}
	z->targets[z->targets_n++] = t;
	build_series(t);
	return t;
}

static struct coll_ns *find_ns(struct coll_zone *z, const char *name)
{
	for (size_t i = 0; i < z->ns_n; i++) {
		if (strcmp(z->ns[i]->name, name) == 0)
			return z->ns[i];
	}
	return NULL;
}

static void resolve_ns(struct coll_zone *z, struct coll_ns *ns);

static struct coll_ns *add_ns(struct coll_zone *z, const char *name, bool permanent)
{
	struct coll_ns *ns = find_ns(z, name);
	if (ns) {
		ns->permanent = ns->permanent || permanent;
		return ns;
	}
	ns = calloc(1, sizeof(*ns));
	struct coll_ns **arr = realloc(z->ns, (z->ns_n + 1) * sizeof(*arr));
	if (arr)
		z->ns = arr;
	if (ns == NULL || arr == NULL) {
		free(ns);
		return NULL;
	}
	snprintf(ns->name, sizeof(ns->name), "%s", name);
	ns->permanent = permanent;
	ns->provider = obs_config_provider_of(z->cfg, name);
	z->ns[z->ns_n++] = ns;
	if (ns->provider == NULL)
		obs_log_fmt(z->c->log, OBS_LOG_WARN, z->cfg->name,
			    "NS %s maps to no configured provider: polled as provider '?'", name);
	bool explicit = false;
	for (size_t i = 0; i < z->cfg->nsaddrs_n; i++) {
		const obs_cfg_nsaddr_t *na = &z->cfg->nsaddrs[i];
		if (strcmp(na->ns, name) != 0)
			continue;
		explicit = true;
		for (size_t k = 0; k < na->addrs_n; k++) {
			char at[OBS_ADDR_STRLEN];
			obs_addr_format(&na->addrs[k], at, sizeof(at));
			(void)store_ns_address(z->c->store, z->cfg->name, name, at, "config",
					       obs_clock_now(z->c->clock));
			struct coll_target *t =
			    add_target(z, K_PROVIDER, ns->provider ? ns->provider->name : "?", name,
				       &na->addrs[k], NULL);
			if (t) {
				t->ns = ns;
				target_activate(t);
			}
		}
	}
	if (!explicit)
		resolve_ns(z, ns);
	return ns;
}

/* A server address learnt for an NS name (from glue or the address resolver). */
static void ns_address(struct coll_zone *z, struct coll_ns *ns, const uint8_t *raw, size_t len,
		       const char *source, obs_usec_t t)
{
	obs_addr_t a;
	if (obs_addr_from_raw(raw, len, 53, &a) != OBS_EOK)
		return;
	char at[OBS_ADDR_STRLEN];
	obs_addr_format(&a, at, sizeof(at));
	if (store_ns_address(z->c->store, z->cfg->name, ns->name, at, source, t) != OBS_EOK)
		store_failed(z->c, "ns_address");
	for (size_t i = 0; i < z->cfg->nsaddrs_n; i++) {
		if (strcmp(z->cfg->nsaddrs[i].ns, ns->name) == 0)
			return; /* explicit addresses win over discovered ones */
	}
	struct coll_target *tg = find_target(z, K_PROVIDER, ns->name, &a);
	if (tg == NULL) {
		tg = add_target(z, K_PROVIDER, ns->provider ? ns->provider->name : "?", ns->name,
				&a, NULL);
		if (tg == NULL)
			return;
		tg->ns = ns;
		obs_log_fmt(z->c->log, OBS_LOG_INFO, z->cfg->name,
			    "server %s@%s (provider %s) found via %s", ns->name, tg->addr_text,
			    tg->origin, source);
	}
	target_activate(tg);
}

static void resolve_ns(struct coll_zone *z, struct coll_ns *ns)
{
	if (ns->resolving || z->addr_resolver == NULL)
		return;
	ns->resolving = true;
	struct coll_target *r = z->addr_resolver;
	add_series(r, ns->name, LDNS_RR_TYPE_A, PROBE_RD, "addr");
	add_series(r, ns->name, LDNS_RR_TYPE_AAAA, PROBE_RD, "addr");
	if (r->active && r->rounds > 0) {
		/* ask now rather than at the resolver's next round */
		for (size_t i = r->series_n - 2; i < r->series_n; i++)
			(void)eng_submit(z->c->eng, &r->series[i]->req);
	}
}

/* ---- results ---- */

static void ns_listed(struct coll_series *s, const ans_summary_t *a, obs_usec_t t)
{
	struct coll_zone *z = s->target->zone;
	coll_t *c = z->c;
	for (unsigned i = 0; i < a->ns_n; i++) {
		struct coll_ns *ns = add_ns(z, a->ns[i], false);
		if (ns == NULL)
			continue;
		obs_usec_t until =
		    t + (obs_usec_t)a->ns_ttl * OBS_USEC_PER_SEC + z->cfg->timing.poll;
		if (until > ns->reach_until)
			ns->reach_until = until;
		if (store_ns_listing(c->store, z->cfg->name, s->target->id, ns->name, a->ns_ttl,
				     t) != OBS_EOK)
			store_failed(c, "ns_listing");
		for (size_t k = 0; k < z->targets_n; k++) {
			if (z->targets[k]->ns == ns)
				target_activate(z->targets[k]);
		}
		for (unsigned k = 0; k < a->addrs_n; k++) {
			if (s->target->kind == K_PARENT && strcmp(a->addrs[k].owner, ns->name) == 0)
				ns_address(z, ns, a->addrs[k].raw, a->addrs[k].len, "glue", t);
		}
	}
}

static void addresses_resolved(struct coll_series *s, const ans_summary_t *a, obs_usec_t t)
{
	struct coll_zone *z = s->target->zone;
	struct coll_ns *ns = find_ns(z, s->qname);
	if (ns == NULL)
		return;
	for (unsigned k = 0; k < a->addrs_n; k++) {
		if (strcmp(a->addrs[k].owner, s->qname) == 0)
			ns_address(z, ns, a->addrs[k].raw, a->addrs[k].len, "resolver", t);
	}
}

static void pair_done(coll_t *c, struct coll_series *s)
{
	struct coll_series *p = s->pair;
	if (p == NULL || !p->round_done)
		return;
	struct coll_series *cd0 = (s->flags & PROBE_CD) ? p : s;
	struct coll_series *cd1 = (s->flags & PROBE_CD) ? s : p;
	enum store_outcome out = class_outcome(&cd0->last, &cd1->last);
	c->outcomes[out]++;
	if (store_set_outcome(c->store, cd0->last_obs_id, out) != OBS_EOK ||
	    store_set_outcome(c->store, cd1->last_obs_id, out) != OBS_EOK)
		store_failed(c, "outcome");
	if (strcmp(s->role, "bogus") == 0 && out == OUT_INSECURE)
		log_series(cd0, OBS_LOG_WARN, "%s",
			   "known-bad canary answered without error: resolver does not validate");
	else if (out == OUT_BOGUS || out == OUT_LOST)
		log_series(cd0, strcmp(s->role, "bogus") == 0 ? OBS_LOG_DEBUG : OBS_LOG_INFO,
			   "outcome %s", store_outcome_names[out]);
	cd0->round_done = cd1->round_done = false;
}

static void on_result(void *arg, const eng_result_t *r)
{
	coll_t *c = arg;
	struct coll_series *s = r->req->user;
	store_obs_t o = eng_result_obs(r, s->id);
	int64_t obs_id = 0;
	if (store_observe(c->store, &o, &obs_id) != OBS_EOK)
		store_failed(c, "observation");
	/* T-5 (i), (ii) at the authoritative servers (a resolver's cache counts TTLs down) */
	else if (r->status == ST_ANSWERED && o.ans && o.ans->ver.kind != ANS_NONE &&
		 s->target->kind != K_RESOLVER &&
		 store_ttl_anomaly(c->store, obs_id, s->id, o.t, &o.ans->ver) != OBS_EOK)
		store_failed(c, "TTL anomaly");
	if (store_pending(c->store) >= COLL_COMMIT_ROWS && store_commit(c->store) != OBS_EOK)
		store_failed(c, "commit");

	if (r->status == ST_ANSWERED) {
		struct coll_target *t = s->target;
		t->round_failed = false;
		if (t->reported_down) {
			obs_log_fmt(c->log, OBS_LOG_INFO, t->zone->cfg->name,
				    "%s %s@%s answers again", kind_names[t->kind], t->host,
				    t->addr_text);
			t->reported_down = false;
		}
		t->failed_rounds = 0;
		if ((strcmp(s->role, "referral") == 0 || strcmp(s->role, "ns") == 0) &&
		    r->ans->ns_n > 0)
			ns_listed(s, r->ans, r->t);
		else if (strcmp(s->role, "addr") == 0)
			addresses_resolved(s, r->ans, r->t);
	} else if (r->final) {
		log_series(s, OBS_LOG_DEBUG, "%s", store_status_names[r->status]);
	}
	if (r->final && s->pair) {
		s->round_done = true;
		s->last.status = r->status;
		s->last.rcode = r->ans ? r->ans->rcode : 0;
		s->last.flags = r->ans ? r->ans->flags : 0;
		s->last_obs_id = obs_id;
		pair_done(c, s);
	}
}

static void on_tap(void *arg, obs_usec_t t, bool out, const obs_addr_t *local,
		   const obs_addr_t *remote, unsigned transport, const uint8_t *msg, size_t len)
{
	coll_t *c = arg;
	if (out)
		pw_write(c->pw, t, local, remote, transport, msg, len);
	else
		pw_write(c->pw, t, remote, local, transport, msg, len);
}

/* ---- timers ---- */

static bool all_done(const coll_t *c)
{
	if (!eng_idle(c->eng))
		return false;
	for (size_t z = 0; z < c->zones_n; z++) {
		for (size_t i = 0; i < c->zones[z].targets_n; i++) {
			const struct coll_target *t = c->zones[z].targets[i];
			if (t->active && t->rounds == 0)
				return false;
		}
	}
	return true;
}

static void commit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	coll_t *c = arg;
	if (store_commit(c->store) != OBS_EOK)
		store_failed(c, "commit");
	store_health_t h;
	store_health(c->store, &h);
	if (h.recoveries != c->store_recoveries) {
		/* a lost batch may have held versions the fast path would name by hash alone: the
		 * next answer of every series is parsed in full */
		c->store_recoveries = h.recoveries;
		for (size_t z = 0; z < c->zones_n; z++)
			for (size_t i = 0; i < c->zones[z].targets_n; i++) {
				struct coll_target *t = c->zones[z].targets[i];
				for (size_t k = 0; k < t->series_n; k++)
					eng_req_clear(&t->series[k]->req);
			}
	}
	if (c->opts.once && all_done(c))
		event_base_loopbreak(c->base);
}

static void stats_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	coll_t *c = arg;
	clock_check(c);
	eng_stats_t st;
	eng_get_stats(c->eng, &st);
	store_health_t h;
	store_health(c->store, &h);
	size_t active = 0;
	for (size_t z = 0; z < c->zones_n; z++) {
		for (size_t i = 0; i < c->zones[z].targets_n; i++)
			active += c->zones[z].targets[i]->active;
	}
	/* one table drives the stats line and the stored counters */
	const struct {
		const char *name;
		uint64_t value;
	} rows[] = {
	    {"polls", st.sent},
	    {"answered", st.answered},
	    {"timeout", st.timeout},
	    {"truncated", st.truncated},
	    {"tcp", st.tcp},
	    {"malformed", st.malformed},
	    {"mismatched", st.mismatched},
	    {"neterr", st.neterr},
	    {"dropped", st.dropped},
	    {"stray", st.stray},
	    {"spoofed", st.spoofed},
	    {"inflight", st.inflight},
	    {"queued", st.queued},
	    {"secure", c->outcomes[OUT_SECURE]},
	    {"insecure", c->outcomes[OUT_INSECURE]},
	    {"bogus", c->outcomes[OUT_BOGUS]},
	    {"lost", c->outcomes[OUT_LOST]},
	    {"overruns", c->overruns},
	    {"rotations", st.rotations},
	    {"fast", st.fast},
	    {"gso", st.gso},
	    {"gso_off", st.gso_off},
	    {"targets", active},
	    {"store_errors", c->store_errors},
	    {"store_lost_batches", h.recoveries},
	    {"store_lost_observations", h.lost_observations},
	    {"clock_steps", c->clock_steps},
	};
	enum { NROWS = sizeof(rows) / sizeof(rows[0]) };
	const char *names[NROWS];
	uint64_t values[NROWS];
	char line[1024];
	size_t off = 0;
	for (size_t i = 0; i < NROWS; i++) {
		names[i] = rows[i].name;
		values[i] = rows[i].value;
		off += (size_t)snprintf(line + off, off < sizeof(line) ? sizeof(line) - off : 0,
					"%s%s=%llu", i ? " " : "", rows[i].name,
					(unsigned long long)rows[i].value);
	}
	obs_log_fmt(c->log, OBS_LOG_INFO, "stats", "%s", line);
	if (store_counters(c->store, obs_clock_now(c->clock), names, values, NROWS) != OBS_EOK)
		store_failed(c, "counters");
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	coll_t *c = arg;
	obs_log_fmt(c->log, OBS_LOG_INFO, NULL, "signal %d: committing and stopping", (int)sig);
	c->stopping = true;
	event_base_loopbreak(c->base);
}

/* ---- life cycle ---- */

static int setup_zone(coll_t *c, struct coll_zone *z)
{
	const obs_cfg_zone_t *zc = z->cfg;
	for (size_t i = 0; i < zc->parents_n; i++) {
		char at[OBS_ADDR_STRLEN];
		obs_addr_format(&zc->parents[i], at, sizeof(at));
		struct coll_target *t =
		    add_target(z, K_PARENT, "PARENT", at, &zc->parents[i], NULL);
		if (t == NULL)
			return OBS_ENOMEM;
		target_activate(t);
	}
	const char *want = c->cfg->address_resolver;
	for (size_t i = 0; i < c->cfg->resolvers_n; i++) {
		const obs_cfg_resolver_t *r = &c->cfg->resolvers[i];
		struct coll_target *t =
		    add_target(z, K_RESOLVER, r->name, r->name, &r->addr, r->pinned);
		if (t == NULL)
			return OBS_ENOMEM;
		target_activate(t);
		if (z->addr_resolver == NULL &&
		    (want ? strcmp(want, r->name) == 0 : r->pinned == NULL))
			z->addr_resolver = t;
	}
	for (size_t p = 0; p < zc->providers_n; p++) {
		for (size_t k = 0; k < zc->providers[p].ns_n; k++) {
			struct coll_ns *ns = add_ns(z, zc->providers[p].ns[k], true);
			if (ns && ns->resolving == false && z->addr_resolver == NULL) {
				bool explicit = false;
				for (size_t a = 0; a < zc->nsaddrs_n; a++)
					explicit =
					    explicit || strcmp(zc->nsaddrs[a].ns, ns->name) == 0;
				if (!explicit)
					obs_log_fmt(c->log, OBS_LOG_WARN, zc->name,
						    "NS %s has no address: give ns-addresses or "
						    "an unpinned resolver",
						    ns->name);
			}
		}
	}
	return OBS_EOK;
}

int coll_new(const obs_config_t *cfg, const coll_opts_t *opts, struct event_base *base,
	     const obs_clock_t *clock, const obs_log_t *log, coll_t **out)
{
	*out = NULL;
	coll_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return OBS_ENOMEM;
	c->cfg = cfg;
	c->opts = *opts;
	c->base = base;
	c->clock = clock;
	c->mono_real = obs_clock_mono();
	c->mono = opts->mono ? opts->mono : &c->mono_real;
	c->log = log;
	const char *db = opts->db ? opts->db : cfg->db;
	char err[300];
	int ret = store_open(db, cfg->name, obs_clock_now(clock), &c->store, err, sizeof(err));
	if (ret != OBS_EOK) {
		obs_log_fmt(log, OBS_LOG_ERR, db, "cannot open the database: %s", err);
		goto fail;
	}
	if ((ret = eng_new(base, clock, cfg->max_inflight, on_result, c, &c->eng)) != OBS_EOK) {
		obs_log_fmt(log, OBS_LOG_ERR, NULL, "cannot start the query engine: %s",
			    obs_strerror(ret));
		goto fail;
	}
	/* a capture on this host would see an offload send as one datagram of several queries */
	eng_set_offload(c->eng, cfg->udp_offload != 0 && opts->iface == NULL);
	if (opts->write_pcap) {
		if ((ret = pw_open(opts->write_pcap, &c->pw, err, sizeof(err))) != OBS_EOK) {
			obs_log_fmt(log, OBS_LOG_ERR, opts->write_pcap, "cannot write: %s", err);
			goto fail;
		}
		eng_set_tap(c->eng, on_tap, c);
	}
	if (opts->iface && (ret = cap_open_live(base, opts->iface, c->store, cfg, clock,
						cfg->stats_interval, log, &c->cap)) != OBS_EOK)
		goto fail;
	c->zones = calloc(cfg->zones_n, sizeof(*c->zones));
	if (c->zones == NULL) {
		ret = OBS_ENOMEM;
		goto fail;
	}
	c->zones_n = cfg->zones_n;
	/* the first rounds start from the loop; resolver targets first so addresses arrive */
	for (size_t i = 0; i < cfg->zones_n; i++) {
		c->zones[i].c = c;
		c->zones[i].cfg = &cfg->zones[i];
		if ((ret = setup_zone(c, &c->zones[i])) != OBS_EOK)
			goto fail;
	}
	if (store_commit(c->store) != OBS_EOK)
		store_failed(c, "commit");
	c->commit_ev = event_new(base, -1, EV_PERSIST, commit_cb, c);
	c->stats_ev = event_new(base, -1, EV_PERSIST, stats_cb, c);
	c->sigint_ev = evsignal_new(base, SIGINT, signal_cb, c);
	c->sigterm_ev = evsignal_new(base, SIGTERM, signal_cb, c);
	struct timeval ctv = {0, COLL_COMMIT_US};
	struct timeval stv = {(time_t)(cfg->stats_interval / OBS_USEC_PER_SEC),
			      (suseconds_t)(cfg->stats_interval % OBS_USEC_PER_SEC)};
	if (!c->commit_ev || !c->stats_ev || !c->sigint_ev || !c->sigterm_ev ||
	    event_add(c->commit_ev, &ctv) || event_add(c->stats_ev, &stv) ||
	    event_add(c->sigint_ev, NULL) || event_add(c->sigterm_ev, NULL)) {
		ret = OBS_ENOMEM;
		goto fail;
	}
	*out = c;
	return OBS_EOK;
fail:
	coll_free(c);
	return ret;
}

int coll_run(coll_t *c)
{
	obs_log_fmt(c->log, OBS_LOG_INFO, c->cfg->name, "collecting %zu zone(s) into %s",
		    c->zones_n, c->opts.db ? c->opts.db : c->cfg->db);
	event_base_dispatch(c->base);
	stats_cb(-1, 0, c);
	if (store_commit(c->store) != OBS_EOK) {
		store_failed(c, "final commit");
		return OBS_ESQL;
	}
	return c->store_errors ? OBS_ESQL : OBS_EOK;
}

void coll_free(coll_t *c)
{
	if (c == NULL)
		return;
	eng_free(c->eng); /* first: no more callbacks */
	cap_free(c->cap);
	pw_close(c->pw);
	for (size_t z = 0; z < c->zones_n; z++) {
		struct coll_zone *zone = &c->zones[z];
		for (size_t i = 0; i < zone->targets_n; i++) {
			struct coll_target *t = zone->targets[i];
			for (size_t k = 0; k < t->series_n; k++) {
				probe_free(&t->series[k]->req.q);
				eng_req_clear(&t->series[k]->req);
				free(t->series[k]);
			}
			free(t->series);
			if (t->timer)
				event_free(t->timer);
			free(t);
		}
		free(zone->targets);
		for (size_t i = 0; i < zone->ns_n; i++)
			free(zone->ns[i]);
		free(zone->ns);
	}
	free(c->zones);
	for (size_t i = 0; i < c->ets_n; i++)
		free(c->ets[i]);
	free(c->ets);
	if (c->commit_ev)
		event_free(c->commit_ev);
	if (c->stats_ev)
		event_free(c->stats_ev);
	if (c->sigint_ev)
		event_free(c->sigint_ev);
	if (c->sigterm_ev)
		event_free(c->sigterm_ev);
	store_close(c->store);
	free(c);
}

int coll_read_capture(const obs_config_t *cfg, const char *db, const char *path,
		      const obs_clock_t *clock, const obs_log_t *log)
{
	obs_store_t *store = NULL;
	char err[300];
	int ret = store_open(db, cfg->name, obs_clock_now(clock), &store, err, sizeof(err));
	if (ret != OBS_EOK) {
		obs_log_fmt(log, OBS_LOG_ERR, db, "cannot open the database: %s", err);
		return ret;
	}
	cap_stats_t st;
	ret = cap_read_file(path, store, cfg, obs_clock_now(clock), log, &st);
	if (ret == OBS_EOK)
		obs_log_fmt(
		    log, OBS_LOG_INFO, path,
		    "frames=%llu messages=%llu queries=%llu responses=%llu paired=%llu "
		    "unanswered=%llu unmatched=%llu malformed=%llu truncated=%llu "
		    "bad_header=%llu frag_reassembled=%llu frag_dropped=%llu tcp_gaps=%llu "
		    "tcp_cut=%llu",
		    (unsigned long long)st.dec.frames, (unsigned long long)st.dec.messages,
		    (unsigned long long)st.pas.queries, (unsigned long long)st.pas.responses,
		    (unsigned long long)st.pas.paired, (unsigned long long)st.pas.unanswered,
		    (unsigned long long)st.pas.unmatched, (unsigned long long)st.pas.malformed,
		    (unsigned long long)st.dec.truncated, (unsigned long long)st.dec.bad_header,
		    (unsigned long long)st.dec.frag_reassembled,
		    (unsigned long long)st.dec.frag_dropped, (unsigned long long)st.dec.tcp_gaps,
		    (unsigned long long)st.dec.tcp_cut);
	if (st.pas.store_errors) {
		obs_log_fmt(log, OBS_LOG_ERR, db,
			    "%llu passive observations could not be stored: %s",
			    (unsigned long long)st.pas.store_errors, store_errmsg(store));
		ret = OBS_ESQL;
	}
	store_close(store);
	return ret;
}
