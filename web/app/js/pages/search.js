// One search: its leaderboard (configuration, accuracy, bytes, CPU seconds,
// rounds of every trial), accuracy against trial, the space searched, and
// the winner: launched as a run as it is, or opened in the task form first.
import { h, replace, dataTable } from '../dom.js';
import * as fmt from '../format.js';
import { lineChart, PALETTE } from '../charts.js';
import { stringifyJson } from '../json.js';
import { statusBadge } from '../run-actions.js';
import { byRank, configText, isoToUnix, trialSeries, paretoSplit } from '../search-format.js';
import { paretoChart } from '../pareto-chart.js';

const REFRESH_MS = 3000;

export async function render(root, { match }, ctx) {
  const id = Number(match[1]);
  document.title = `Search ${id} · fedc`;
  let search = null;
  let timer = null;
  let gone = false;

  const head = h('div', { class: 'page-head' });
  const launchStatus = h('div', { id: 'search-launch-status', role: 'status', 'aria-live': 'polite' });
  const stats = h('dl', { class: 'stats', id: 'search-stats' });
  const chart = lineChart({
    id: 'chart-search-trials', title: 'Test accuracy against trial', xLabel: 'Trial', xInteger: true,
    yLabel: 'accuracy', yFormat: 'percent',
  });
  const board = dataTable([
    { label: 'Rank', class: 'num', cell: (t) => String(t.rank) },
    { label: 'Trial', class: 'num', cell: (t) => String(t.trial) },
    { label: 'Status', cell: (t) => statusBadge(t.status) },
    { label: 'Source', class: 'col-optional', cell: (t) => t.source },
    { label: 'Rounds', class: 'num', cell: (t) => String(t.rounds) },
    { label: 'Accuracy', class: 'num', cell: (t) => fmt.percent(t.accuracy, 2) },
    { label: 'Bytes', class: 'num', cell: (t) => h('span', { title: t.bytes === null ? '' : `${t.bytes} bytes` }, fmt.bytes(t.bytes)) },
    { label: 'CPU', class: 'num', cell: (t) => fmt.seconds(t.cpu_s) },
    { label: 'Configuration', class: 'col-wrap col-config', cell: (t) => h('span', {},
      h('code', {}, configText(t.config)),
      t.error ? h('span', { class: 'trial-error' }, ` ${t.status === 'failed' ? 'failed' : 'note'}: ${t.error}`) : null) },
  ], { caption: 'Leaderboard: the trials that went furthest first, then by accuracy', empty: 'No trial has started yet.', rowKey: (t) => t.trial });
  board.table.id = 'leaderboard-table';
  // The Pareto front: accuracy against client compute, point size = bytes;
  // any point of it can be launched on the server's nodes.
  const pareto = paretoChart({ id: 'chart-search-pareto', title: 'Accuracy against client compute (point area: bytes)' });
  const frontTable = dataTable([
    { label: 'Trial', class: 'num', cell: (t) => String(t.trial) },
    { label: 'Accuracy', class: 'num', cell: (t) => fmt.percent(t.accuracy, 2) },
    { label: 'Client compute', class: 'num', cell: (t) => h('span', { title: `${fmt.seconds(t.client_cpu_s)} client CPU measured` }, `${fmt.count(Math.round(t.client_gflop))} GFLOP`) },
    { label: 'Bytes', class: 'num', cell: (t) => fmt.bytes(t.bytes) },
    { label: 'Configuration', class: 'col-wrap col-config', cell: (t) => h('code', {}, configText(t.config)) },
    { label: 'Launch', cell: (t) => h('button', {
      type: 'button', class: 'btn', disabled: !t.task, dataset: { trial: String(t.trial) },
      'aria-label': `Launch trial ${t.trial}`, onclick: (e) => launchTask(e.currentTarget, t.task, `trial ${t.trial}`),
    }, 'Launch') },
  ], { caption: 'Pareto front: no other trial is as accurate for less client compute and fewer bytes', empty: 'No trial has finished yet.', rowKey: (t) => t.trial });
  frontTable.table.id = 'pareto-table';
  const spaceBox = h('div', { id: 'search-space' });
  const bestPre = h('pre', { class: 'json-preview', tabindex: '0', id: 'search-best-task' });

  const page = h('div', { class: 'search-page', id: 'search-page', dataset: { search: String(id) } });
  replace(root, page);
  replace(page, head, launchStatus, stats,
    h('section', { 'aria-labelledby': 'search-board-title' }, h('h2', { id: 'search-board-title' }, 'Leaderboard'), board.el),
    h('section', { 'aria-labelledby': 'search-chart-title' },
      h('h2', { id: 'search-chart-title' }, 'Accuracy against trial'),
      h('div', { class: 'chart-grid chart-grid-one' }, chart.el)),
    h('section', { 'aria-labelledby': 'search-pareto-title', id: 'search-pareto' },
      h('h2', { id: 'search-pareto-title' }, 'Pareto front'),
      h('div', { class: 'chart-grid chart-grid-one' }, pareto.el), frontTable.el),
    h('details', { class: 'card' }, h('summary', {}, 'Search space'), spaceBox),
    h('details', { class: 'card' }, h('summary', {}, 'Best task (what “Launch the winner” sends)'), bestPre));

  async function launchWinner(button) {
    return launchTask(button, search.best_task, 'the winner');
  }

  async function launchTask(button, task, what) {
    button.disabled = true;
    replace(launchStatus, h('p', { class: 'form-status', 'data-state': 'checking' }, `Launching ${what}…`));
    try {
      const run = await ctx.api.createRun(stringifyJson(task));
      ctx.toast(`Run ${run.id} created from ${what} of search ${id} (${run.status}).`);
      ctx.navigate(`#/runs/${run.id}`);
    } catch (err) {
      button.disabled = false;
      replace(launchStatus, h('div', { class: 'error-box', role: 'alert' }, `Not launched: ${err.message}`,
        err.issues.length ? h('ul', {}, err.issues.map((i) => h('li', {}, i.message))) : null));
    }
  }

  function drawHead() {
    const best = search.best_task;
    const launch = h('button', {
      type: 'button', class: 'btn btn-primary', id: 'search-launch', disabled: !best,
      title: best ? 'Run the best task on the server now' : 'The search has no best task yet',
      onclick: (e) => launchWinner(e.currentTarget),
    }, 'Launch the winner');
    const open = best
      ? h('a', { class: 'btn', href: `#/new?search=${id}`, id: 'search-open' }, 'Open in the form')
      : h('button', { type: 'button', class: 'btn', disabled: true, id: 'search-open' }, 'Open in the form');
    replace(head,
      h('h1', {}, `Search #${search.id} `, h('span', { class: 'run-name' }, (search.task && search.task.name) || ''), ' ', statusBadge(search.status)),
      h('div', { class: 'toolbar' }, launch, open));
    page.dataset.status = search.status;
  }

  function drawStats() {
    const opts = search.options || {};
    const item = (label, value, key) => h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { dataset: { key } }, value));
    const done = search.trials.filter((t) => t.status !== 'pending').length;
    replace(stats,
      item('Method', search.method, 'method'),
      item('Trials', `${done} of ${search.budget}`, 'trials'),
      item('Best accuracy', search.best_trial === null ? fmt.percent(null)
        : `${fmt.percent(search.best_accuracy, 2)} (trial ${search.best_trial})`, 'best_accuracy'),
      item('Rounds per trial', String(opts.max_rounds ?? '–'), 'max_rounds'),
      item('Rounds run', fmt.count(search.total_rounds), 'total_rounds'),
      item('CPU', fmt.seconds(search.total_cpu_s), 'total_cpu_s'),
      item('Objective', opts.objective || '–', 'objective'),
      item('Updated', fmt.dateTime(isoToUnix(search.updated || search.created)), 'updated'));
  }

  function drawSpace() {
    const params = (search.space && search.space.params) || [];
    replace(spaceBox, h('ul', { class: 'space-list' }, params.map((p) => h('li', {},
      h('code', {}, p.name), ` ${p.type}`,
      p.values ? `: ${p.values.join(', ')}` : `: ${p.min} … ${p.max}`,
      p.when ? h('span', { class: 'muted' }, ` (when ${p.when.param} is ${p.when.in.join(' or ')})`) : null))));
  }

  function draw() {
    drawHead();
    drawStats();
    const s = trialSeries(search.trials);
    // "stopped early" only when the method stops trials (ASHA).
    chart.update([
      { label: 'full rounds', points: s.full, color: PALETTE[0], line: false },
      s.early.length ? { label: 'stopped early', points: s.early, color: PALETTE[4], line: false } : null,
      { label: 'best so far', points: s.best, color: PALETTE[2], dash: [6, 4] },
    ].filter(Boolean));
    board.render(byRank(search.trials));
    const split = paretoSplit(search.trials);
    pareto.update(split.front, split.others);
    frontTable.render(split.front);
    drawSpace();
    bestPre.textContent = search.best_task ? stringifyJson(search.best_task, 2) : 'None yet: the search has not finished a trial with the full rounds.';
  }

  async function load() {
    search = await ctx.api.search(id);
    if (gone) return;
    draw();
    if (search.status === 'running') timer = setTimeout(() => load().catch(() => {}), REFRESH_MS);
  }

  try {
    await load();
  } catch (e) {
    replace(root, h('h1', {}, `Search #${id}`), h('p', { class: 'error-box', role: 'alert' },
      e.status === 404 ? `Search ${id} does not exist.` : `The search could not be loaded: ${e.message}`),
    h('p', {}, h('a', { href: '#/searches' }, 'Back to the searches')));
    return undefined;
  }
  return () => {
    gone = true;
    clearTimeout(timer);
    chart.destroy();
    pareto.destroy();
  };
}
