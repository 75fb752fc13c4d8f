// The runs list: history from the run store, live status, cancel, delete,
// pick runs to compare.
import { h, dataTable, replace } from '../dom.js';
import * as fmt from '../format.js';
import { EventBuffer } from '../feed.js';
import { statusBadge, runActionButtons } from '../run-actions.js';

const PAGE = 50;

export async function render(root, { query }, ctx) {
  document.title = 'Runs · fedc';
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const statusFilter = query.get('status') || '';
  let runs = [];
  let total = 0;
  const selected = new Set();

  const compareBtn = h('button', { type: 'button', class: 'btn', disabled: true, id: 'compare-selected',
    onclick: () => ctx.navigate(`#/compare?runs=${[...selected].join(',')}`) }, 'Compare selected');
  function updateCompare() {
    compareBtn.disabled = selected.size < 2;
    compareBtn.textContent = selected.size ? `Compare selected (${selected.size})` : 'Compare selected';
  }

  const table = dataTable([
    { label: 'Select', class: 'col-select', cell: (r) => h('input', {
      type: 'checkbox', 'aria-label': `Select run ${r.id} for comparison`, checked: selected.has(r.id),
      onchange: (e) => {
        if (e.target.checked) selected.add(r.id);
        else selected.delete(r.id);
        updateCompare();
      },
    }) },
    { label: 'Run', class: 'col-run', cell: (r) => [h('a', { href: `#/runs/${r.id}` }, `#${r.id} ${r.name}`),
      (r.tags || []).map((t) => [' ', h('span', { class: 'badge badge-tag' }, t)]),
      r.notes ? h('div', { class: 'run-note', title: r.notes }, r.notes.length > 80 ? `${r.notes.slice(0, 80)}…` : r.notes) : null] },
    { label: 'Status', cell: (r) => statusBadge(r.status) },
    { label: 'Task', class: 'col-wide col-optional', cell: (r) => fmt.taskSummary(r.summary) },
    { label: 'Rounds', class: 'num', cell: (r) => `${r.rounds_done}/${r.rounds_total}` },
    { label: 'Best accuracy', class: 'num', cell: (r) => fmt.percent(r.best_accuracy) },
    { label: 'Bytes ↓/↑', class: 'num col-optional', cell: (r) => h('span', {
      title: `${r.bytes_down} bytes down, ${r.bytes_up} bytes up` }, `${fmt.bytes(r.bytes_down)} / ${fmt.bytes(r.bytes_up)}`) },
    { label: 'Duration', class: 'num', cell: (r) => fmt.seconds(r.elapsed_s) },
    { label: 'Created', class: 'col-optional', cell: (r) => h('span', { title: fmt.dateTime(r.created_at) }, fmt.shortDate(r.created_at)) },
    { label: 'Actions', cell: (r) => runActionButtons(r, ctx, {
      onChange: (u) => upsert(u),
      onDeleted: (d) => {
        deleted.add(d.id);
        runs = runs.filter((x) => x.id !== d.id);
        selected.delete(d.id);
        total = Math.max(0, total - 1);
        draw();
      },
    }) },
  ], { caption: 'Runs, newest first', empty: 'No runs yet: start one from New task.', rowKey: (r) => r.id });
  table.table.id = 'runs-table';

  // Search, filters and sort apply to the runs of this page (newest PAGE
  // of the status filter); the URL keeps them, so a view can be shared.
  const search = h('input', { type: 'search', id: 'runs-search', placeholder: 'name, #id, tag or note', value: query.get('q') || '',
    oninput: () => { view.q = search.value.trim().toLowerCase(); draw(); } });
  const view = { q: (query.get('q') || '').toLowerCase(), dataset: query.get('dataset') || '', strategy: query.get('strategy') || '',
    sort: query.get('sort') || 'id', desc: query.get('dir') !== 'asc' };
  const datasetFilter = h('select', { id: 'runs-dataset', onchange: (e) => { view.dataset = e.target.value; draw(); } });
  const strategyFilter = h('select', { id: 'runs-strategy', onchange: (e) => { view.strategy = e.target.value; draw(); } });
  const SORTS = {
    id: (r) => r.id, name: (r) => r.name.toLowerCase(), rounds: (r) => r.rounds_done, best: (r) => r.best_accuracy ?? -1,
    duration: (r) => r.elapsed_s ?? 0,
  };
  const sortHeaders = { Run: 'name', Rounds: 'rounds', 'Best accuracy': 'best', Duration: 'duration', Created: 'id' };
  function shownRuns() {
    const q = view.q.replace(/^#/, '');
    const rows = runs.filter((r) => (!q || r.name.toLowerCase().includes(q) || String(r.id) === q
        || (r.tags || []).some((t) => t.toLowerCase().includes(q)) || (r.notes || '').toLowerCase().includes(q))
      && (!view.dataset || (r.summary && r.summary.dataset) === view.dataset)
      && (!view.strategy || (r.summary && r.summary.strategy) === view.strategy));
    const key = SORTS[view.sort] || SORTS.id;
    return rows.sort((a, b) => {
      const x = key(a);
      const y = key(b);
      const c = x < y ? -1 : x > y ? 1 : a.id - b.id;
      return view.desc ? -c : c;
    });
  }
  function choices(select, values, chosen, all) {
    replace(select, h('option', { value: '' }, all), [...new Set([...values, chosen].filter(Boolean))].sort()
      .map((v) => h('option', { value: v, selected: v === chosen }, v)));
  }
  // Column headers that sort: a button in the header, aria-sort on the th.
  function decorateHeaders() {
    for (const th of table.table.querySelectorAll('thead th')) {
      const label = th.dataset.label || th.textContent;
      th.dataset.label = label;
      const key = sortHeaders[label];
      if (!key) continue;
      const active = view.sort === key;
      th.setAttribute('aria-sort', active ? (view.desc ? 'descending' : 'ascending') : 'none');
      replace(th, h('button', { type: 'button', class: 'sort-button', onclick: () => {
        view.desc = view.sort === key ? !view.desc : key !== 'name';
        view.sort = key;
        draw();
      } }, label, active ? (view.desc ? ' ▼' : ' ▲') : ''));
    }
  }

  const pager = h('div', { class: 'pager' });
  const filter = h('select', { id: 'runs-status', onchange: (e) => {
    const q = new URLSearchParams();
    if (e.target.value) q.set('status', e.target.value);
    ctx.navigate(`#/runs${q.toString() ? `?${q}` : ''}`);
  } }, ['', 'queued', 'running', 'done', 'failed', 'cancelled'].map((s) =>
    h('option', { value: s, selected: s === statusFilter }, s || 'all')));
  const errorBox = h('div', { role: 'alert' });

  replace(root,
    h('div', { class: 'page-head' },
      h('h1', {}, 'Runs'),
      h('div', { class: 'toolbar' },
        h('label', { for: 'runs-search', class: 'inline-label' }, 'Search'), search,
        h('label', { for: 'runs-status', class: 'inline-label' }, 'Status'), filter,
        h('label', { for: 'runs-dataset', class: 'inline-label' }, 'Dataset'), datasetFilter,
        h('label', { for: 'runs-strategy', class: 'inline-label' }, 'Strategy'), strategyFilter,
        compareBtn,
        h('a', { class: 'btn btn-primary', href: '#/new' }, 'New task'))),
    errorBox, table.el, pager);

  function draw() {
    choices(datasetFilter, runs.map((r) => r.summary && r.summary.dataset), view.dataset, 'all');
    choices(strategyFilter, runs.map((r) => r.summary && r.summary.strategy), view.strategy, 'all');
    const rows = shownRuns();
    table.render(rows);
    decorateHeaders();
    table.table.dataset.shown = String(rows.length);
    const q = new URLSearchParams();
    for (const [k, v] of [['status', statusFilter], ['q', view.q], ['dataset', view.dataset], ['strategy', view.strategy],
      ['sort', view.sort === 'id' ? '' : view.sort], ['dir', view.desc ? '' : 'asc'], ['offset', offset || '']]) if (v) q.set(k, v);
    const hash = `#/runs${q.toString() ? `?${q}` : ''}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
    replace(pager,
      offset > 0 ? h('a', { class: 'btn', href: `#/runs?offset=${Math.max(0, offset - PAGE)}${statusFilter ? `&status=${statusFilter}` : ''}` }, 'Newer') : null,
      h('span', {}, total ? `${offset + 1}–${offset + runs.length} of ${total}` : ''),
      offset + PAGE < total ? h('a', { class: 'btn', href: `#/runs?offset=${offset + PAGE}${statusFilter ? `&status=${statusFilter}` : ''}` }, 'Older') : null);
  }

  const deleted = new Set(); // a late event must not bring a deleted run back
  function upsert(run) {
    if (deleted.has(run.id)) return;
    const i = runs.findIndex((r) => r.id === run.id);
    if (i >= 0) runs[i] = { ...runs[i], ...run };
    else if (offset === 0 && run.name && (!statusFilter || run.status === statusFilter)) {
      runs.unshift(run);
      total += 1;
    }
    if (statusFilter) runs = runs.filter((r) => r.status === statusFilter);
    draw();
  }

  async function load() {
    try {
      const r = await ctx.api.runs({ limit: PAGE, offset, status: statusFilter });
      runs = r.runs;
      total = r.total;
      replace(errorBox);
      draw();
    } catch (e) {
      replace(errorBox, h('p', { class: 'error-box' }, `The runs could not be loaded: ${e.message}`));
    }
  }

  const buffer = new EventBuffer();
  const offs = [
    ctx.feed.on('run', buffer.wrap((d) => upsert(d.run))),
    ctx.feed.on('round', buffer.wrap((d) => {
      const run = runs.find((r) => r.id === d.run);
      if (!run) return;
      const rd = d.round;
      run.rounds_done = Math.max(run.rounds_done, rd.round);
      if (rd.evaluated !== false && rd.accuracy !== null && rd.accuracy !== undefined) {
        run.accuracy = rd.accuracy;
        run.loss = rd.loss;
        run.best_accuracy = Math.max(run.best_accuracy || 0, rd.accuracy);
      }
      run.bytes_down = rd.bytes_down_total;
      run.bytes_up = rd.bytes_up_total;
      run.elapsed_s = rd.elapsed_s;
      draw();
    })),
    ctx.feed.on('resync', () => load()),
    ctx.feed.on('hello', () => { if (buffer.ready) load(); }),
  ];
  await load();
  buffer.flush();
  return () => offs.forEach((off) => off());
}
