// SPDX-License-Identifier: MIT
// The obs-web dashboard in headless Chromium (driven by tests/browser/t_dashboard.sh while a
// testbed scenario runs): opens the zone page with ?step=, enters the bearer token in the
// whatif form, then samples what the page shows (status badge, whatif verdict, countdown)
// every 250 ms until the driver says the scenario is over and the page shows ok and go again.
// Prints PASS/FAIL lines for what only the browser can tell (page errors and CSP violations,
// the step taken from the URL, the token kept out of the URL, the timeline and graphs drawn),
// saves screenshots and writes the samples to $E2E_OUT/trace.json for the driver's checks.
// Env: E2E_URL (the zone page), E2E_STEP, E2E_TOKEN_FILE, E2E_OUT (directory), E2E_READY (file
// written once the page shows status ok, or after E2E_READY_MAX_S), E2E_DONE (file the driver
// writes when the scenario ended), E2E_AFTER_MAX_S (how long to wait for ok and go after it).
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const env = (k, d) => process.env[k] ?? d;
const URL_ZONE = env('E2E_URL');
const STEP = env('E2E_STEP');
const OUT = env('E2E_OUT');
const READY = env('E2E_READY');
const DONE = env('E2E_DONE');
const READY_MAX_MS = Number(env('E2E_READY_MAX_S', '60')) * 1000;
const AFTER_MAX_MS = Number(env('E2E_AFTER_MAX_S', '45')) * 1000;
const TOTAL_MAX_MS = Number(env('E2E_TOTAL_MAX_S', '240')) * 1000;
const token = readFileSync(env('E2E_TOKEN_FILE'), 'utf8').trim();

const pass = (name) => console.log(`PASS ${name}`);
const fail = (name, why) => console.log(`FAIL ${name}: ${String(why).replace(/\s+/g, ' ').slice(0, 300)}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const t0 = Date.now();
const problems = []; // page errors, console errors (CSP violations are console errors)
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run'],
});
let exitCode = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
  let graphs404 = 0, whatif4xx = 0; // a graph asked for before its RRD holds data is a documented 404
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const u = m.location().url || '';
    if (/\/graphs\/[a-z]+\.png/.test(u) && /status of 404/.test(m.text())) { graphs404++; return; }
    if (/\/whatif$/.test(u) && /status of 4[0-9][0-9]/.test(m.text())) { whatif4xx++; return; } // shown in the page
    problems.push('console: ' + m.text() + ' ' + (m.location().url || ''));
  });
  const foreign = [];
  page.on('request', (r) => { if (!r.url().startsWith(new URL(URL_ZONE).origin)) foreign.push(r.url()); });
  console.error(`browser ${browser.version()} up in ${Date.now() - t0} ms`);

  const url = URL_ZONE + '?step=' + encodeURIComponent(STEP);
  const resp = await page.goto(url, { waitUntil: 'domcontentloaded' });
  if (resp && resp.status() === 200) pass('zone page loads'); else fail('zone page loads', resp ? resp.status() : 'no response');
  try {
    await page.waitForFunction(() => document.getElementById('status').textContent !== 'loading', null, { timeout: 20000 });
    pass('status badge filled by the API');
  } catch (e) { fail('status badge filled by the API', e.message); }
  const stepShown = await page.inputValue('#whatif-step');
  if (stepShown === STEP) pass('step taken from ?step='); else fail('step taken from ?step=', `field shows '${stepShown}'`);
  const before = await page.textContent('#whatif-verdict');
  if (before === 'no token') pass('whatif waits for the token'); else fail('whatif waits for the token', `verdict badge '${before}'`);
  await page.fill('#whatif-token', token);
  await page.click('#whatif-go');
  // before the key is published the API refuses the step (a key never observed): the page
  // shows that answer and keeps asking
  let firstError = null;
  try {
    await page.waitForFunction(() => !['asking', 'no token'].includes(document.getElementById('whatif-verdict').textContent), null, { timeout: 15000 });
    const v = await page.textContent('#whatif-verdict');
    if (v === 'error') firstError = await page.textContent('#whatif-countdown');
    pass(`whatif answered in the page (${v}${firstError ? ': ' + firstError.slice(0, 80) : ''})`);
  } catch (e) { fail('whatif answered in the page', await page.textContent('#whatif-countdown')); }
  if (!page.url().includes(token) && (await page.inputValue('#whatif-token')) === '') pass('token kept out of the URL and the field');
  else fail('token kept out of the URL and the field', 'token visible');

  // sample until the driver says the scenario ended and the page shows ok and go again
  const samples = [];
  let readyAt = null, doneAt = null, shotViolation = false, last = '';
  for (;;) {
    const s = await page.evaluate(() => {
      const r = document.getElementById('whatif-result');
      return {
        status: document.getElementById('status').textContent,
        verdict: r.dataset.verdict || null,
        remaining: r.dataset.remaining ? Number(r.dataset.remaining) : null,
        earliest_safe: r.dataset.earliestSafe || null,
        countdown: document.getElementById('whatif-countdown').textContent,
      };
    });
    s.t = Date.now() / 1000;
    samples.push(s);
    const key = `${s.status} ${s.verdict} ${s.remaining}`;
    if (key !== last) { console.error(`  ${new Date().toISOString().substr(11, 12)} status ${s.status}, whatif ${s.verdict} ${s.countdown}`); last = key; }
    const now = Date.now();
    if (readyAt === null && (s.status === 'ok' || now - t0 > READY_MAX_MS)) {
      readyAt = now;
      writeFileSync(READY, s.status === 'ok' ? 'ok\n' : 'timeout\n');
    }
    if (readyAt !== null && !shotViolation && (s.status === 'broken' || s.status === 'degraded') && s.verdict === 'wait') {
      shotViolation = true;
      await page.screenshot({ path: `${OUT}/dashboard-violation.png` }); // the top: status, step, timeline
    }
    if (doneAt === null && existsSync(DONE)) doneAt = now;
    if (doneAt !== null && ((s.status === 'ok' && s.verdict === 'go') || now - doneAt > AFTER_MAX_MS)) break;
    if (now - t0 > TOTAL_MAX_MS) { fail('sampling', 'the driver never ended the scenario'); break; }
    await sleep(250);
  }

  // the timeline and the graphs as drawn by the browser
  const drawn = await page.evaluate(() => ({
    runs: document.querySelectorAll('#timeline-svg rect.run').length,
    outcomes: document.querySelectorAll('#timeline-svg rect.outcome').length,
    glitches: document.querySelectorAll('#timeline-svg rect.glitch').length,
    versions: document.querySelectorAll('#versions .v-item').length,
    graphs: Array.from(document.querySelectorAll('#graphs img')).map((i) => ({
      graph: i.dataset.graph, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight })),
  }));
  if (drawn.runs > 0 && drawn.outcomes > 0 && drawn.versions >= 2) pass(`timeline drawn (${drawn.runs} runs, ${drawn.outcomes} outcome stretches, ${drawn.glitches} glitch windows, ${drawn.versions} versions)`);
  else fail('timeline drawn', JSON.stringify(drawn));
  for (const g of drawn.graphs) {
    if (g.complete && g.width > 100 && g.height > 50) pass(`graph ${g.graph} rendered (${g.width}x${g.height})`);
    else fail(`graph ${g.graph} rendered`, JSON.stringify(g));
  }
  await page.screenshot({ path: `${OUT}/dashboard.png`, fullPage: true });
  if (existsSync(`${OUT}/dashboard.png`)) pass(`screenshot ${OUT}/dashboard.png`); else fail('screenshot', 'not written');
  if (graphs404) console.error(`${graphs404} graph requests before the graph had data (404)`);
  if (whatif4xx) console.error(`${whatif4xx} whatif answers 4xx (shown in the page: ${JSON.stringify(firstError)})`);
  if (problems.length === 0) pass('no page errors or CSP violations'); else fail('no page errors or CSP violations', problems.slice(0, 3).join(' | '));
  if (foreign.length === 0) pass('nothing loaded from elsewhere'); else fail('nothing loaded from elsewhere', foreign.slice(0, 3).join(' '));
  writeFileSync(`${OUT}/trace.json`, JSON.stringify({ step: STEP, ready: readyAt / 1000, done: doneAt === null ? null : doneAt / 1000, drawn, problems, samples }, null, 1));
} catch (e) {
  fail('browser session', e.stack || e.message);
  exitCode = 1;
} finally {
  await browser.close();
}
process.exit(exitCode);
