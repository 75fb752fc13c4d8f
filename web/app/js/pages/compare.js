// Compare runs: accuracy against round and against bytes on the wire, for
// two or more runs, with the task settings that differ between them.
import { h, replace, dataTable } from '../dom.js';
import * as fmt from '../format.js';
import { EventBuffer } from '../feed.js';
import { lineChart, PALETTE } from '../charts.js';
import * as series from '../series.js';
import { statusBadge } from '../run-actions.js';

function flatten(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v, path, out);
    else out[path] = v;
  }
  return out;
}

export async function render(root, { query }, ctx) {
  document.title = 'Compare · fedc';
  const selected = (query.get('runs') || '').split(',').filter((s) => /^\d+$/.test(s)).map(Number);
  const data = new Map(); // id -> {run, rounds}
  let available = [];

  const picker = h('fieldset', { class: 'run-picker', id: 'compare-picker' }, h('legend', {}, 'Runs to compare'));
  const message = h('div', { role: 'status' });
  const byRound = lineChart({ id: 'chart-compare-round', title: 'Test accuracy against round', xLabel: 'Round', yLabel: 'accuracy', yFormat: 'percent' });
  const byBytes = lineChart({ id: 'chart-compare-bytes', title: 'Test accuracy against bytes on the wire (down + up)', xLabel: 'Bytes', xFormat: 'bytes', yLabel: 'accuracy', yFormat: 'percent' });
  const summary = dataTable([
    { label: 'Run', cell: (d) => h('a', { href: `#/runs/${d.run.id}` }, `#${d.run.id} ${d.run.name}`) },
    { label: 'Status', cell: (d) => statusBadge(d.run.status) },
    { label: 'Rounds', class: 'num', cell: (d) => `${d.run.rounds_done}/${d.run.rounds_total}` },
    { label: 'Final accuracy', class: 'num', cell: (d) => fmt.percent(d.run.accuracy, 2) },
    { label: 'Best accuracy', class: 'num', cell: (d) => fmt.percent(d.run.best_accuracy, 2) },
    { label: 'Bytes (down + up)', class: 'num', cell: (d) => fmt.bytes((d.run.bytes_down || 0) + (d.run.bytes_up || 0)) },
    { label: 'Duration', class: 'num', cell: (d) => fmt.seconds(d.run.elapsed_s) },
  ], { caption: 'Selected runs', empty: 'Pick two or more runs above.' });
  summary.table.id = 'compare-table';
  const diffBox = h('div', { id: 'compare-diff' });

  replace(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Compare runs')),
    picker, message,
    h('div', { class: 'chart-grid' }, byRound.el, byBytes.el),
    summary.el, diffBox);

  function current() {
    return selected.filter((id) => data.has(id)).map((id) => data.get(id));
  }

  function draw() {
    const runs = current();
    const label = (d) => `#${d.run.id} ${d.run.name}`;
    byRound.update(runs.map((d, i) => ({ label: label(d), points: series.accuracyByRound(d.rounds), color: PALETTE[i % PALETTE.length] })));
    byBytes.update(runs.map((d, i) => ({ label: label(d), points: series.accuracyByBytes(d.rounds), color: PALETTE[i % PALETTE.length] })));
    summary.render(runs);
    replace(message, runs.length < 2 ? h('p', { class: 'info-box' }, 'Pick two or more runs to overlay their curves.') : null);
    const flat = runs.map((d) => flatten(d.run.task));
    const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].filter((k) =>
      new Set(flat.map((f) => JSON.stringify(f[k]))).size > 1);
    if (runs.length < 2) {
      replace(diffBox);
      return;
    }
    // The server's runs train on edge nodes, which hold their own data:
    // settings that only a simulation uses (the partition of the data among
    // simulated clients, ...) are marked, not presented as a difference.
    const diff = dataTable([
      { label: 'Setting', cell: (k) => (simulationOnly(k)
        ? [h('code', {}, k), ' ', h('span', { class: 'badge badge-sim', title: 'The nodes train on the data they hold; this setting only applies to a simulation (fedc sim).' }, 'simulation only: not used by the nodes')]
        : h('code', {}, k)) },
      ...runs.map((d, i) => ({ label: label(d), cell: (k) => String(flat[i][k] ?? '–') })),
    ], { caption: 'Settings that differ', empty: 'The tasks are identical (same settings and seed).' });
    diff.render(keys);
    replace(diffBox, diff.el);
  }

  // From the schema: a group described as "(simulation)", or a field whose
  // description starts "Simulation only".
  let schema = null;
  function simulationOnly(key) {
    if (!schema) return false;
    const [group, field] = key.includes('.') ? key.split('.', 2) : [null, key];
    const g = group ? schema.properties[group] : null;
    const f = g ? (g.properties || {})[field] : schema.properties[field];
    return !!((g && /\(simulation\)/.test(g.description || '')) || (f && /^Simulation only/.test(f.description || '')));
  }

  async function loadRun(id) {
    const [run, rs] = await Promise.all([ctx.api.run(id), ctx.api.rounds(id, 0)]);
    data.set(id, { run, rounds: series.sortRounds(rs.rounds) });
  }

  function drawPicker() {
    const ids = new Set([...available.map((r) => r.id), ...selected]);
    const byId = new Map(available.map((r) => [r.id, r]));
    const items = [...ids].sort((a, b) => b - a).map((id) => {
      const r = byId.get(id) || (data.get(id) || {}).run;
      const inputId = `compare-run-${id}`;
      return h('div', { class: 'check-row' },
        h('input', { type: 'checkbox', id: inputId, value: String(id), checked: selected.includes(id), onchange: onPick }),
        h('label', { for: inputId }, r ? `#${r.id} ${r.name} (${r.status}, best ${fmt.percent(r.best_accuracy)})` : `#${id}`));
    });
    replace(picker, h('legend', {}, 'Runs to compare'),
      items.length ? h('div', { class: 'picker-list' }, items) : h('p', {}, 'No runs yet.'));
  }

  async function onPick(e) {
    const id = Number(e.target.value);
    if (e.target.checked && !selected.includes(id)) selected.push(id);
    if (!e.target.checked) selected.splice(selected.indexOf(id), 1);
    history.replaceState(null, '', `#/compare${selected.length ? `?runs=${selected.join(',')}` : ''}`);
    if (e.target.checked && !data.has(id)) {
      try {
        await loadRun(id);
      } catch (err) {
        ctx.toast(`Run ${id} could not be loaded: ${err.message}`, 'error');
      }
    }
    draw();
  }

  const buffer = new EventBuffer();
  const offs = [
    ctx.feed.on('round', buffer.wrap((d) => {
      const entry = data.get(d.run);
      if (!entry) return;
      series.upsertRound(entry.rounds, d.round);
      const r = d.round;
      entry.run = { ...entry.run, rounds_done: Math.max(entry.run.rounds_done, r.round), bytes_down: r.bytes_down_total, bytes_up: r.bytes_up_total, elapsed_s: r.elapsed_s };
      if (r.evaluated !== false && r.accuracy !== null && r.accuracy !== undefined) {
        entry.run.accuracy = r.accuracy;
        entry.run.best_accuracy = Math.max(entry.run.best_accuracy || 0, r.accuracy);
      }
      draw();
    })),
    ctx.feed.on('run', buffer.wrap((d) => {
      const entry = data.get(d.run.id);
      if (entry) {
        entry.run = { ...entry.run, ...d.run };
        draw();
      }
    })),
    // Events were missed: fetch the compared runs again.
    ctx.feed.on('resync', async () => {
      await Promise.all(selected.map((id) => loadRun(id).catch(() => {})));
      draw();
    }),
  ];

  try {
    available = (await ctx.api.runs({ limit: 100 })).runs;
  } catch (e) {
    replace(message, h('p', { class: 'error-box', role: 'alert' }, `The runs could not be listed: ${e.message}`));
  }
  const failed = [];
  schema = await ctx.schema().catch(() => null);
  await Promise.all(selected.map((id) => loadRun(id).catch(() => failed.push(id))));
  drawPicker();
  draw();
  if (failed.length) ctx.toast(`Not found: run ${failed.join(', ')}`, 'error');
  buffer.flush();
  return () => {
    offs.forEach((off) => off());
    byRound.destroy();
    byBytes.destroy();
  };
}
