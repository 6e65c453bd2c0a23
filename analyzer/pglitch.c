/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "obs_err.h"
#include "pglitch.h"

const char *const pg_tier_names[3] = {"M0", "M1", "M2"};

bool pg_is_pair(const mdl_ver_t *a, const mdl_ver_t *b)
{
	return (a->cls == MC_DS && b->cls == MC_DNSKEY) ||
	       (a->cls == MC_DNSKEY && b->cls == MC_DATA);
}

static int window(const mdl_t *m, const mdl_ver_t *a, const mdl_ver_t *b, enum pg_tier t,
		  bool strict, bool narrow, iset_t *out)
{
	iset_t avail = ISET_INIT, valid = ISET_INIT;
	const iset_t *sa = t == PG_M0 ? (narrow ? &a->Fs : &a->F) : (narrow ? &a->Cs : &a->C);
	const iset_t *sb = t == PG_M2 ? (narrow ? &b->Cs : &b->C) : (narrow ? &b->Fs : &b->F);
	int ret = iset_and(sa, sb, &avail);
	iset_clear(out);
	if (ret == OBS_EOK && !iset_empty(&avail)) {
		ret = a->cls == MC_DS ? mdl_chain_valid(m, a, b, &valid)
				      : mdl_sig_valid(m, a, b, strict, &valid);
		if (ret == OBS_EOK)
			ret = iset_minus(&avail, &valid, out);
	}
	iset_free(&avail);
	iset_free(&valid);
	return ret;
}

int pg_pair_window(const mdl_t *m, const mdl_ver_t *a, const mdl_ver_t *b, enum pg_tier t,
		   bool strict, iset_t *out)
{
	return window(m, a, b, t, strict, false, out);
}

int pg_pair_window_certain(const mdl_t *m, const mdl_ver_t *a, const mdl_ver_t *b, enum pg_tier t,
			   bool strict, iset_t *out)
{
	return window(m, a, b, t, strict, true, out);
}

/* V-3 when the keys match and only signature times make the pair fail */
static const char *pair_id(const mdl_ver_t *a, const mdl_ver_t *b)
{
	if (a->cls == MC_DS)
		return (a->keys & b->keys & b->signers) ? "V-3" : "V-1";
	return (a->keys & b->signers) ? "V-3" : "V-2";
}

static void pair_reason(const mdl_t *m, const mdl_ver_t *a, const mdl_ver_t *b, char *buf,
			size_t len)
{
	char la[128], lb[128];
	mdl_ver_label(m, a, la, sizeof(la));
	mdl_ver_label(m, b, lb, sizeof(lb));
	if (a->cls == MC_DS)
		snprintf(buf, len, "%s authenticates no signing key of %s", la, lb);
	else
		snprintf(buf, len, "%s holds no key with a valid signature over %s", la, lb);
}

static int run_pair(mdl_t *m, const mdl_prof_t *p, obs_usec_t from, int a, int b, pg_fn cb,
		    void *arg)
{
	iset_t w[3] = {ISET_INIT, ISET_INIT, ISET_INIT}, tmp = ISET_INIT, rep = ISET_INIT;
	int ret = OBS_EOK;
	for (int t = 0; ret == OBS_EOK && t < 3; t++)
		if ((ret = pg_pair_window(m, &m->v[a], &m->v[b], t, p->strict, &tmp)) == OBS_EOK)
			ret = iset_clip(&tmp, from, ISET_INF, &w[t]);
	for (int t = 0; ret == OBS_EOK && t < 3; t++) {
		if (t == 0)
			ret = iset_copy(&rep, &w[0]);
		else
			ret = iset_minus(&w[t], &w[t - 1], &rep);
		if (ret || iset_empty(&rep))
			continue;
		pg_glitch_t g = {pair_id(&m->v[a], &m->v[b]),
				 t,
				 t == PG_M2 ? SEV_WARN : SEV_ERROR,
				 false,
				 a,
				 b,
				 -1,
				 &rep,
				 ""};
		pair_reason(m, &m->v[a], &m->v[b], g.reason, sizeof(g.reason));
		if (t != PG_M2) {
			/* certain part: from the sightings themselves */
			iset_t cw = ISET_INIT;
			ret = window(m, &m->v[a], &m->v[b], t, p->strict, true, &cw);
			if (ret == OBS_EOK && (ret = iset_and(&cw, &rep, &tmp)) == OBS_EOK &&
			    iset_empty(&tmp)) {
				g.uncertain = true;
				g.sev = SEV_WARN;
				size_t l = strlen(g.reason);
				snprintf(g.reason + l, sizeof(g.reason) - l,
					 " (only possible: it depends on when, between two polls, "
					 "a change happened)");
			}
			iset_free(&cw);
			if (ret)
				break;
		}
		cb(arg, &g);
	}
	for (int t = 0; t < 3; t++)
		iset_free(&w[t]);
	iset_free(&tmp);
	iset_free(&rep);
	return ret;
}

/* R-1p: a provider server lame while its provider is NS-reachable; R-1a: every server an
 * available NS version names is lame */
static int run_lame(mdl_t *m, obs_usec_t from, pg_fn cb, void *arg)
{
	iset_t w = ISET_INIT, tmp = ISET_INIT, all = ISET_INIT;
	int ret = OBS_EOK;
	for (size_t s = 0; ret == OBS_EOK && s < m->ns; s++) {
		const mdl_srv_t *sv = &m->srv[s];
		if (sv->origin == MDL_PARENT)
			continue;
		if ((ret = iset_and(&m->nsr[sv->origin], &sv->lame, &tmp)) ||
		    (ret = iset_clip(&tmp, from, ISET_INF, &w)) || iset_empty(&w))
			continue;
		pg_glitch_t g = {"R-1p", PG_M0, SEV_WARN, false, -1, -1, (int)s, &w, ""};
		snprintf(g.reason, sizeof(g.reason),
			 "server %s (%s) of provider %s does not answer while resolvers may "
			 "query it",
			 sv->address, sv->host, m->prov[sv->origin]);
		cb(arg, &g);
	}
	for (size_t i = 0; ret == OBS_EOK && i < m->nv; i++) {
		const mdl_ver_t *v = &m->v[i];
		if (!(v->cls == MC_NSP || (v->cls == MC_DATA && strcmp(v->role, "ns") == 0)) ||
		    v->names == 0)
			continue;
		/* every server of every provider the version names, lame together */
		bool first = true;
		for (size_t s = 0; ret == OBS_EOK && s < m->ns; s++) {
			const mdl_srv_t *sv = &m->srv[s];
			if (sv->origin == MDL_PARENT || !(v->names & ((uint64_t)1 << sv->origin)))
				continue;
			if (first)
				ret = iset_copy(&all, &sv->lame);
			else if ((ret = iset_and(&all, &sv->lame, &tmp)) == OBS_EOK)
				ret = iset_copy(&all, &tmp);
			first = false;
		}
		if (ret || first)
			continue;
		if ((ret = iset_and(&all, &v->C, &tmp)) ||
		    (ret = iset_clip(&tmp, from, ISET_INF, &w)) || iset_empty(&w))
			continue;
		pg_glitch_t g = {"R-1a", PG_M0, SEV_CRITICAL, false, (int)i, -1, -1, &w, ""};
		char l[128];
		snprintf(g.reason, sizeof(g.reason), "every server named by %s is lame",
			 mdl_ver_label(m, v, l, sizeof(l)));
		cb(arg, &g);
	}
	iset_free(&w);
	iset_free(&tmp);
	iset_free(&all);
	return ret;
}

int pg_run(mdl_t *m, const mdl_prof_t *p, obs_usec_t from, pg_fn cb, void *arg)
{
	int ret = OBS_EOK;
	for (size_t a = 0; ret == OBS_EOK && a < m->nv; a++) {
		if (m->v[a].cls != MC_DS && m->v[a].cls != MC_DNSKEY)
			continue;
		if (iset_empty(&m->v[a].C))
			continue;
		for (size_t b = 0; ret == OBS_EOK && b < m->nv; b++) {
			if (!pg_is_pair(&m->v[a], &m->v[b]) || iset_empty(&m->v[b].C))
				continue;
			ret = run_pair(m, p, from, (int)a, (int)b, cb, arg);
		}
	}
	if (ret == OBS_EOK)
		ret = run_lame(m, from, cb, arg);
	return ret;
}
