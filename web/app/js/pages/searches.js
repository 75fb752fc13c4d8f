// Searches: the hyperparameter and architecture searches `fedc tune` recorded
// in the server's store (GET /api/searches), newest first. A search runs in
// its own process, outside the live feed: while one is running the list is
// fetched again every few seconds.
import { h, dataTable, replace } from '../dom.js';
import * as fmt from '../format.js';
import { statusBadge } from '../run-actions.js';
import { isoToUnix, tuneCommand } from '../search-format.js';

const REFRESH_MS = 3000;

export async function render(root, params, ctx) {
  document.title = 'Searches · fedc';
  let timer = null;
  let gone = false;

  const table = dataTable([
    { label: 'Search', cell: (s) => h('a', { href: `#/searches/${s.id}` }, `#${s.id} ${s.task_name || ''}`.trim()) },
    { label: 'Status', cell: (s) => statusBadge(s.status) },
    { label: 'Method', cell: (s) => s.method },
    { label: 'Trials', class: 'num', cell: (s) => h('span', { title: `${s.trials} trials recorded, budget ${s.budget}` }, `${s.trials}/${s.budget}`) },
    { label: 'Best accuracy', class: 'num', cell: (s) => fmt.percent(s.best_accuracy, 2) },
    { label: 'Rounds run', class: 'num col-optional', cell: (s) => fmt.count(s.total_rounds) },
    { label: 'CPU', class: 'num col-optional', cell: (s) => fmt.seconds(s.total_cpu_s) },
    { label: 'Created', class: 'col-optional', cell: (s) => h('span', { title: s.created }, fmt.shortDate(isoToUnix(s.created))) },
  ], { caption: 'Searches, newest first', empty: 'No searches yet.', rowKey: (s) => s.id });
  table.table.id = 'searches-table';
  const errorBox = h('div', { role: 'alert' });

  replace(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Searches')),
    h('p', { class: 'lead' },
      'Searches over learning rates, batch sizes, strategies, codecs and model architectures, each trial a federated run in simulation. ',
      'Start one next to the server with ', h('code', { class: 'command-inline' }, tuneCommand()),
      ' (STATE is the server\'s --state folder); it shows here as it runs.'),
    errorBox, table.el);

  async function load() {
    try {
      const r = await ctx.api.searches();
      if (gone) return;
      table.render(r.searches);
      replace(errorBox);
      if (r.searches.some((s) => s.status === 'running')) timer = setTimeout(load, REFRESH_MS);
    } catch (e) {
      if (gone) return;
      replace(errorBox, h('p', { class: 'error-box' }, `The searches could not be loaded: ${e.message}`));
    }
  }
  await load();
  return () => {
    gone = true;
    clearTimeout(timer);
  };
}
