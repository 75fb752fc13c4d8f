// The defects a new user hit in the web application, one test each (named
// "defect N: ..." after the list they came from), and the run-dashboard
// features: chart controls. One `fedc server` with three `fedc node`s on
// loopback, one chromium, a few short runs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, startNode, Fleet, OUT_DIR, waitFor } from '../lib/fedc.mjs';
import { PageKit } from '../lib/page.mjs';
import { launch, watchPage, DESKTOP, PHONE } from '../lib/browser.mjs';

const NODES = 3;
const DOWNLOADS = path.join(OUT_DIR, 'downloads-dashboard');

let server;
let browser;
let page;
const fleet = new Fleet();
const problems = [];
const responses = []; // every response the page got: [status, url]
const consoleAll = [];
const state = {};
const kit = new PageKit({ failurePrefix: 'dashboard-failure', downloads: DOWNLOADS });

function field(label) {
  return page.getByLabel(label, { exact: true });
}

async function waitRunDone(id, timeoutMs = 240000) {
  return waitFor(`run ${id} to end`, async () => {
    const r = await server.api.ok('GET', `/api/runs/${id}`);
    if (['failed', 'cancelled'].includes(r.status)) throw new Error(`run ${id} ended ${r.status}: ${r.error}`);
    return r.status === 'done' ? r : null;
  }, { timeoutMs });
}

// WCAG relative luminance and contrast of two CSS rgb() colours.
function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

describe('web application: defects and dashboard features', { timeout: 600000 }, () => {
  before(async () => {
    server = await startServer({ name: 'dashboard-server' });
    fleet.add(server.proc);
    for (let k = 0; k < NODES; k++) {
      const enrol = await server.api.ok('POST', '/api/nodes', { name: `node-${k + 1}` });
      fleet.add(startNode(enrol, { k, n: NODES }));
    }
    browser = await launch({ viewport: DESKTOP, downloadsPath: DOWNLOADS });
    page = browser.context.pages()[0] || await browser.context.newPage()
    kit.page = page;
    watchPage(page, problems);
    page.on('response', (r) => responses.push([r.status(), r.url()]));
    page.on('console', (m) => consoleAll.push(`${m.type()}: ${m.text()}`));
    page.on('dialog', (d) => d.accept());
    // A signed-out load (checked by the defect 10 test), then sign in.
    await page.goto(`${server.base}/#/runs`);
    await page.getByLabel('Admin token').waitFor();
    await page.waitForLoadState('networkidle');
    state.signedOut = { failed: responses.filter(([st]) => st >= 400), console: consoleAll.filter((m) => /401|error/i.test(m)) };
    await page.getByLabel('Admin token').fill(server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    await page.locator('#feed-state[data-state="live"]').waitFor();
  });

  after(async () => {
    if (browser) await browser.close();
    await fleet.stopAll();
    if (kit.failed) console.log(`---- process logs\n${fleet.logs()}`);
    if (server) fs.rmSync(server.state, { recursive: true, force: true });
  });

  it('defect 10: a signed-out load asks for nothing that fails', kit.check(async () => {
    assert.deepEqual(state.signedOut.failed, [], 'no request of a signed-out page fails');
    assert.deepEqual(state.signedOut.console, [], 'nothing in the console');
  }));

  it('defect 11: the header sends the page\'s strict policy; assets come compressed and hashed', kit.check(async () => {
    const res = await fetch(`${server.base}/`, { headers: { 'Accept-Encoding': 'br, gzip' } });
    const html = await res.text();
    const csp = res.headers.get('content-security-policy');
    const meta = html.match(/http-equiv="Content-Security-Policy"\s+content="([^"]+)"/)[1];
    assert.equal(csp, `${meta}; frame-ancestors 'none'`);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.match(csp, /style-src 'self';/);
    // Every module is named in the import map and preloaded at once.
    const map = JSON.parse(html.match(/<script type="importmap">(.*?)<\/script>/)[1]).imports;
    const hashed = Object.values(map);
    assert.ok(hashed.length >= 20, `${hashed.length} modules in the import map`);
    for (const url of hashed) assert.ok(html.includes(`<link rel="modulepreload" href="${url}">`), `${url} is preloaded`);
    const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+\.[0-9a-f]{12}\.[a-z]+)"/g)].map((m) => m[1]);
    for (const url of [...new Set([...assets, ...hashed])]) {
      const r = await fetch(server.base + url, { headers: { 'Accept-Encoding': 'br, gzip' } });
      assert.equal(r.status, 200, url);
      assert.match(r.headers.get('cache-control'), /max-age=31536000, immutable/, url);
      if (!url.endsWith('.svg')) assert.equal(r.headers.get('content-encoding'), 'br', url);
      await r.arrayBuffer();
    }
    const gz = await fetch(`${server.base}/vendor/chart.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.match(await gz.text(), /Chart\.js v3/);
    // What the browser fetched for this page: every script compressed.
    const js = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => /\.js$/.test(new URL(e.name).pathname)).map((e) => ({ url: e.name, encoded: e.encodedBodySize, decoded: e.decodedBodySize })));
    const encoded = js.reduce((n, e) => n + e.encoded, 0);
    const decoded = js.reduce((n, e) => n + e.decoded, 0);
    console.log(`scripts of the first page: ${js.length} files, ${decoded} bytes, ${encoded} bytes on the wire`);
    assert.ok(encoded < decoded / 3, `scripts are compressed (${encoded} of ${decoded} bytes)`);
  }));

  it('defect 1: a request that sets nothing changes nothing and says so', kit.check(async () => {
    await page.goto(`${server.base}/#/new`);
    await page.locator('#task-status[data-state="valid"]').waitFor();
    await field('Rounds').fill('7');
    await field('Run name').fill('keep-me');
    await page.getByLabel('What should be trained?').fill('purple monkey dishwasher');
    await page.getByRole('button', { name: 'Fill the form' }).click();
    await page.locator('#intent-question[data-status="nothing"]', { hasText: 'The form was not changed' }).waitFor();
    assert.equal(await field('Rounds').inputValue(), '7');
    assert.equal(await field('Run name').inputValue(), 'keep-me');
    assert.doesNotMatch(await page.locator('#intent-status').innerText(), /Done/);
    assert.equal(await page.locator('#intent-status').getAttribute('data-state'), 'invalid');
  }));

  it('defect 6: the prompt names the run after its task; a long model spec fits its box', kit.check(async () => {
    await page.getByLabel('What should be trained?').fill('train a CNN on fashion-mnist over 6 clients, 3 rounds');
    await page.getByRole('button', { name: 'Fill the form' }).click();
    await page.locator('#intent-filled').waitFor();
    assert.equal(await field('Model').inputValue(), 'cnn');
    assert.equal(await field('Run name').inputValue(), 'fmnist-cnn');
    await field('Model').fill('conv:32:5,pool:2,conv:64:5,pool:2,dense:512,dense:10');
    const fits = await field('Model').evaluate((el) => el.scrollWidth <= el.clientWidth);
    assert.ok(fits, 'the whole spec is visible in the Model box');
  }));

  it('defect 10: the focus ring has 3:1 contrast and Load JSON shows it', kit.check(async () => {
    await page.getByRole('button', { name: 'Reset to defaults' }).focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineColor);
    assert.ok(contrast(ring, 'rgb(255, 255, 255)') >= 3, `focus ring ${ring} against white: ${contrast(ring, 'rgb(255, 255, 255)').toFixed(2)}:1`);
    assert.ok(contrast(ring, 'rgb(17, 24, 39)') >= 3, `focus ring ${ring} against the top bar`);
    // Tab onto the (visually hidden) file input: its label shows the ring.
    await page.getByRole('heading', { name: 'New task', level: 1 }).focus();
    for (let i = 0; i < 10 && await page.evaluate(() => document.activeElement.id) !== 'task-load'; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'task-load');
    const label = await page.locator('label[for="task-load"]').evaluate((el) => {
      const cs = getComputedStyle(el);
      return { style: cs.outlineStyle, width: cs.outlineWidth };
    });
    assert.equal(label.style, 'solid');
    assert.equal(label.width, '3px');
  }));

  it('defect 2: a run launched from the form trains on every idle node from round 1', kit.check(async () => {
    await page.goto(`${server.base}/#/new`);
    await page.getByRole('button', { name: 'Reset to defaults' }).click();
    await field('Run name').fill('from-the-form');
    await field('Rounds').fill('2');
    await field('Max local steps').fill('5');
    // The nodes load their data for each run: slow on a busy machine.
    await field('Connect timeout (s)').fill('600');
    await page.locator('#task-status[data-state="valid"]').waitFor();
    await page.getByRole('button', { name: 'Launch run' }).click();
    await page.waitForURL(/#\/runs\/\d+$/);
    state.formRun = Number(page.url().match(/#\/runs\/(\d+)$/)[1]);
    await waitRunDone(state.formRun);
    const { rounds } = await server.api.ok('GET', `/api/runs/${state.formRun}/rounds`);
    assert.deepEqual(rounds.map((r) => r.participants), [NODES, NODES], 'every round aggregates the three idle nodes');
    // The form explains that min_nodes is a floor, not the round's size.
    await page.goto(`${server.base}/#/new`);
    const help = await page.locator('[data-path="deploy.min_nodes"] .help').textContent();
    assert.match(help, /clients_per_round of the nodes connected/);
  }));

  it('defect 3: a newly enrolled node shows zeros and gets its own data share', kit.check(async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Nodes', exact: true }).click();
    await page.getByRole('heading', { name: 'Nodes', level: 1 }).waitFor();
    // A long (allowed) name: the table must still fit (defect 7).
    await page.getByLabel('Node name (optional)').fill('lab-raspberry-pi-4-kitchen');
    await page.getByRole('button', { name: 'Enrol node' }).click();
    const command = (await page.locator('#enrol-command').innerText()).trim();
    assert.match(command, /partition=3\/10/, 'node 4 is given share 3 of 10, not node 1\'s');
    const row = page.locator('#nodes-table tbody tr', { hasText: 'lab-raspberry-pi-4-kitchen' });
    await row.waitFor();
    assert.doesNotMatch(await row.innerText(), /undefined|NaN/);
    assert.match(await row.innerText(), /0 \/ 0 \/ 0/);
  }));

  it('defect 7: the Nodes table fits 1280 px', kit.check(async () => {
    await waitFor('3 nodes online', async () => (await page.locator('#nodes-table .badge-online').count()) === NODES);
    const over = await page.locator('#nodes-table').evaluate((t) => t.parentElement.scrollWidth - t.parentElement.clientWidth);
    assert.ok(over <= 0, `the table is ${over}px wider than its box`);
    await kit.shot('nodes-defects');
  }));

  it('defect 5: a long run pages its table and adds to its charts', kit.check(async () => {
    const long = await server.api.ok('POST', '/api/runs', {
      name: 'thirty-rounds', rounds: 30, clients: NODES, clients_per_round: NODES, eval_every: 5,
      local: { max_steps: 1 }, partition: { kind: 'dirichlet' }, deploy: { min_nodes: NODES, connect_timeout_s: 600 },
    });
    state.longRun = long.id;
    await page.goto(`${server.base}/#/runs/${long.id}`);
    await page.locator(`#run-page[data-run="${long.id}"]`).waitFor();
    await waitRunDone(long.id);
    await page.locator('#run-page[data-status="done"]').waitFor();
    assert.equal(await page.locator('#rounds-table tbody tr').count(), 25);
    assert.equal((await page.locator('#rounds-pager').innerText()).replace(/\s+/g, ' ').trim(), 'Newer Rounds 30–6 of 30 Older');
    await page.locator('#rounds-pager').getByRole('button', { name: 'Older' }).click();
    assert.equal(await page.locator('#rounds-table tbody tr').count(), 5);
    assert.equal(await page.locator('#rounds-table tbody tr').first().locator('th').innerText(), '5');
    // Rounds that arrived while the page was open were appended, not redrawn.
    const appended = Number(await page.locator('#chart-bytes').getAttribute('data-appended'));
    assert.ok(appended >= 1, `the bytes chart was appended to ${appended} times`);
  }));

  it('defect 12: legends draw lines (dashed for a dashed series); up stays visible over down', kit.check(async () => {
    const info = await page.evaluate(() => {
      const chart = (id) => window.Chart.getChart(document.querySelector(`#${id} canvas`));
      const loss = chart('chart-loss');
      const bytes = chart('chart-bytes');
      return {
        items: loss.legend.legendItems.map((i) => ({ text: i.text, pointStyle: i.pointStyle, dash: i.lineDash })),
        bytes: bytes.data.datasets.map((d) => ({ label: d.label, order: d.order, width: d.borderWidth, dash: d.borderDash })),
      };
    });
    for (const item of info.items) assert.equal(item.pointStyle, 'line', `${item.text} is drawn as a line`);
    assert.deepEqual(info.items.find((i) => i.text === 'train loss').dash, [6, 4]);
    const [down, up] = info.bytes;
    assert.ok(up.order < down.order, 'up is drawn after (over) down');
    assert.ok(down.width > up.width && up.dash.length, 'a wide down line under a dashed up line');
  }));

  it('defect 8: Compare marks the settings the nodes do not use', kit.check(async () => {
    await page.goto(`${server.base}/#/compare?runs=${state.formRun},${state.longRun}`);
    const row = page.locator('#compare-diff tbody tr', { hasText: 'partition.kind' });
    await row.waitFor();
    assert.match(await row.innerText(), /simulation only: not used by the nodes/);
    const rounds = page.locator('#compare-diff tbody tr', { hasText: /^rounds/ });
    assert.doesNotMatch(await rounds.innerText(), /simulation only/);
  }));

  it('defect 9: the server prints no libwebsockets noise', kit.check(async () => {
    assert.doesNotMatch(server.proc.log(), /lws/);
  }));

  it('charts: smoothing, log scale, x axis, hide/show, zoom and downloads', kit.check(async () => {
    await page.goto(`${server.base}/#/runs/${state.longRun}`);
    await page.locator('#run-page[data-status="done"]').waitFor();
    const fig = page.locator('#chart-loss');
    const raw = JSON.parse(await fig.getAttribute('data-series'));
    const drawn = () => page.evaluate(() => {
      const c = window.Chart.getChart(document.querySelector('#chart-loss canvas'));
      return { data: c.data.datasets.map((d) => d.data.map((p) => [p.x, p.y])), y: c.scales.y.type,
        visible: c.data.datasets.map((d, i) => c.isDatasetVisible(i)), x: [c.scales.x.min, c.scales.x.max] };
    });
    await fig.getByText('View and download').click();
    await fig.getByLabel('Smoothing').fill('0.6');
    let d = await drawn();
    const train = raw.find((s) => s.label === 'train loss').points;
    assert.equal(d.data[1][0][1], train[0][1], 'the first point is its own average');
    assert.notEqual(d.data[1][5][1], train[5][1], 'later points are smoothed');
    assert.deepEqual(JSON.parse(await fig.getAttribute('data-series')), raw, 'data-series keeps the raw values');
    await fig.getByLabel('Smoothing').fill('0');
    await fig.getByLabel('Log scale').check();
    assert.equal((await drawn()).y, 'logarithmic');
    await fig.getByLabel('Log scale').uncheck();
    await fig.getByLabel('X axis').selectOption('bytes');
    const { rounds } = await server.api.ok('GET', `/api/runs/${state.longRun}/rounds`);
    d = await drawn();
    assert.deepEqual(d.data[1].map((p) => p[0]), rounds.map((r) => r.bytes_down_total + r.bytes_up_total));
    await fig.getByLabel('X axis').selectOption('round');
    await fig.getByRole('checkbox', { name: 'train loss' }).uncheck();
    assert.deepEqual((await drawn()).visible, [true, false]);
    await fig.getByRole('checkbox', { name: 'train loss' }).check();
    const before = (await drawn()).x;
    await fig.getByRole('button', { name: 'Zoom in' }).click();
    const zoomed = (await drawn()).x;
    assert.ok(zoomed[1] - zoomed[0] < (before[1] - before[0]) * 0.6, `zoomed from ${before} to ${zoomed}`);
    await fig.getByRole('button', { name: 'Reset zoom' }).click();
    assert.deepEqual((await drawn()).x, before);
    const png = fs.readFileSync(await kit.download(() => fig.getByRole('button', { name: 'Download Loss per round as PNG' }).click()));
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const svg = fs.readFileSync(await kit.download(() => fig.getByRole('button', { name: 'Download Loss per round as SVG' }).click()), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<polyline class="series"/g) || []).length, 2);
    assert.match(svg, /stroke-dasharray="6 4"/);
    await fig.scrollIntoViewIfNeeded();
    await fig.getByLabel('Smoothing').fill('0.5');
    await kit.shot('run-chart-tools');
  }));

  it('defect 7: on a phone the Launch bar is on screen and opaque', kit.check(async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${server.base}/#/new`);
    await page.locator('#task-status[data-state="valid"]').waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    const bar = await page.locator('.form-footer').evaluate((el) => {
      const r = el.getBoundingClientRect();
      return { top: r.top, bottom: r.bottom, bg: getComputedStyle(el).backgroundColor };
    });
    assert.ok(bar.bottom <= 844 && bar.top >= 0, `the bar is at ${bar.top}..${bar.bottom} of an 844 px screen`);
    assert.match(bar.bg, /^rgb\(/, `opaque background (${bar.bg})`);
    const launch = await page.getByRole('button', { name: 'Launch run' }).boundingBox();
    assert.ok(launch && launch.y + launch.height <= 844, 'Launch is on screen');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `#/new is ${overflow}px wider than the screen`);
    await page.setViewportSize(DESKTOP);
  }));

  it('run event log: kept in the store and shown for the whole run', kit.check(async () => {
    const run = await server.api.ok('POST', '/api/runs', {
      name: 'needs-four', rounds: 1, clients: 4, clients_per_round: 4, local: { max_steps: 1 },
      deploy: { min_nodes: 4, connect_timeout_s: 1 },
    });
    await waitFor('the run to fail', async () => (await server.api.ok('GET', `/api/runs/${run.id}`)).status === 'failed');
    const { events } = await server.api.ok('GET', `/api/runs/${run.id}/events`);
    assert.ok(events.some((e) => e.level === 'error' && /of the 4 nodes needed/.test(e.message)), JSON.stringify(events));
    // Opened after the run ended: the log comes from the store.
    await page.goto(`${server.base}/#/runs/${run.id}`);
    await page.locator('#run-log li.log-error', { hasText: /of the 4 nodes needed/ }).waitFor();
    assert.equal(Number(await page.locator('#run-log').getAttribute('data-count')), events.length);
  }));

  it('node detail page: totals, resources and every round it was picked for', kit.check(async () => {
    await page.goto(`${server.base}/#/nodes`);
    await page.locator('#nodes-table').getByRole('link', { name: 'node-1', exact: true }).click();
    await page.waitForURL(/#\/nodes\/1$/);
    await page.getByRole('heading', { name: /Node node-1/ }).waitFor();
    const node = await server.api.ok('GET', '/api/nodes/1');
    const { participation } = await server.api.ok('GET', '/api/nodes/1/participation');
    assert.equal(participation.length, node.rounds, 'one row per round it was picked for');
    assert.equal(await page.locator('#node-stats [data-key="rounds"]').innerText(), String(node.rounds));
    assert.match(await page.locator('#node-stats [data-key="data"]').innerText(), /fmnist:partition=0\/3/);
    assert.equal(await page.locator('#node-rounds tbody tr').count(), participation.length);
    assert.ok(await page.locator('#node-rounds tbody tr').first().getByRole('link', { name: `#${participation[0].run}` }).count());
    await kit.shot('node');
  }));

  it('runs: tags and notes kept in the store, searched in the runs list', kit.check(async () => {
    await page.goto(`${server.base}/#/runs/${state.longRun}`);
    await page.locator('#run-page[data-status="done"]').waitFor();
    await page.getByLabel('Tags', { exact: true }).fill('baseline, dirichlet');
    await page.getByLabel('Notes', { exact: true }).fill('thirty short rounds on skewed data');
    await page.getByRole('button', { name: 'Save tags and notes' }).click();
    await waitFor('the notes stored', async () => (await server.api.ok('GET', `/api/runs/${state.longRun}`)).tags.length === 2);
    const run = await server.api.ok('GET', `/api/runs/${state.longRun}`);
    assert.deepEqual(run.tags, ['baseline', 'dirichlet']);
    assert.equal(run.notes, 'thirty short rounds on skewed data');
    // Refused with the field named.
    const bad = await server.api.request('POST', `/api/runs/${state.longRun}/notes`, { tags: ['no spaces allowed'] });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /tags\[0\]: allowed/);
    // After a reload the form is filled when the run's JSON arrives, not when the page loads.
    await page.reload();
    await page.locator('#run-page[data-status="done"]').waitFor();
    const tags = page.getByLabel('Tags', { exact: true });
    await waitFor('the stored tags in the form', async () => (await tags.inputValue()) === 'baseline, dirichlet');
    await page.goto(`${server.base}/#/runs`);
    await page.getByLabel('Search', { exact: true }).fill('baseline');
    const rows = page.locator('#runs-table tbody tr');
    await waitFor('the tagged run', async () => (await rows.count()) === 1);
    assert.equal(await rows.first().getAttribute('data-key'), String(state.longRun));
    assert.match(await rows.first().innerText(), /baseline/);
  }));

  it('runs list: search, filters and sortable columns', kit.check(async () => {
    await page.goto(`${server.base}/#/runs`);
    const rows = page.locator('#runs-table tbody tr');
    await rows.nth(2).waitFor();
    const all = await rows.count();
    await page.getByLabel('Search', { exact: true }).fill('thirty');
    await waitFor('one run found', async () => (await rows.count()) === 1);
    assert.match(await rows.first().innerText(), /thirty-rounds/);
    assert.match(page.url(), /q=thirty/);
    await page.getByLabel('Search', { exact: true }).fill('');
    await waitFor('every run again', async () => (await rows.count()) === all);
    const { runs } = await server.api.ok('GET', '/api/runs');
    const best = [...runs].sort((a, b) => (b.best_accuracy ?? -1) - (a.best_accuracy ?? -1) || b.id - a.id);
    await page.locator('#runs-table thead').getByRole('button', { name: /^Best accuracy/ }).click();
    assert.equal(await page.locator('#runs-table thead th[aria-sort="descending"]').innerText(), 'Best accuracy ▼');
    assert.equal(await rows.first().getAttribute('data-key'), String(best[0].id));
    await page.locator('#runs-table thead').getByRole('button', { name: /^Best accuracy/ }).click();
    assert.equal(await rows.last().getAttribute('data-key'), String(best[0].id));
    assert.match(page.url(), /sort=best&dir=asc/);
    await page.getByLabel('Dataset', { exact: true }).selectOption('fashion-mnist');
    assert.equal(await rows.count(), all, 'every run trains fashion-mnist');
    await page.getByLabel('Strategy', { exact: true }).selectOption('fedavg');
    assert.equal(await rows.count(), all);
    await kit.shot('runs-search');
  }));

  it('method figures: refused updates (flagged nodes) per round', kit.check(async () => {
    // A fourth node whose round-1 update is NaN (--poison KIND@ROUND): refused, flagged.
    const enrol = await server.api.ok('POST', '/api/nodes', { name: 'poisoner' });
    const bad = fleet.add(startNode(enrol, { k: 3, n: NODES + 1, extra: ['--poison', 'nan@1'] }));
    await waitFor('the poisoner online', async () => (await server.api.ok('GET', `/api/nodes/${enrol.node.id}`)).status === 'online');
    const run = await server.api.ok('POST', '/api/runs', {
      name: 'with-a-poisoner', rounds: 2, clients: NODES + 1, clients_per_round: NODES + 1, local: { max_steps: 1 },
      deploy: { min_nodes: NODES + 1, min_updates: 1, connect_timeout_s: 600 },
    });
    await waitRunDone(run.id);
    await page.goto(`${server.base}/#/runs/${run.id}`);
    await page.locator('#run-page[data-status="done"]').waitFor();
    const fig = page.locator('#chart-refused');
    await fig.waitFor();
    const refused = JSON.parse(await fig.getAttribute('data-series')).find((s2) => s2.label === 'refused');
    assert.deepEqual(refused.points, [[1, 1], [2, 0]], 'the poisoned update of round 1 refused');
    await page.locator('#run-log li.log-warn', { hasText: 'refused, node flagged' }).first().waitFor();
    await bad.stop();
  }));

  it('per-client accuracy: the distribution of the clients\' own models per round', kit.check(async () => {
    // Ditto with local test splits: every node scores its personal model on its own split.
    const run = await server.api.ok('POST', '/api/runs', {
      name: 'ditto-per-client', rounds: 3, clients: NODES, clients_per_round: NODES, eval_every: 1,
      local: { max_steps: 2 }, strategy: { name: 'ditto', ditto_lambda: 0.1 },
      partition: { test_fraction: 0.2 }, deploy: { min_nodes: NODES, connect_timeout_s: 600 },
    });
    await waitRunDone(run.id);
    const { rounds } = await server.api.ok('GET', `/api/runs/${run.id}/rounds`);
    const scored = rounds.filter((r) => typeof r.client_acc_mean === 'number');
    assert.ok(scored.length >= 2, 'per-client scores on the evaluated rounds');
    await page.goto(`${server.base}/#/runs/${run.id}`);
    await page.locator('#run-page[data-status="done"]').waitFor();
    const fig = page.locator('#chart-client-accuracy');
    await fig.waitFor();
    assert.equal(await fig.isVisible(), true);
    const series = JSON.parse(await fig.getAttribute('data-series'));
    const byLabel = Object.fromEntries(series.map((s2) => [s2.label, s2.points]));
    const want = (key) => rounds.filter((r) => typeof r[key] === 'number').map((r) => [r.round, r[key]]);
    assert.deepEqual(byLabel["clients' models: mean"], want('client_acc_mean'));
    assert.deepEqual(byLabel['10th percentile'], want('client_acc_p10'));
    assert.deepEqual(byLabel['worst client'], want('client_acc_min'));
    assert.deepEqual(byLabel['global model: mean'], want('global_client_acc_mean'));
    for (const r of scored) assert.ok(r.client_acc_min <= r.client_acc_p10 && r.client_acc_p10 <= r.client_acc_mean);
    await fig.scrollIntoViewIfNeeded();
    await kit.shot('run-per-client');
    // A run without local test splits has no such figure.
    await page.goto(`${server.base}/#/runs/${state.longRun}`);
    await page.locator('#run-page[data-status="done"]').waitFor();
    assert.equal(await page.locator('#chart-client-accuracy').isVisible(), false);
  }));

  it('defect 4: "Last seen" of connected nodes stays current', kit.check(async () => {
    await page.clock.install();
    await page.goto(`${server.base}/#/runs/${state.longRun}`);
    await page.reload();
    await page.locator('#run-page[data-status="done"]').waitFor();
    await page.clock.fastForward('02:00');
    await page.clock.runFor(6000);
    const col = (await page.locator('#run-nodes-table thead th').allInnerTexts()).indexOf('Last seen');
    const seen = await page.locator('#run-nodes-table tbody tr').evaluateAll((rows, c) => rows.map((r) => r.children[c].innerText), col);
    assert.equal(seen.length, NODES);
    for (const s of seen) assert.equal(s, 'now (connected)');
  }));

  it('raised no error in the page', () => {
    assert.deepEqual(problems, []);
  });
});
