// One run, live: status, charts (accuracy, loss, cumulative bytes, CPU per
// round), the per-round table, the nodes of the run, events, downloads. A
// finished run shows the same from the store.
import { h, replace, dataTable } from '../dom.js';
import * as fmt from '../format.js';
import { EventBuffer } from '../feed.js';
import { lineChart, ROUND_AXES } from '../charts.js';
import { downloads } from '../api.js';
import { stringifyJson } from '../json.js';
import * as series from '../series.js';
import { statusBadge, runActionButtons } from '../run-actions.js';

const MAX_LOG = 200;
const ROUNDS_PAGE = 25;

export async function render(root, { match }, ctx) {
  const id = Number(match[1]);
  document.title = `Run ${id} · fedc`;
  let run = null;
  let rounds = [];
  let runNodes = [];
  const nodesById = new Map();
  const logs = [];

  const head = h('div', { class: 'page-head' });
  const errorBox = h('div', { class: 'run-error' });
  const stats = h('dl', { class: 'stats', id: 'run-stats' });
  const progress = h('div', { class: 'progress-row' });
  const dl = h('div', { class: 'downloads', id: 'run-downloads' });
  // x by round, wall time or bytes on the wire (ROUND_AXES).
  const axes = ROUND_AXES;
  const charts = {
    accuracy: lineChart({ id: 'chart-accuracy', title: 'Test accuracy per round', xLabel: 'Round', yLabel: 'accuracy', yFormat: 'percent', axes }),
    loss: lineChart({ id: 'chart-loss', title: 'Loss per round', xLabel: 'Round', yLabel: 'loss', axes }),
    bytes: lineChart({ id: 'chart-bytes', title: 'Cumulative bytes', xLabel: 'Round', yLabel: 'bytes', yFormat: 'bytes', yMin: 0, axes }),
    cpu: lineChart({ id: 'chart-cpu', title: 'CPU time per round', xLabel: 'Round', yLabel: 'seconds', yFormat: 'seconds', yMin: 0, axes }),
    privacy: lineChart({ id: 'chart-epsilon', title: 'Privacy spent (ε at the task\'s δ)', xLabel: 'Round', yLabel: 'ε', yMin: 0, axes }),
    // Robust aggregation's figure: the updates the server refused (their nodes are flagged) and those that never came.
    updates: lineChart({ id: 'chart-refused', title: 'Updates refused (nodes flagged) and dropped per round', xLabel: 'Round', yLabel: 'updates', yMin: 0, axes }),
  };
  charts.clients = lineChart({ id: 'chart-client-accuracy', title: 'Per-client accuracy (local test splits)', xLabel: 'Round', yLabel: 'accuracy', yFormat: 'percent', axes });
  charts.privacy.el.hidden = true; // shown for runs with differential privacy
  charts.clients.el.hidden = true; // shown for runs with per-client evaluation
  charts.updates.el.hidden = true; // shown once an update was refused or dropped
  const roundsTable = dataTable([
    { label: 'Round', class: 'num', cell: (r) => String(r.round) },
    { label: 'Accuracy', class: 'num', cell: (r) => (r.evaluated === false ? '–' : fmt.percent(r.accuracy, 2)) },
    { label: 'Loss', class: 'num', cell: (r) => (r.evaluated === false ? '–' : fmt.num(r.loss)) },
    { label: 'Train loss', class: 'num', cell: (r) => fmt.num(r.train_loss) },
    { label: 'Bytes ↓', class: 'num', cell: (r) => fmt.bytes(r.bytes_down) },
    { label: 'Bytes ↑', class: 'num', cell: (r) => fmt.bytes(r.bytes_up) },
    { label: 'Nodes CPU', class: 'num', cell: (r) => fmt.seconds(r.client_cpu_s) },
    { label: 'Server CPU', class: 'num', cell: (r) => fmt.seconds(r.server_cpu_s) },
    { label: 'Wall', class: 'num', cell: (r) => fmt.seconds(r.wall_s) },
    { label: 'Updates', class: 'num', cell: (r) => `${r.participants}/${r.selected}` },
    { label: 'Dropped', class: 'num', cell: (r) => String(r.dropped) },
    { label: 'Rejected', class: 'num', cell: (r) => String(r.rejected) },
    { label: 'ε', class: 'num', cell: (r) => (r.delta === undefined || r.delta === null ? '–'
      : (typeof r.epsilon === 'number' ? fmt.num(r.epsilon) : '∞')) },
  ], { caption: 'Rounds, newest first', empty: 'No round has finished yet.', rowKey: (r) => r.round });
  roundsTable.table.id = 'rounds-table';
  // A long run's table is paged: only ROUNDS_PAGE rows are in the page at once.
  let roundsPage = 0;
  const roundsPager = h('div', { class: 'pager', id: 'rounds-pager' });
  const nodesTable = dataTable([
    { label: 'Node', cell: (n) => n.node_name || `node ${n.node}` },
    { label: 'Status', cell: (n) => {
      const node = nodesById.get(n.node);
      return node ? statusBadge(node.status) : '–';
    } },
    { label: 'Rounds', class: 'num', cell: (n) => String(n.rounds) },
    { label: 'Aggregated', class: 'num', cell: (n) => String(n.ok) },
    { label: 'Dropped', class: 'num', cell: (n) => String(n.dropped) },
    { label: 'Rejected', class: 'num', cell: (n) => String(n.rejected) },
    { label: 'Flagged', class: 'num', cell: (n) => (n.flagged ? h('span', { class: 'flag' }, `${n.flagged} ⚑`) : '0') },
    { label: 'Bytes ↓', class: 'num', cell: (n) => fmt.bytes(n.bytes_down) },
    { label: 'Bytes ↑', class: 'num', cell: (n) => fmt.bytes(n.bytes_up) },
    { label: 'Compute', class: 'num', cell: (n) => fmt.seconds(n.cpu_s) },
    { label: 'Last seen', cell: (n) => {
      const node = nodesById.get(n.node);
      return node ? fmt.lastSeen(node) : '–';
    } },
  ], { caption: 'Nodes in this run', empty: 'No node has taken part yet.', rowKey: (n) => n.node });
  nodesTable.table.id = 'run-nodes-table';
  const logList = h('ol', { class: 'log', id: 'run-log', 'aria-live': 'polite' });

  // Who took part in one round, and why an update was dropped or refused.
  const partSelect = h('select', { id: 'participation-round' });
  const partTable = dataTable([
    { label: 'Node', cell: (p) => p.node_name || (p.node ? `node ${p.node}` : `slot ${p.slot}`) },
    { label: 'Slot', class: 'num', cell: (p) => String(p.slot) },
    { label: 'Status', cell: (p) => statusBadge(p.status) },
    { label: 'Reason', class: 'col-wrap', cell: (p) => p.reason || '' },
    { label: 'Bytes ↓', class: 'num', cell: (p) => fmt.bytes(p.bytes_down) },
    { label: 'Bytes ↑', class: 'num', cell: (p) => fmt.bytes(p.bytes_up) },
    { label: 'CPU', class: 'num', cell: (p) => fmt.seconds(p.cpu_s) },
    { label: 'Train loss', class: 'num', cell: (p) => fmt.num(p.loss) },
    { label: 'Samples', class: 'num', cell: (p) => fmt.count(p.n_samples) },
  ], { caption: 'Participants of the round', empty: 'Pick a round.' });
  partTable.table.id = 'participation-table';
  async function showParticipation() {
    const round = Number(partSelect.value);
    if (!round) {
      partTable.render([]);
      return;
    }
    try {
      partTable.render((await ctx.api.participation(id, round)).participation);
    } catch (e) {
      ctx.toast(`Round ${round} could not be loaded: ${e.message}`, 'error');
    }
  }
  partSelect.addEventListener('change', showParticipation);
  function drawRoundChoices() {
    const chosen = partSelect.value;
    replace(partSelect, h('option', { value: '' }, 'choose…'),
      [...rounds].reverse().map((r) => h('option', { value: String(r.round), selected: String(r.round) === chosen }, `round ${r.round}`)));
  }
  const taskPre = h('pre', { class: 'json-preview', tabindex: '0', id: 'run-task' });

  // A person's tags and notes on the run, kept in the store.
  const tagsInput = h('input', { type: 'text', id: 'run-tags', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'e.g. baseline, dirichlet', 'aria-describedby': 'run-tags-help run-notes-error' });
  const notesInput = h('textarea', { id: 'run-notes', rows: '3', maxlength: '4000' });
  const notesError = h('p', { class: 'field-error', id: 'run-notes-error', role: 'alert' });
  const notesForm = h('form', { class: 'card run-notes', id: 'run-notes-form', novalidate: true, 'aria-labelledby': 'run-notes-title' },
    h('h2', { id: 'run-notes-title' }, 'Tags and notes'),
    h('div', { class: 'field' }, h('label', { for: 'run-tags' }, 'Tags'), tagsInput,
      h('p', { class: 'help', id: 'run-tags-help' }, 'Comma-separated, up to 16, each 1 to 32 of A-Z a-z 0-9 . _ : -; the runs list searches them.')),
    h('div', { class: 'field' }, h('label', { for: 'run-notes' }, 'Notes'), notesInput),
    notesError,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn' }, 'Save tags and notes')));
  notesForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    notesError.textContent = '';
    const tags = tagsInput.value.split(',').map((t) => t.trim()).filter(Boolean);
    try {
      const saved = await ctx.api.setRunNotes(id, { tags, notes: notesInput.value });
      run = { ...run, ...saved };
      drawNotes();
      ctx.toast('Tags and notes saved.');
    } catch (err) {
      notesError.textContent = err.message;
    }
  });
  function drawNotes() {
    if (document.activeElement === tagsInput || document.activeElement === notesInput) return; // being edited
    tagsInput.value = (run.tags || []).join(', ');
    notesInput.value = run.notes || '';
  }

  // The page's own element carries the run's status (data-status) for styles and tests.
  const page = h('div', { class: 'run-page', id: 'run-page', dataset: { run: String(id) } });
  replace(root, page);
  replace(page, head, errorBox, progress, stats, dl,
    h('section', { 'aria-labelledby': 'charts-title' },
      h('h2', { id: 'charts-title' }, 'Charts'),
      h('div', { class: 'chart-grid' }, Object.values(charts).map((c) => c.el))),
    h('section', { 'aria-labelledby': 'rounds-title' }, h('h2', { id: 'rounds-title' }, 'Per round'), roundsTable.el, roundsPager),
    h('details', { class: 'card', id: 'participation' },
      h('summary', {}, 'Participation by round'),
      h('div', { class: 'toolbar' }, h('label', { for: 'participation-round', class: 'inline-label' }, 'Round'), partSelect),
      partTable.el),
    h('section', { 'aria-labelledby': 'run-nodes-title' }, h('h2', { id: 'run-nodes-title' }, 'Nodes'), nodesTable.el),
    h('section', { 'aria-labelledby': 'log-title' }, h('h2', { id: 'log-title' }, 'Events'),
      h('p', { class: 'help', id: 'run-log-help' }, 'Notable events of this run (refused updates, dropped nodes, failed rounds, pauses, data downloads), kept by the server for the whole run.'),
      logList),
    notesForm,
    h('details', { class: 'card' }, h('summary', {}, 'Task spec'), taskPre));

  function drawHead() {
    replace(head,
      h('h1', {}, `Run #${run.id} `, h('span', { class: 'run-name' }, run.name), ' ', statusBadge(run.status)),
      h('div', { class: 'toolbar' },
        runActionButtons(run, ctx, {
          onChange: (u) => applyRun(u),
          onDeleted: () => ctx.navigate('#/runs'),
        }),
        h('a', { class: 'btn', href: `#/new?from=${run.id}` }, 'Edit as new task'),
        h('a', { class: 'btn', href: `#/compare?runs=${run.id}` }, 'Compare…')));
    page.dataset.status = run.status;
    // A paused run says why (its progress cannot be written); a notice says
    // how the run got here (e.g. resumed from an older checkpoint).
    replace(errorBox,
      run.error ? h('p', { class: 'error-box', role: 'alert' }, `Run ${run.status}: ${run.error}`) : null,
      run.notice ? h('p', { class: 'warn-box', role: 'status' }, `Note: ${run.notice}`) : null);
  }

  function drawStats() {
    const pct = run.rounds_total ? Math.round((100 * run.rounds_done) / run.rounds_total) : 0;
    replace(progress,
      h('label', { for: 'run-progress' }, `Round ${run.rounds_done} of ${run.rounds_total}`),
      h('progress', { id: 'run-progress', max: String(run.rounds_total || 1), value: String(run.rounds_done) }, `${pct} %`));
    const item = (label, value, key) => h('div', { class: key === 'summary' ? 'stat stat-wide' : 'stat' }, h('dt', {}, label), h('dd', { dataset: { key } }, value));
    replace(stats,
      item('Accuracy', fmt.percent(run.accuracy, 2), 'accuracy'),
      item('Best accuracy', fmt.percent(run.best_accuracy, 2), 'best_accuracy'),
      item('Loss', fmt.num(run.loss), 'loss'),
      item('Bytes down', fmt.bytes(run.bytes_down), 'bytes_down'),
      item('Bytes up', fmt.bytes(run.bytes_up), 'bytes_up'),
      item('Duration', fmt.seconds(run.elapsed_s), 'elapsed_s'),
      item('Created', fmt.dateTime(run.created_at), 'created_at'),
      item('Finished', fmt.dateTime(run.finished_at), 'finished_at'),
      item('Task', fmt.taskSummary(run.summary), 'summary'));
  }

  function drawDownloads() {
    const ended = !fmt.ACTIVE_STATUSES.has(run.status);
    const modelLabel = ended ? 'Final model (.safetensors)' : `Last checkpoint${run.checkpoint_round ? ` (round ${run.checkpoint_round})` : ''} (.safetensors)`;
    replace(dl,
      h('h2', {}, 'Downloads'),
      h('ul', {},
        h('li', {}, run.checkpoint_round || ended
          ? h('a', { href: downloads.model(run.id), download: `run-${run.id}-model.safetensors`, id: 'download-model' }, modelLabel)
          : h('span', { class: 'muted' }, 'Model: none before the first checkpoint')),
        h('li', {}, h('a', { href: downloads.metricsCsv(run.id), download: `run-${run.id}-metrics.csv` }, 'Metrics (CSV)')),
        h('li', {}, h('a', { href: downloads.metricsJsonl(run.id), download: `run-${run.id}-metrics.jsonl` }, 'Metrics (JSONL)')),
        h('li', {}, h('a', { href: downloads.task(run.id), download: `run-${run.id}-task.json` }, 'Task spec (JSON)'))));
  }

  function drawRoundsTable() {
    const pages = Math.max(1, Math.ceil(rounds.length / ROUNDS_PAGE));
    roundsPage = Math.min(roundsPage, pages - 1);
    const newest = rounds.length - roundsPage * ROUNDS_PAGE;
    const shown = rounds.slice(Math.max(0, newest - ROUNDS_PAGE), newest).reverse();
    roundsTable.render(shown);
    const go = (p) => () => {
      roundsPage = p;
      drawRoundsTable();
    };
    replace(roundsPager, pages > 1 ? [
      h('button', { type: 'button', class: 'btn btn-small', disabled: roundsPage === 0, onclick: go(roundsPage - 1) }, 'Newer'),
      h('span', {}, `Rounds ${shown.length ? shown[0].round : 0}–${shown.length ? shown[shown.length - 1].round : 0} of ${rounds.length}`),
      h('button', { type: 'button', class: 'btn btn-small', disabled: roundsPage >= pages - 1, onclick: go(roundsPage + 1) }, 'Older'),
    ] : null);
  }

  function drawRounds() {
    const x = series.withAxes(rounds);
    const fedAcc = series.fedAccuracyByRound(rounds);
    charts.accuracy.update([{ label: 'test accuracy', points: x(series.accuracyByRound(rounds)) }]
      .concat(fedAcc.length ? [{ label: 'federated (nodes\u2019 test data)', points: x(fedAcc), dash: [3, 3] }] : []));
    charts.loss.update([
      { label: 'test loss', points: x(series.lossByRound(rounds)) },
      // Dashed: its legend shows a dashed line, not a box.
      { label: 'train loss', points: x(series.trainLossByRound(rounds)), dash: [6, 4] },
    ].concat(series.fedLossByRound(rounds).length ? [
      { label: 'federated loss', points: x(series.fedLossByRound(rounds)), dash: [3, 3] },
    ] : []));
    // Uncompressed, up equals down: up is drawn on top, dashed over a wider
    // down line, so both stay visible.
    charts.bytes.update([
      { label: 'down (server → nodes)', points: x(series.cumulativeBytes(rounds, 'down')), width: 5 },
      { label: 'up (nodes → server)', points: x(series.cumulativeBytes(rounds, 'up')), dash: [6, 4], order: -1 },
    ]);
    charts.cpu.update([
      { label: 'nodes', points: x(series.cpuByRound(rounds, 'nodes')) },
      { label: 'server', points: x(series.cpuByRound(rounds, 'server')) },
    ]);
    if (rounds.some((r) => r.rejected > 0 || r.dropped > 0)) {
      charts.updates.el.hidden = false;
      charts.updates.update([
        { label: 'refused', points: x(rounds.map((r) => [r.round, r.rejected])), color: '#b91c1c' },
        { label: 'dropped', points: x(rounds.map((r) => [r.round, r.dropped])), color: '#a16207', dash: [6, 4] },
      ]);
    }
    if (series.isPrivate(rounds)) {
      charts.privacy.el.hidden = false;
      const delta = rounds[rounds.length - 1].delta;
      charts.privacy.update([{ label: `ε (δ = ${delta})`, points: x(series.epsilonByRound(rounds)) }]);
    }
    if (series.hasClientEval(rounds)) {
      // The spread of the clients' scores: mean, 10th percentile and worst client.
      charts.clients.el.hidden = false;
      charts.clients.update([
        { label: 'clients\' models: mean', points: x(series.clientAccByRound(rounds, 'client_acc_mean')) },
        { label: '10th percentile', points: x(series.clientAccByRound(rounds, 'client_acc_p10')), dash: [6, 4] },
        { label: 'worst client', points: x(series.clientAccByRound(rounds, 'client_acc_min')), dash: [2, 3] },
        { label: 'global model: mean', points: x(series.clientAccByRound(rounds, 'global_client_acc_mean')) },
      ]);
    }
    drawRoundsTable();
    drawRoundChoices();
  }

  function drawNodes() {
    nodesTable.render(runNodes);
  }

  function drawAll() {
    drawNotes();
    drawHead();
    drawStats();
    drawDownloads();
    drawRounds();
    drawNodes();
    taskPre.textContent = run.task ? stringifyJson(run.task, 2) : '';
  }

  function applyRun(update) {
    const wasActive = run && fmt.ACTIVE_STATUSES.has(run.status);
    run = { ...run, ...update };
    drawHead();
    drawStats();
    drawDownloads();
    // The run ended: the store now has the final model and node totals.
    if (wasActive && !fmt.ACTIVE_STATUSES.has(run.status)) refreshDetails();
  }

  let nodesRefresh = null;
  function refreshNodesSoon() {
    if (nodesRefresh) return;
    nodesRefresh = setTimeout(async () => {
      nodesRefresh = null;
      try {
        runNodes = (await ctx.api.runNodes(id)).nodes;
        drawNodes();
      } catch { /* the next round or resync retries */ }
    }, 300);
  }

  async function refreshDetails() {
    try {
      const [detail, rn] = await Promise.all([ctx.api.run(id), ctx.api.runNodes(id)]);
      run = detail;
      runNodes = rn.nodes;
      drawAll();
    } catch { /* shown on the next update */ }
  }

  // The stored log, then the live events after it; the page shows the newest MAX_LOG.
  let logDropped = 0;
  function drawLog() {
    const shown = logs.slice(-MAX_LOG);
    replace(logList,
      logs.length > shown.length || logDropped
        ? h('li', { class: 'muted' }, `${logs.length - shown.length + logDropped} earlier events not shown`) : null,
      shown.map((l) => h('li', { class: `log-${l.level}` }, h('span', { class: 'log-level' }, l.level), ' ',
        l.at ? h('time', { class: 'log-time', datetime: new Date(l.at * 1000).toISOString() }, fmt.dateTime(l.at)) : null, ' ',
        l.message)));
    logList.dataset.count = String(logs.length);
  }

  async function load() {
    const [detail, rs, rn, ns, ev] = await Promise.all([
      ctx.api.run(id), ctx.api.rounds(id, 0), ctx.api.runNodes(id), ctx.api.nodes(), ctx.api.runEvents(id)]);
    logs.length = 0;
    logs.push(...ev.events);
    logDropped = ev.dropped;
    drawLog();
    run = detail;
    rounds = series.sortRounds(rs.rounds);
    runNodes = rn.nodes;
    nodesById.clear();
    for (const n of ns.nodes) nodesById.set(n.id, n);
    drawAll();
  }

  const buffer = new EventBuffer();
  const offs = [
    ctx.feed.on('run', buffer.wrap((d) => {
      if (d.run && d.run.id === id) applyRun(d.run);
    })),
    ctx.feed.on('round', buffer.wrap((d) => {
      if (d.run !== id) return;
      series.upsertRound(rounds, d.round);
      const r = d.round;
      const update = { rounds_done: Math.max(run.rounds_done, r.round), bytes_down: r.bytes_down_total,
        bytes_up: r.bytes_up_total, elapsed_s: r.elapsed_s, checkpoint_round: r.round };
      if (r.evaluated !== false && r.accuracy !== null && r.accuracy !== undefined) {
        Object.assign(update, { accuracy: r.accuracy, loss: r.loss, best_accuracy: Math.max(run.best_accuracy || 0, r.accuracy) });
      }
      run = { ...run, ...update };
      drawStats();
      drawDownloads();
      drawRounds();
      refreshNodesSoon();
    })),
    ctx.feed.on('node', buffer.wrap((d) => {
      nodesById.set(d.node.id, { ...nodesById.get(d.node.id), ...d.node });
      drawNodes();
    })),
    ctx.feed.on('log', buffer.wrap((d) => {
      if (d.run !== id) return;
      // An event that arrived while the stored log was fetched is in it already.
      const now = Date.now() / 1000;
      if (logs.some((l) => l.seq && l.level === d.level && l.message === d.message && Math.abs(l.at - now) < 30)) return;
      logs.push({ ...d, at: now });
      drawLog();
    })),
    ctx.feed.on('resync', () => load().catch(() => {})),
    ctx.feed.on('hello', () => { if (buffer.ready) load().catch(() => {}); }),
  ];
  try {
    await load();
  } catch (e) {
    offs.forEach((off) => off());
    replace(root, h('h1', {}, `Run #${id}`), h('p', { class: 'error-box', role: 'alert' },
      e.status === 404 ? `Run ${id} does not exist.` : `The run could not be loaded: ${e.message}`),
    h('p', {}, h('a', { href: '#/runs' }, 'Back to the runs')));
    return undefined;
  }
  buffer.flush();
  // "Last seen" of an offline node is relative: refresh it now and then.
  const ticker = setInterval(drawNodes, 5000);
  return () => {
    clearInterval(ticker);
    clearTimeout(nodesRefresh);
    offs.forEach((off) => off());
    Object.values(charts).forEach((c) => c.destroy());
  };
}
