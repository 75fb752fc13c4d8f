// The web application end to end, as a person uses it: a real `fedc server`
// with real `fedc node` processes training Fashion-MNIST on loopback, driven
// through Debian's chromium. Screenshots of the main pages go to
// $FEDC_BROWSER_OUT/screenshots (and to docs/screenshots with
// FEDC_UPDATE_SCREENSHOTS=1).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, startNode, Fleet, OUT_DIR, arch, readSafetensors, waitFor, splitCommand,
} from '../lib/fedc.mjs';
import { PageKit } from '../lib/page.mjs';
import { launch, watchPage, DESKTOP, PHONE } from '../lib/browser.mjs';

const NODES = 4; // 3 started up front, the 4th enrolled in the browser
const ROUNDS = 3;
const DOWNLOADS = path.join(OUT_DIR, 'downloads');

let server;
let browser;
let page;
const fleet = new Fleet();
const problems = [];
const state = {};
const kit = new PageKit({ failurePrefix: 'failure', downloads: DOWNLOADS });

// Waits for the run page to show a run that ended, without reloading.
async function waitRunEnded(timeout = 240000) {
  const id = page.url().match(/#\/runs\/(\d+)/)[1];
  const runPage = page.locator(`#run-page[data-run="${id}"]`);
  await runPage.and(page.locator('[data-status="done"], [data-status="failed"], [data-status="cancelled"]'))
    .waitFor({ timeout });
  const status = await runPage.getAttribute('data-status');
  if (status !== 'done') {
    const err = await page.locator('.run-error').innerText().catch(() => '');
    throw new Error(`the run ended ${status}: ${err}`);
  }
}

describe('web application', { timeout: 600000 }, () => {
  before(async () => {
    server = await startServer();
    fleet.add(server.proc);
    for (let k = 0; k < NODES - 1; k++) {
      const enrol = await server.api.ok('POST', '/api/nodes', { name: `edge-${k + 1}` });
      fleet.add(startNode(enrol, { k, n: NODES }));
    }
    browser = await launch({ viewport: DESKTOP, downloadsPath: DOWNLOADS });
    page = browser.context.pages()[0] || await browser.context.newPage()
    kit.page = page;
    watchPage(page, problems);
    page.on('dialog', (d) => d.accept());
  });

  after(async () => {
    if (browser) await browser.close();
    await fleet.stopAll();
    if (kit.failed) console.log(`---- process logs\n${fleet.logs()}`);
    if (server) fs.rmSync(server.state, { recursive: true, force: true });
  });

  it('signs in with the admin token', kit.check(async () => {
    await page.goto(`${server.base}/`);
    const token = page.getByLabel('Admin token');
    await token.waitFor();
    await kit.shot('login');
    await token.fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#login-error', { hasText: 'not right' }).waitFor();
    assert.equal(await token.getAttribute('aria-invalid'), 'true');
    await token.fill(server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    await page.locator('#feed-state[data-state="live"]').waitFor();
    // The session cookie is HttpOnly: scripts in the page cannot read it.
    assert.equal(await page.evaluate(() => document.cookie.includes('fedc_session')), false);
    const cookies = await browser.context.cookies(server.base);
    const session = cookies.find((c) => c.name === 'fedc_session');
    assert.ok(session, 'a session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
  }));

  it('enrols a node on the Nodes page and lists the connected ones', kit.check(async () => {
    await kit.nav('Nodes').click();
    await page.getByRole('heading', { name: 'Nodes', level: 1 }).waitFor();
    // The three nodes started from the command line connect and report.
    await waitFor('3 nodes online', async () => (await page.locator('#nodes-table .badge-online').count()) >= NODES - 1);
    await page.getByLabel('Node name (optional)').fill('edge-4');
    await page.getByRole('button', { name: 'Enrol node' }).click();
    const command = (await page.locator('#enrol-command').innerText()).trim();
    assert.match(command, /^fedc node /);
    const args = splitCommand(command);
    const credentialFile = args[args.indexOf('--credential') + 1];
    assert.ok(credentialFile, `the command names the credential file: ${command}`);
    await page.getByText('Show the credential').click();
    const credential = await page.getByLabel(/^Credential/).inputValue();
    assert.match(credential, /-----BEGIN [A-Z ]+-----/);
    state.enrol4 = { node: { name: 'edge-4' }, command, credential, credential_file: credentialFile };
    await page.locator('#nodes-table tbody tr', { hasText: 'edge-4' }).waitFor();
  }));

  it('builds the task form from the schema with a label on every control', kit.check(async () => {
    await kit.nav('New task').click();
    await page.getByRole('heading', { name: 'New task', level: 1 }).waitFor();
    await page.locator('#task-status[data-state="valid"]').waitFor();
    assert.deepEqual(await kit.unlabelledControls(), []);
    // Every field of the schema has its input, with the schema's default.
    const schema = await server.api.ok('GET', '/api/schema');
    for (const [key, s] of Object.entries(schema.properties)) {
      const fields = s.type === 'object' ? Object.entries(s.properties).map(([k, fs2]) => [`${key}.${k}`, fs2]) : [[key, s]];
      for (const [p, fs2] of fields) {
        const input = page.locator(`[name="${p}"]`);
        assert.equal(await input.count(), 1, `an input for ${p}`);
        if (fs2.type !== 'boolean' && !(typeof fs2.default === 'number' && !Number.isSafeInteger(fs2.default) && Number.isInteger(fs2.default))) {
          assert.equal(await input.inputValue(), String(fs2.default), `default of ${p}`);
        }
      }
    }
  }));

  it('lists the data catalog with what the server holds', kit.check(async () => {
    const { datasets } = await server.api.ok('GET', '/api/datasets');
    assert.deepEqual(datasets.map((d) => d.name), ['mnist', 'fashion-mnist', 'emnist-byclass', 'emnist-balanced',
      'emnist-digits', 'femnist', 'cifar10', 'cifar100', 'svhn']);
    const select = page.getByLabel('Dataset', { exact: true });
    for (const d of datasets) {
      const option = select.locator(`option[value="${d.name}"]`);
      await option.filter({ hasText: d.present ? '(present)' : 'absent: fetched on launch' }).waitFor({ state: 'attached' });
      assert.match(await option.textContent(), new RegExp(`^${d.name} — `));
    }
    const note = page.locator('#task-dataset-state');
    const says = (d) => (d.present ? 'on the server' : 'not on the server yet');
    const fm = datasets.find((d) => d.name === 'fashion-mnist');
    await note.filter({ hasText: says(fm) }).waitFor();
    const c10 = datasets.find((d) => d.name === 'cifar10');
    await select.selectOption('cifar10');
    await note.filter({ hasText: says(c10) }).waitFor();
    if (!c10.present) assert.match(await note.textContent(), /downloads it \(170\.1 MB\) into .*cifar10 before the run starts/);
    // No path is asked for: a catalog name alone is a valid task.
    await page.locator('#task-status[data-state="valid"]').waitFor();
    assert.equal(await page.locator('[data-path="dataset.path"]').isHidden(), true);
    await select.selectOption('fashion-mnist');
    await page.locator('#task-status[data-state="valid"]').waitFor();
  }));

  it('keeps a 64-bit seed exact', kit.check(async () => {
    const seed = page.getByLabel('Seed', { exact: true });
    await seed.fill('9223372036854775807');
    await page.locator('#task-status[data-state="valid"]').waitFor();
    assert.match(await page.locator('#task-preview').textContent(), /"seed": 9223372036854775807\b/);
    await seed.fill('-1');
    await page.locator('#task-seed-error').filter({ hasText: /^seed: -1 is out of range; allowed: an integer >= 0 and <= 9223372036854775807/ }).waitFor();
    // A number JSON cannot hold is the document's problem: the summary says so.
    await seed.fill('9223372036854775808');
    await page.locator('#task-issues', { hasText: 'too big integer' }).waitFor();
    await seed.fill('0');
    await page.locator('#task-status[data-state="valid"]').waitFor();
    assert.equal(await page.locator('#task-seed-error').isHidden(), true);
  }));

  it('shows the server validator\'s errors next to their fields', kit.check(async () => {
    await page.getByLabel('Run name', { exact: true }).fill('fmnist-quick');
    await page.getByLabel('Rounds', { exact: true }).fill(String(ROUNDS));
    await page.getByLabel('Clients', { exact: true }).fill(String(NODES));
    await page.getByLabel('Clients per round', { exact: true }).fill(String(NODES + 1));
    await page.getByLabel('Max local steps', { exact: true }).fill('10');
    await page.getByLabel('Min nodes', { exact: true }).fill(String(NODES));
    await page.getByLabel('Min updates per round', { exact: true }).fill(String(NODES));
    await page.getByLabel('Round timeout (s)', { exact: true }).fill('120');
    await page.getByLabel('Connect timeout (s)', { exact: true }).fill('300');
    // (0 is allowed: the optimizer's default learning rate)
    await page.getByLabel('Learning rate', { exact: true }).fill('-1');
    const lrError = page.locator('#task-local-lr-error');
    await lrError.filter({ hasText: /^local\.lr: -1 is out of range/ }).waitFor();
    assert.equal(await page.getByLabel('Learning rate', { exact: true }).getAttribute('aria-invalid'), 'true');
    // A rule across fields lands on the field it names.
    await page.locator('#task-clients-per-round-error')
      .filter({ hasText: /^clients_per_round: 5 is more than clients \(4\)/ }).waitFor();
    // Launching anyway: the 400's issues are shown the same way, nothing starts.
    await page.getByRole('button', { name: 'Launch run' }).click();
    await page.locator('#task-status[data-state="invalid"]', { hasText: 'Not launched' }).waitFor();
    assert.match(page.url(), /#\/new$/);
    assert.match(await lrError.innerText(), /allowed: a number >= 0/);
    await page.evaluate(() => window.scrollTo(0, 0));
    await kit.shot('new-task');
    // Back to the default (0: the optimizer's own lr), so the saved task leaves lr out.
    await page.getByLabel('Learning rate', { exact: true }).fill('0');
    await page.getByLabel('Clients per round', { exact: true }).fill(String(NODES));
    await page.locator('#task-status[data-state="valid"]').waitFor();
    assert.equal(await lrError.isHidden(), true);
    const runs = await server.api.ok('GET', '/api/runs');
    assert.equal(runs.total, 0, 'no run was created by the invalid launch');
  }));

  it('saves the task as JSON', kit.check(async () => {
    const file = await kit.download(() => page.getByRole('button', { name: 'Save as JSON' }).click());
    const task = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(task.name, 'fmnist-quick');
    assert.equal(task.rounds, ROUNDS);
    assert.equal(task.clients, NODES);
    assert.equal(task.clients_per_round, NODES);
    assert.deepEqual(task.local, { max_steps: 10 });
    assert.deepEqual(task.deploy, { min_nodes: NODES, min_updates: NODES, round_timeout_s: 120, connect_timeout_s: 300 });
    state.taskFile = file;
  }));

  it('launches the run and follows it live until it finishes', kit.check(async () => {
    await page.getByRole('button', { name: 'Launch run' }).click();
    await page.waitForURL(/#\/runs\/\d+$/);
    state.run1 = Number(page.url().match(/#\/runs\/(\d+)$/)[1]);
    await page.getByRole('heading', { name: new RegExp(`Run #${state.run1}`) }).waitFor();
    // It waits for its 4th node: nothing trained yet.
    assert.equal(await page.locator('#chart-accuracy').getAttribute('data-points'), '0');
    await page.locator('#rounds-table', { hasText: 'No round has finished yet.' }).waitFor();
    await page.evaluate(() => { window.__fedcNoReload = true; });
    fleet.add(startNode(state.enrol4, { k: NODES - 1, n: NODES }));
    await waitRunEnded();
    assert.equal(await page.evaluate(() => window.__fedcNoReload), true, 'the page updated without a reload');
    const acc = await kit.series('chart-accuracy');
    assert.equal(acc.length, 1);
    assert.deepEqual(acc[0].points.map((p) => p[0]), [1, 2, 3], 'one accuracy point per round');
    for (const [, y] of acc[0].points) assert.ok(y > 0.1 && y <= 1, `accuracy ${y} is better than chance`);
    assert.equal(await page.locator('#rounds-table tbody tr').count(), ROUNDS);
    assert.equal(await page.locator('#run-nodes-table tbody tr').count(), NODES);
    const bytes = await kit.series('chart-bytes');
    for (const s of bytes) {
      assert.equal(s.points.length, ROUNDS);
      for (let i = 1; i < s.points.length; i++) assert.ok(s.points[i][1] > s.points[i - 1][1], 'cumulative bytes grow');
    }
    const cpu = await kit.series('chart-cpu');
    assert.deepEqual(cpu.map((s) => s.points.length), [ROUNDS, ROUNDS]);
    state.liveSeries = { acc, bytes };
    await page.getByRole('heading', { name: 'Charts' }).scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollTo(0, 0));
    await kit.shot('run');
  }));

  it('shows the finished run the same from the store after a reload', kit.check(async () => {
    await page.reload();
    await waitRunEnded(30000);
    assert.deepEqual(await kit.series('chart-accuracy'), state.liveSeries.acc);
    assert.deepEqual(await kit.series('chart-bytes'), state.liveSeries.bytes);
    assert.equal(await page.locator('#rounds-table tbody tr').count(), ROUNDS);
    // Who took part in round 2: every node, each update aggregated.
    await page.getByText('Participation by round').click();
    await page.getByLabel('Round', { exact: true }).selectOption('2');
    await waitFor('the participants of round 2', async () => (await page.locator('#participation-table .badge-ok').count()) === NODES);
  }));

  it('downloads the model, the metrics and the task', kit.check(async () => {
    const model = await kit.download(() => page.locator('#download-model').click());
    const { params, tensors } = arch('mlp');
    const st = readSafetensors(model);
    assert.equal(st.size, 8 + st.headerLen + 4 * params, 'safetensors size = header + 4 bytes per parameter');
    const counts = Object.values(st.tensors).map((t) => t.shape.reduce((a, b) => a * b, 1)).sort((a, b) => a - b);
    assert.deepEqual(counts, tensors.map((t) => t.count).sort((a, b) => a - b));
    for (const t of Object.values(st.tensors)) assert.equal(t.dtype, 'F32');
    const csv = fs.readFileSync(await kit.download(() => page.getByRole('link', { name: 'Metrics (CSV)' }).click()), 'utf8');
    assert.equal(csv.trim().split('\n').length, 1 + ROUNDS, 'a header row and one row per round');
    const jsonl = fs.readFileSync(await kit.download(() => page.getByRole('link', { name: 'Metrics (JSONL)' }).click()), 'utf8');
    assert.deepEqual(jsonl.trim().split('\n').map((l) => JSON.parse(l).round), [1, 2, 3]);
    const task = JSON.parse(fs.readFileSync(await kit.download(() => page.getByRole('link', { name: 'Task spec (JSON)' }).click()), 'utf8'));
    assert.equal(task.name, 'fmnist-quick');
    // The stored spec keeps lr 0, which the trainer reads as the optimizer's default (sgd: 0.05).
    assert.equal(task.local.lr, 0);
  }));

  it('loads a task from JSON, runs it with another seed and compares both runs', kit.check(async () => {
    await kit.nav('New task').click();
    // A file with a typo: the server's message (with its suggestion) is shown.
    const typo = path.join(DOWNLOADS, 'typo.json');
    fs.writeFileSync(typo, JSON.stringify({ rounds: 2, local: { lrr: 0.1 } }));
    await page.locator('#task-load').setInputFiles(typo);
    await page.locator('#task-notice', { hasText: 'Left out because the form has no such field: local.lrr' }).waitFor();
    await page.locator('#task-issues', { hasText: /local\.lrr: unknown field \(did you mean local\.lr\?\)/ }).waitFor();
    await page.locator('#task-load').setInputFiles(state.taskFile);
    await page.locator('#task-notice', { hasText: `Loaded ${path.basename(state.taskFile)}` }).waitFor();
    assert.equal(await page.getByLabel('Rounds', { exact: true }).inputValue(), String(ROUNDS));
    assert.equal(await page.getByLabel('Max local steps', { exact: true }).inputValue(), '10');
    await page.getByLabel('Run name', { exact: true }).fill('fmnist-quick-seed7');
    await page.getByLabel('Seed', { exact: true }).fill('7');
    await page.locator('#task-status[data-state="valid"]').waitFor();
    await page.getByRole('button', { name: 'Launch run' }).click();
    await page.waitForURL(/#\/runs\/\d+$/);
    state.run2 = Number(page.url().match(/#\/runs\/(\d+)$/)[1]);
    await waitRunEnded();

    await kit.nav('Runs').click();
    await page.locator('#runs-table tbody tr').nth(1).waitFor();
    await page.getByLabel(`Select run ${state.run1} for comparison`).check();
    await page.getByLabel(`Select run ${state.run2} for comparison`).check();
    await kit.shot('runs');
    await page.getByRole('button', { name: 'Compare selected (2)' }).click();
    await page.getByRole('heading', { name: 'Compare runs' }).waitFor();
    await waitFor('both curves', async () => (await kit.series('chart-compare-round')).length === 2);
    for (const id of ['chart-compare-round', 'chart-compare-bytes']) {
      const s = await kit.series(id);
      assert.equal(s.length, 2);
      for (const curve of s) assert.equal(curve.points.length, ROUNDS, `${id}: one point per round`);
    }
    const byBytes = await kit.series('chart-compare-bytes');
    for (const curve of byBytes) assert.ok(curve.points[0][0] > 0 && curve.points[2][0] > curve.points[0][0]);
    const diff = await page.locator('#compare-diff').innerText();
    assert.match(diff, /seed/);
    assert.match(diff, /name/);
    assert.doesNotMatch(diff, /local\.lr/);
    await kit.shot('compare');
  }));

  it('lists the nodes with what they did', kit.check(async () => {
    await kit.nav('Nodes').click();
    await waitFor('4 nodes online', async () => (await page.locator('#nodes-table .badge-online').count()) === NODES);
    const rows = await page.locator('#nodes-table tbody tr').count();
    assert.equal(rows, NODES);
    // Each node took part in both runs' rounds.
    const col = (await page.locator('#nodes-table thead th').allInnerTexts()).indexOf('Rounds');
    assert.ok(col > 0);
    for (let k = 1; k <= NODES; k++) {
      const row = page.locator('#nodes-table tbody tr', { hasText: `edge-${k}` });
      const rounds = Number(await row.locator('th, td').nth(col).innerText());
      assert.equal(rounds, 2 * ROUNDS, `edge-${k} took part in every round`);
    }
    await kit.shot('nodes');
  }));

  it('cancels a running run and deletes it', kit.check(async () => {
    const long = await server.api.ok('POST', '/api/runs', {
      name: 'long', rounds: 100000, clients: NODES, clients_per_round: 2, local: { max_steps: 1 },
      deploy: { min_nodes: 2, min_updates: 1 },
    });
    await kit.nav('Runs').click();
    const row = page.locator(`#runs-table tbody tr[data-key="${long.id}"]`);
    await row.locator('.badge', { hasText: /queued|running/ }).waitFor();
    await row.getByRole('button', { name: `Cancel run ${long.id} long` }).click();
    await row.locator('.badge', { hasText: 'cancelled' }).waitFor();
    await row.getByRole('button', { name: `Delete run ${long.id} long` }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await server.api.request('GET', `/api/runs/${long.id}`)).status, 404);
  }));

  it('fits a phone-width screen', kit.check(async () => {
    await page.setViewportSize(PHONE);
    for (const hash of [`#/runs/${state.run1}`, '#/new', '#/runs', '#/nodes', `#/compare?runs=${state.run1},${state.run2}`]) {
      await page.goto(`${server.base}/${hash}`);
      await page.locator('main h1').first().waitFor();
      await page.locator('main[aria-busy]').waitFor({ state: 'detached' });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${hash} is ${overflow}px wider than the screen`);
      assert.deepEqual(await kit.unlabelledControls(), [], `every control of ${hash} has a label`);
    }
    await page.goto(`${server.base}/#/runs/${state.run1}`);
    await waitRunEnded(30000);
    await kit.shot('run-phone');
    await page.setViewportSize(DESKTOP);
  }));

  it('raised no error in the page', () => {
    assert.deepEqual(problems, []);
  });
});
