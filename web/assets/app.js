// SPDX-License-Identifier: MIT
// obs-web dashboard: polls the JSON API and redraws; never inserts data as HTML.
'use strict';
(function () {
  const REFRESH_MS = 5000;
  const SVGNS = 'http://www.w3.org/2000/svg';

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function row(cells) {
    const tr = el('tr');
    for (const c of cells) {
      const td = el('td');
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? '' : String(c);
      tr.appendChild(td);
    }
    return tr;
  }
  function fill(tbody, rows) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    for (const r of rows) tbody.appendChild(r);
  }
  async function get(url) {
    const r = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    let body = null;
    try { body = await r.json(); } catch (e) { body = { error: 'not JSON' }; }
    if (!r.ok) return { ok: false, status: r.status, error: body && body.error ? body.error : r.statusText };
    return { ok: true, doc: body };
  }
  function t(s) { return s ? Date.parse(s) : null; }
  function short(s) { return s ? s.replace('T', ' ').replace('Z', '') : 'open'; }
  function setError(msg) { const e = document.getElementById('error'); if (e) e.textContent = msg || ''; }
  function stamp() { const u = document.getElementById('updated'); if (u) u.textContent = 'updated ' + new Date().toISOString().substr(11, 8) + ' UTC'; }
  function badge(status) {
    const b = el('span', status || 'n/a', 'badge s-' + (status || 'none'));
    return b;
  }
  function age(sec) {
    if (sec === null || sec === undefined) return 'no data';
    if (sec < 120) return Math.round(sec) + ' s ago';
    if (sec < 7200) return Math.round(sec / 60) + ' min ago';
    return Math.round(sec / 3600) + ' h ago';
  }

  // ---- overview
  async function index() {
    const r = await get('/api/v1/zones');
    if (!r.ok) { setError(r.error); return; }
    setError('');
    const rows = r.doc.zones.map(function (z) {
      const a = el('a', z.zone);
      a.href = '/zones/' + encodeURIComponent(z.zone);
      return row([a, badge(z.status), z.providers.join(' '), z.servers, z.vantages,
        z.glitches_open, z.glitches, z.findings_open, age(z.data_age)]);
    });
    fill(document.querySelector('#zones tbody'), rows);
    const list = document.getElementById('zone-list');
    if (list) list.style.display = 'none';
    stamp();
  }

  // ---- zone page
  const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#393b79'];
  const outcomeColor = { secure: '#2a7', insecure: '#aaa', bogus: '#c22', lost: '#222' };
  let deadline = null, generation = -1;

  function versionColor(id) { return id === null ? '#ddd' : palette[id % palette.length]; }
  function versionText(v) {
    if (!v) return 'no RRset';
    const items = v.items.join(', ');
    return 'v' + v.id + ' ' + v.owner + ' type ' + v.type + ': ' + items + (v.signers.length ? ' (signed by ' + v.signers.join(', ') + ')' : '') + (v.ttl_max !== null ? ' TTL ' + v.ttl_max : '');
  }

  function drawTimeline(doc, glitches) {
    const box = document.getElementById('timeline');
    while (box.firstChild) box.removeChild(box.firstChild);
    // from the first data inside the span (a young database fills the width)
    let first = null;
    for (const s of doc.servers) for (const r of s.rows) for (const u of r.runs) { const f = t(u.first_seen); if (first === null || f < first) first = f; }
    for (const v of doc.vantages) {
      for (const r of v.rows) for (const u of r.runs) { const f = t(u.first_seen); if (first === null || f < first) first = f; }
      for (const o of v.outcomes) { const f = t(o.lo); if (first === null || f < first) first = f; }
    }
    const hi = t(doc.hi), lo = first !== null && first > t(doc.lo) && first < hi ? first : t(doc.lo);
    const W = Math.max(box.clientWidth || 900, 600), left = 230, right = 10;
    const x = function (ms) { return left + (Math.min(Math.max(ms, lo), hi) - lo) / (hi - lo) * (W - left - right); };
    const lines = [];
    for (const s of doc.servers) for (const r of s.rows)
      lines.push({ label: s.kind + ' ' + s.name + ' ' + s.address + ' ' + r.role, runs: r.runs });
    for (const v of doc.vantages) {
      const name = v.collector + '/' + v.name;
      for (const r of v.rows) lines.push({ label: name + ' cached ' + r.role, runs: r.runs, vantage: name });
      const byRole = {};
      for (const o of v.outcomes) (byRole[o.role + ' ' + o.qname + '/' + o.qtype] = byRole[o.role + ' ' + o.qname + '/' + o.qtype] || []).push(o);
      for (const k in byRole) lines.push({ label: name + ' ' + k, outcomes: byRole[k], vantage: name });
    }
    const H = 14, top = 20, height = top + lines.length * (H + 3) + 10;
    const g = svg('svg', { width: W, height: height, id: 'timeline-svg', role: 'img' });
    g.appendChild(svg('rect', { x: 0, y: 0, width: W, height: height, fill: '#fff' }));
    for (let i = 0; i <= 4; i++) {
      const ms = lo + (hi - lo) * i / 4, xx = x(ms);
      g.appendChild(svg('line', { x1: xx, x2: xx, y1: top - 4, y2: height, stroke: '#eee' }));
      const tx = svg('text', { x: Math.min(xx, W - 60), y: 12, fill: '#667' });
      tx.textContent = new Date(ms).toISOString().substr(11, 8);
      g.appendChild(tx);
    }
    lines.forEach(function (l, i) {
      const y = top + i * (H + 3);
      const lab = svg('text', { x: 2, y: y + H - 3, fill: '#333' });
      lab.textContent = l.label.length > 38 ? l.label.substr(0, 37) + '…' : l.label;
      g.appendChild(lab);
      if (l.runs) for (const r of l.runs) {
        const a = x(t(r.first_seen)), b = x(r.hi ? t(r.hi) : Math.max(t(r.last_seen), hi));
        const rect = svg('rect', { x: a, y: y, width: Math.max(b - a, 1), height: H, fill: versionColor(r.version), class: 'run' });
        const tip = svg('title', {});
        tip.textContent = versionText(r.version === null ? null : doc.versions[String(r.version)]) + '\n' + short(r.first_seen) + ' .. ' + short(r.hi);
        rect.appendChild(tip);
        g.appendChild(rect);
      }
      if (l.outcomes) for (const o of l.outcomes) {
        const a = x(t(o.lo)), b = x(o.hi ? t(o.hi) : t(o.last));
        const rect = svg('rect', { x: a, y: y + 2, width: Math.max(b - a, 1), height: H - 4, fill: outcomeColor[o.outcome] || '#ddd', class: 'outcome' });
        const tip = svg('title', {});
        tip.textContent = (o.outcome || 'pending') + ' ' + short(o.lo) + ' .. ' + short(o.hi);
        rect.appendChild(tip);
        g.appendChild(rect);
      }
      if (l.vantage && glitches) for (const gl of glitches) {
        if (gl.vantage !== l.vantage || gl.excluded) continue;
        const a = x(t(gl.first_bad)), b = x(gl.hi ? t(gl.hi) : hi);
        g.appendChild(svg('rect', { x: a, y: y - 1, width: Math.max(b - a, 2), height: H + 2, fill: 'rgba(220,0,0,0.18)', stroke: '#c22', 'stroke-width': 0.5, class: 'glitch' }));
      }
    });
    box.appendChild(g);
    const vs = document.getElementById('versions');
    while (vs.firstChild) vs.removeChild(vs.firstChild);
    for (const k in doc.versions) {
      const v = doc.versions[k];
      const d = el('div', null, 'v-item');
      const sw = el('span', '■ ');
      sw.style.color = versionColor(v.id);
      d.appendChild(sw);
      d.appendChild(document.createTextNode(versionText(v)));
      vs.appendChild(d);
    }
    document.getElementById('timeline-legend').textContent = 'Colours: one per RRset version (hover for keys); outcomes: green secure, grey insecure, red bogus, black lost; red boxes: observed glitch windows. ' + short(new Date(lo).toISOString()) + ' .. ' + short(doc.hi) + (doc.truncated ? ' (truncated)' : '');
  }

  function tick() {
    const c = document.getElementById('countdown');
    if (!c) return;
    if (deadline === null) { c.textContent = ''; return; }
    const s = Math.ceil((deadline - Date.now()) / 1000);
    c.textContent = s > 0 ? 'earliest safe next step in ' + s + ' s (' + new Date(deadline).toISOString() + ')' : 'the next step is safe as far as the open windows go';
  }

  // ---- the next step (whatif): the operator's step and token stay in this page (never in the URL
  // or in storage); asked again at every refresh and when a wait is over
  const wi = { step: null, token: null, doc: null, error: null, busy: false, got: 0, again: false };
  function zoneBase() { return '/api/v1/zones/' + encodeURIComponent(document.body.dataset.zone); }
  function remaining() { // seconds to earliest_safe, by the server's clock at the time it answered
    if (!wi.doc || !wi.doc.earliest_safe) return null;
    return (t(wi.doc.earliest_safe) - t(wi.doc.at) - (Date.now() - wi.got)) / 1000;
  }
  function drawWhatif() {
    const v = document.getElementById('whatif-verdict');
    if (!v) return;
    const c = document.getElementById('whatif-countdown'), d = document.getElementById('whatif-detail');
    const res = document.getElementById('whatif-result');
    const bl = document.getElementById('whatif-blocking');
    if (!wi.step) {
      v.textContent = 'no step'; v.className = 'badge s-none'; c.textContent = ''; d.textContent = '';
      fill(bl, []); res.dataset.verdict = ''; res.dataset.earliestSafe = ''; return;
    }
    if (wi.error || !wi.doc) {
      v.textContent = wi.error ? 'error' : (wi.token ? 'asking' : 'no token');
      v.className = 'badge s-none';
      c.textContent = wi.error ? wi.error : (wi.token ? '' : 'enter the bearer token to ask about: ' + wi.step);
      d.textContent = ''; fill(bl, []); res.dataset.verdict = ''; res.dataset.earliestSafe = ''; return;
    }
    const doc = wi.doc, verdict = doc.verdict;
    v.textContent = verdict;
    v.className = 'badge v-' + verdict;
    res.dataset.verdict = verdict;
    res.dataset.earliestSafe = doc.earliest_safe || '';
    const left = remaining();
    if (verdict === 'wait' && left !== null) {
      const n = Math.max(0, Math.ceil(left));
      c.textContent = n > 0 ? 'go in ' + n + ' s (earliest safe ' + short(doc.earliest_safe) + ' UTC)' : 'the wait is over: asking again';
      res.dataset.remaining = String(n);
      if (n === 0 && !wi.again) { wi.again = true; askWhatif(); }
    } else {
      res.dataset.remaining = '';
      c.textContent = verdict === 'go' ? 'safe now' : verdict === 'stop' ? 'not made safe by waiting: a prerequisite step is missing' : verdict === 'unknown' ? 'data missing or stale: no answer' : '';
    }
    d.textContent = 'step: ' + wi.step + ' · asked at ' + short(doc.at) + ' · earliest safe (M1) ' + short(doc.earliest_safe) + ' · M2 ' + short(doc.earliest_safe_m2) + ' · policy ' + short(doc.policy_earliest) + ' · zone ' + (doc.status || 'n/a');
    const blocking = doc.blocking || [], MAXB = 6;
    const items = blocking.slice(0, MAXB).map(function (b) {
      return el('li', [b.severity, b.id, b.tier, b.origin, b.reason, b.until ? 'until ' + short(b.until) : ''].filter(Boolean).join(' '));
    });
    if (blocking.length > MAXB) items.push(el('li', 'and ' + (blocking.length - MAXB) + ' more (the whatif document has them all)', 'muted'));
    fill(bl, items);
  }
  async function askWhatif() {
    if (!wi.step || !wi.token || wi.busy) return;
    wi.busy = true;
    const step = wi.step;
    try {
      const r = await fetch(zoneBase() + '/whatif', {
        method: 'POST', cache: 'no-store', body: JSON.stringify({ step: step }),
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: 'Bearer ' + wi.token }
      });
      let body = null;
      try { body = await r.json(); } catch (e) { body = { error: 'not JSON' }; }
      if (step !== wi.step) return; // the operator changed the step meanwhile
      if (!r.ok) {
        wi.doc = null;
        wi.error = 'whatif: ' + r.status + ' ' + (body && body.error ? body.error : r.statusText);
        if (r.status === 401 || r.status === 403) wi.token = null; // ask for it again
      } else {
        wi.doc = body; wi.error = null; wi.got = Date.now(); wi.again = false;
      }
    } catch (e) {
      wi.error = 'whatif: ' + String(e);
    } finally {
      wi.busy = false;
      drawWhatif();
    }
  }
  function setupWhatif() {
    const f = document.getElementById('whatif-form');
    if (!f) return;
    const stepIn = document.getElementById('whatif-step'), tokIn = document.getElementById('whatif-token');
    const q = new URLSearchParams(window.location.search).get('step');
    if (q) { stepIn.value = q; wi.step = q.trim() || null; }
    f.addEventListener('submit', function (ev) {
      ev.preventDefault();
      wi.step = stepIn.value.trim() || null;
      if (tokIn.value) wi.token = tokIn.value;
      tokIn.value = '';
      wi.doc = null; wi.error = null; wi.again = false;
      const u = new URL(window.location.href);
      if (wi.step) u.searchParams.set('step', wi.step); else u.searchParams.delete('step');
      window.history.replaceState(null, '', u.pathname + u.search);
      drawWhatif();
      askWhatif();
    });
    document.getElementById('whatif-clear').addEventListener('click', function () {
      wi.step = null; wi.doc = null; wi.error = null; stepIn.value = '';
      window.history.replaceState(null, '', window.location.pathname);
      drawWhatif();
    });
    drawWhatif();
  }

  async function zone() {
    const z = document.body.dataset.zone;
    const base = zoneBase();
    askWhatif();
    const [sum, st, tl, gl, fi, sv] = await Promise.all([get(base), get(base + '/status'), get(base + '/timeline'), get(base + '/glitches'), get(base + '/findings'), get(base + '/servers')]);
    if (!sum.ok) { setError(sum.error); return; }
    setError('');
    const s = sum.doc;
    const sb = document.getElementById('status');
    if (st.ok) {
      sb.textContent = st.doc.status;
      sb.className = 'badge s-' + st.doc.status;
      document.getElementById('status-detail').textContent = (st.doc.reasons || []).map(function (r) { return typeof r === 'string' ? r : JSON.stringify(r); }).join('; ');
      let until = null;
      for (const g of st.doc.glitches || []) { const u = t(g.until || g.hi); if (u && (until === null || u > until)) until = u; }
      if (st.doc.earliest_safe) until = t(st.doc.earliest_safe);
      deadline = until;
    } else {
      sb.textContent = 'n/a';
      sb.className = 'badge s-none';
      document.getElementById('status-detail').textContent = 'status unavailable: ' + st.error;
      deadline = null;
    }
    tick();
    document.getElementById('summary').textContent = 'providers ' + s.providers.join(', ') + ' · ' + s.servers + ' servers · ' + s.vantages + ' vantages · last data ' + age(s.data_age) + ' · ' + s.glitches_open + ' open glitches · ' + s.findings_open + ' open findings';
    if (tl.ok) drawTimeline(tl.doc, gl.ok ? gl.doc.glitches : []);
    if (gl.ok) fill(document.querySelector('#glitches tbody'), gl.doc.glitches.filter(function (g) { return !g.excluded; }).map(function (g) {
      return row([g.vantage, g.kind, g.qname + '/' + g.qtype, short(g.first_bad), short(g.hi), g.duration === null ? 'open' : g.duration.toFixed(1), g.polls]);
    }));
    if (fi.ok) fill(document.querySelector('#findings tbody'), fi.doc.findings.map(function (f) {
      return row([f.severity, f.id, short(f.lo), short(f.hi), [f.provider, f.server, f.vantage].filter(Boolean).join(' '), f.message]);
    }));
    if (sv.ok) fill(document.querySelector('#servers tbody'), sv.doc.servers.concat(sv.doc.vantages).map(function (e) {
      const w = e.window;
      return row([e.kind, e.provider || e.resolver, e.host, e.address, e.collector, w.polls, w.answered, w.timeouts, w.rtt_ms_avg === null ? '' : w.rtt_ms_avg.toFixed(2),
        w.secure === undefined ? '' : w.secure + ' secure, ' + w.insecure + ' insecure, ' + w.bogus + ' bogus, ' + w.lost + ' lost']);
    }));
    if (s.generation !== generation) {
      generation = s.generation;
      for (const img of document.querySelectorAll('#graphs img'))
        img.src = base + '/graphs/' + img.dataset.graph + '.png?g=' + generation;
    }
    stamp();
  }

  function loop(fn) {
    const run = function () { fn().catch(function (e) { setError(String(e)); }).finally(function () { setTimeout(run, REFRESH_MS); }); };
    run();
  }
  document.addEventListener('DOMContentLoaded', function () {
    if (document.body.dataset.page === 'index') loop(index);
    if (document.body.dataset.page === 'zone') {
      setupWhatif();
      loop(zone);
      setInterval(function () { tick(); drawWhatif(); }, 1000);
    }
  });
})();
