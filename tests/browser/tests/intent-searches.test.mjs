// The prompt box of the New task page and the Searches pages, end to end: a
// real `fedc server` whose LLM backend is tests/tools/llm_replay_server.py,
// two real `fedc node`s, and a small `fedc tune` search recorded in the
// server's own store before it starts. Screenshots: intent.png and
// searches.png (copied to docs/screenshots with FEDC_UPDATE_SCREENSHOTS=1).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, startNode, Fleet, SOURCE_DIR, FEDC_BIN } from '../lib/fedc.mjs';
import { PageKit } from '../lib/page.mjs';
import { launch, watchPage, DESKTOP, PHONE } from '../lib/browser.mjs';

const NODES = 2;
const ROUNDS = 3;
const BUDGET = 3;
const REQUEST = 'train a CNN on fashion-mnist over 6 clients, 3 rounds, keep bandwidth low';

let server;
let browser;
let page;
let llm;
const fleet = new Fleet();
const problems = [];
const state = {};
const kit = new PageKit({ failurePrefix: 'intent-searches-failure' });

// The replaying chat-completions endpoint: its first line is "PORT <n>".
function startLlm() {
  const child = spawn('/usr/bin/python3', [path.join(SOURCE_DIR, 'tests/tools/llm_replay_server.py'),
    '--data-dir', path.join(SOURCE_DIR, 'tests/data/llm'), '--lifetime', '600'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/PORT (\d+)/);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`llm_replay_server.py exited (${code}) before giving its port`)));
  });
}

// A search of 3 trials over lr and batch, 3 rounds each, into STATE/runs.db
// (the server's store): what `fedc tune --db STATE/runs.db` does next to a server.
function recordSearch(stateDir) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedc-browser-tune-'));
  const task = path.join(dir, 'task.json');
  fs.writeFileSync(task, JSON.stringify({
    name: 'quick-search', dataset: { name: 'fashion-mnist' }, model: 'mlp', rounds: ROUNDS,
    clients: NODES, clients_per_round: NODES, local: { epochs: 1, batch: 32, max_steps: 10, lr: 0.05 },
    deploy: { min_nodes: NODES, min_updates: NODES, round_timeout_s: 120, connect_timeout_s: 300 }, seed: 3,
  }));
  const space = path.join(dir, 'space.json');
  fs.writeFileSync(space, JSON.stringify({ params: [
    { name: 'local.lr', type: 'log-float', min: 0.01, max: 0.2 },
    { name: 'local.batch', type: 'choice', values: [16, 32] },
  ] }));
  execFileSync(FEDC_BIN, ['tune', task, '--space', space, '--budget', String(BUDGET), '--method', 'random',
    '--parallel', '1', '--db', path.join(stateDir, 'runs.db'), '--out', path.join(dir, 'out'), '--quiet'],
  { env: { ...process.env, OPENBLAS_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const best = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'best-task.json'), 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  return best;
}

describe('prompt box and searches', { timeout: 600000 }, () => {
  before(async () => {
    llm = await startLlm();
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedc-browser-state-'));
    state.bestTask = recordSearch(stateDir);
    server = await startServer({
      state: stateDir, name: 'intent-server',
      env: { FEDC_LLM_URL: `http://127.0.0.1:${llm.port}`, FEDC_LLM_MODEL: 'valid' },
    });
    fleet.add(server.proc);
    for (let k = 0; k < NODES; k++) {
      const enrol = await server.api.ok('POST', '/api/nodes', { name: `search-node-${k + 1}` });
      fleet.add(startNode(enrol, { k, n: NODES }));
    }
    browser = await launch({ viewport: DESKTOP });
    page = browser.context.pages()[0] || await browser.context.newPage()
    kit.page = page;
    watchPage(page, problems);
  });

  after(async () => {
    if (browser) await browser.close();
    await fleet.stopAll();
    if (llm) llm.child.kill();
    if (kit.failed) console.log(`---- process logs\n${fleet.logs()}`);
    if (server) fs.rmSync(server.state, { recursive: true, force: true });
  });

  it('signs in', kit.check(async () => {
    await page.goto(`${server.base}/`);
    await page.getByLabel('Admin token').fill(server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
  }));

  it('fills the task form from a request, with the explanation beside each field, and launches nothing', kit.check(async () => {
    await kit.nav('New task').click();
    await page.locator('#task-status[data-state="valid"]').waitFor();
    await page.getByLabel('What should be trained?').fill(REQUEST);
    await page.getByRole('button', { name: 'Fill the form' }).click();
    await page.locator('#intent-filled').waitFor();
    assert.equal(await page.getByLabel('Model', { exact: true }).inputValue(), 'cnn');
    assert.equal(await page.getByLabel('Clients', { exact: true }).inputValue(), '6');
    assert.equal(await page.getByLabel('Rounds', { exact: true }).inputValue(), String(ROUNDS));
    // "keep bandwidth low" chose both codecs, from the measured table.
    const up = await page.getByLabel('Uplink codec', { exact: true }).inputValue();
    const down = await page.getByLabel('Downlink codec', { exact: true }).inputValue();
    assert.notEqual(up, 'none');
    assert.notEqual(down, 'none');
    // Each field the request set is highlighted, its source and reason beside it.
    for (const [p, source, words] of [['model', 'Your words', 'CNN'], ['clients', 'Your words', '6 clients'],
      ['rounds', 'Your words', '3 rounds'], ['compression.up', 'Your goal', 'keep bandwidth low'],
      ['compression.down', 'Your goal', 'keep bandwidth low']]) {
      const field = page.locator(`.field[data-path="${p}"]`);
      assert.match(await field.getAttribute('class'), /\bfrom-request\b/, `${p} is highlighted`);
      const note = await field.locator('.field-note').innerText();
      assert.ok(note.startsWith(source), `${p}: "${note}" starts with ${source}`);
      assert.ok(note.includes(words), `${p}: "${note}" quotes "${words}"`);
    }
    // The note is read with its input.
    assert.match(await page.getByLabel('Uplink codec', { exact: true }).getAttribute('aria-describedby'), /task-compression-up-note/);
    // A field the request did not touch carries no note.
    assert.equal(await page.locator('.field[data-path="local.lr"] .field-note').isHidden(), true);
    // The fields left at their defaults are listed in the box.
    assert.match(await page.locator('#intent-result details.intent-defaults summary').innerText(), /Left at their defaults/);
    // The server checked the filled form, and nothing ran.
    await page.locator('#task-status[data-state="valid"]').waitFor();
    assert.match(await page.locator('#task-preview').textContent(), /"model": "cnn"/);
    assert.equal((await server.api.ok('GET', '/api/runs')).total, 0, 'no run was created');
    // The box with its answer, and the first highlighted fields below it.
    await page.locator('#intent-box').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await kit.shot('intent');
    // The person's own value replaces the explanation.
    await page.getByLabel('Rounds', { exact: true }).fill('4');
    assert.equal(await page.locator('.field[data-path="rounds"] .field-note').isHidden(), true);
    assert.doesNotMatch(await page.locator('.field[data-path="rounds"]').getAttribute('class'), /from-request/);
  }));

  it('asks a question for a contradictory request and lists words it did not understand', kit.check(async () => {
    await page.getByLabel('What should be trained?').fill('train an MLP and a CNN on mnist with 10 clients');
    await page.getByRole('button', { name: 'Fill the form' }).click();
    const question = page.locator('#intent-question[data-status="conflict"]');
    await question.waitFor();
    assert.match(await question.innerText(), /"MLP" and "CNN".*\?/s);
    assert.match(await question.innerText(), /The form was not changed/);
    assert.equal(await page.getByLabel('Model', { exact: true }).inputValue(), 'cnn', 'the form kept its values');
    // Two readings of one field: each is offered, and choosing one answers the question.
    await page.getByLabel('What should be trained?').fill('a CNN for 30 rounds or 40 rounds');
    await page.getByRole('button', { name: 'Fill the form' }).click();
    const readings = page.locator('#intent-question[data-field="rounds"] #intent-readings li');
    await readings.first().waitFor();
    assert.equal(await readings.count(), 2);
    await page.getByRole('button', { name: 'rounds = 40' }).click();
    await page.locator('#intent-filled').waitFor();
    assert.equal(await page.getByLabel('Rounds', { exact: true }).inputValue(), '40');
    assert.match(await page.getByLabel('What should be trained?').inputValue(), /actually rounds=40$/);
    await page.getByLabel('What should be trained?').fill(`${REQUEST}, and use the flux capacitor`);
    await page.getByRole('button', { name: 'Fill the form' }).click();
    await page.locator('#intent-unknown', { hasText: /“flux”.*“capacitor”/ }).waitFor();
    assert.equal((await server.api.ok('GET', '/api/runs')).total, 0, 'still no run');
  }));

  it('fills the form through the LLM backend', kit.check(async () => {
    const backend = page.getByLabel('Read by');
    await page.locator('#intent-backend option[value="llm"]:not([disabled])').waitFor({ state: 'attached' });
    await backend.selectOption('llm');
    await page.getByLabel('What should be trained?').fill('cifar10 cnn, 40 clients, 8 per round, 20 rounds');
    await page.getByRole('button', { name: 'Fill the form' }).click();
    // The answer comes from a job the page polls; the previous answer is gone meanwhile.
    await page.locator('#intent-status', { hasText: 'Asking the language model' }).or(page.locator('#intent-filled')).first().waitFor();
    await page.locator('#intent-filled').waitFor();
    assert.equal(await page.getByLabel('Dataset', { exact: true }).inputValue(), 'cifar10');
    assert.equal(await page.getByLabel('Clients', { exact: true }).inputValue(), '40');
    assert.match(await page.locator('.field[data-path="clients"] .field-note').innerText(), /^Language model/);
    await backend.selectOption('builtin');
    assert.equal((await server.api.ok('GET', '/api/runs')).total, 0, 'still no run');
  }));

  it('lists the search and shows its leaderboard', kit.check(async () => {
    await kit.nav('Searches').click();
    await page.getByRole('heading', { name: 'Searches', level: 1 }).waitFor();
    const row = page.locator('#searches-table tbody tr', { hasText: 'quick-search' });
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(`${BUDGET}/${BUDGET}`));
    assert.match(await row.innerText(), /done/);
    await row.getByRole('link').click();
    await page.waitForURL(/#\/searches\/\d+$/);
    state.search = Number(page.url().match(/#\/searches\/(\d+)$/)[1]);
    await page.locator('#leaderboard-table tbody tr').nth(BUDGET - 1).waitFor();
    assert.equal(await page.locator('#leaderboard-table tbody tr').count(), BUDGET);
    const ranks = await page.locator('#leaderboard-table tbody tr th').allInnerTexts();
    assert.deepEqual(ranks, ['1', '2', '3']);
    // The store's answer, checked against what the page shows.
    const detail = await server.api.ok('GET', `/api/searches/${state.search}`);
    const first = detail.trials.find((t) => t.rank === 1);
    assert.equal(first.trial, detail.best_trial);
    const cells = await page.locator('#leaderboard-table tbody tr').first().locator('th, td').allInnerTexts();
    assert.equal(cells[1], String(first.trial));
    assert.equal(cells[4], String(ROUNDS));
    assert.match(cells[8], /local\.lr=/);
    const plot = await kit.series('chart-search-trials');
    const full = plot.find((s) => s.label === 'full rounds');
    assert.deepEqual(full.points.map((p) => p[0]), [0, 1, 2], 'one point per trial');
    for (const [, y] of full.points) assert.ok(y > 0.1 && y <= 1, `accuracy ${y} is better than chance`);
    const best = plot.find((s) => s.label === 'best so far');
    assert.equal(best.points[best.points.length - 1][1], detail.best_accuracy);
    await page.evaluate(() => window.scrollTo(0, 0));
    await kit.shot('searches');
  }));

  it('opens the winner in the task form', kit.check(async () => {
    await page.getByRole('link', { name: 'Open in the form' }).click();
    await page.locator('#task-notice', { hasText: `Starting from the best task of search ${state.search}` }).waitFor();
    assert.equal(await page.getByLabel('Run name', { exact: true }).inputValue(), state.bestTask.name);
    assert.equal(Number(await page.getByLabel('Learning rate', { exact: true }).inputValue()), state.bestTask.local.lr);
    await page.locator('#task-status[data-state="valid"]').waitFor();
    assert.equal((await server.api.ok('GET', '/api/runs')).total, 0, 'opening launches nothing');
  }));

  it('launches the winner, which trains on the nodes to the end', kit.check(async () => {
    await page.goto(`${server.base}/#/searches/${state.search}`);
    await page.getByRole('button', { name: 'Launch the winner' }).click();
    await page.waitForURL(/#\/runs\/\d+$/);
    const id = Number(page.url().match(/#\/runs\/(\d+)$/)[1]);
    const runPage = page.locator(`#run-page[data-run="${id}"]`);
    await runPage.and(page.locator('[data-status="done"], [data-status="failed"], [data-status="cancelled"]'))
      .waitFor({ timeout: 240000 });
    const run = await server.api.ok('GET', `/api/runs/${id}`);
    assert.equal(run.status, 'done', run.error || '');
    assert.equal(run.rounds_done, ROUNDS);
    // What ran is the search's best task, exactly as `fedc tune` wrote it.
    assert.equal(run.task.name, state.bestTask.name);
    assert.deepEqual(run.task.local, state.bestTask.local);
    assert.equal(run.task.model, state.bestTask.model);
  }));

  it('shows the Pareto front and launches a point of it', kit.check(async () => {
    await page.goto(`${server.base}/#/searches/${state.search}`);
    const detail = await server.api.ok('GET', `/api/searches/${state.search}`);
    const front = detail.trials.filter((t) => t.costs && t.costs.pareto_rank === 1)
      .sort((a, b) => a.costs.client_gflop - b.costs.client_gflop || a.trial - b.trial);
    assert.ok(front.length >= 1, 'a finished search has a front');
    await page.locator('#pareto-table tbody tr').nth(front.length - 1).waitFor();
    assert.equal(await page.locator('#pareto-table tbody tr').count(), front.length);
    // The plot: accuracy against client compute, one bubble per trial, area by bytes.
    const plot = await kit.series('chart-search-pareto');
    const drawn = plot.find((s) => s.label === 'Pareto front').points;
    assert.deepEqual(drawn.map((p) => p.trial), front.map((t) => t.trial));
    for (const [i, p] of drawn.entries()) {
      assert.equal(p.x, front[i].costs.client_gflop);
      assert.equal(p.y, front[i].accuracy);
      assert.equal(p.bytes, front[i].bytes);
    }
    const all = plot.flatMap((s) => s.points);
    assert.equal(all.length, detail.trials.filter((t) => t.status === 'complete').length);
    for (const a of all) for (const b of all) if (a.bytes > b.bytes) assert.ok(a.r >= b.r, 'more bytes, larger point');
    // No front point is beaten on accuracy and compute by another trial.
    for (const f of front) {
      assert.ok(!all.some((p) => p.y > f.accuracy && p.x < f.costs.client_gflop && p.bytes <= f.bytes),
        `trial ${f.trial} is dominated`);
    }
    // Launch the cheapest point: the run is that trial's task, and it trains on the nodes to the end.
    const pick = front[0];
    await page.getByRole('button', { name: `Launch trial ${pick.trial}` }).click();
    await page.waitForURL(/#\/runs\/\d+$/);
    const id = Number(page.url().match(/#\/runs\/(\d+)$/)[1]);
    await page.locator(`#run-page[data-run="${id}"]`)
      .and(page.locator('[data-status="done"], [data-status="failed"], [data-status="cancelled"]'))
      .waitFor({ timeout: 240000 });
    const run = await server.api.ok('GET', `/api/runs/${id}`);
    assert.equal(run.status, 'done', run.error || '');
    assert.deepEqual(run.task.local, pick.task.local);
    assert.equal(run.task.name, pick.task.name);
  }));

  it('fits a phone-width screen with a label on every control', kit.check(async () => {
    await page.setViewportSize(PHONE);
    for (const hash of ['#/new', '#/searches', `#/searches/${state.search}`]) {
      await page.goto(`${server.base}/${hash}`);
      await page.locator('main h1').first().waitFor();
      await page.locator('main[aria-busy]').waitFor({ state: 'detached' });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${hash} is ${overflow}px wider than the screen`);
      assert.deepEqual(await kit.unlabelledControls(), [], `every control of ${hash} has a label`);
    }
    await page.setViewportSize(DESKTOP);
  }));

  it('raised no error in the page', () => {
    assert.deepEqual(problems, []);
  });
});
