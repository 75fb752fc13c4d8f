// One edge node: what it reported (resources, data), its totals over all
// runs, its flag, and round by round what happened to its updates (the
// refused ones with the reason), newest first.
import { h, replace, dataTable } from '../dom.js';
import * as fmt from '../format.js';
import { EventBuffer } from '../feed.js';
import { statusBadge } from '../run-actions.js';

export async function render(root, { match }, ctx) {
  const id = Number(match[1]);
  document.title = `Node ${id} · fedc`;
  let node = null;
  let rows = [];

  const head = h('div', { class: 'page-head' });
  const stats = h('dl', { class: 'stats', id: 'node-stats' });
  const problems = h('div', { id: 'node-problems' });
  const table = dataTable([
    { label: 'Run', cell: (p) => h('a', { href: `#/runs/${p.run}` }, `#${p.run}`) },
    { label: 'Round', class: 'num', cell: (p) => String(p.round) },
    { label: 'Slot', class: 'num', cell: (p) => String(p.slot) },
    { label: 'Status', cell: (p) => statusBadge(p.status) },
    { label: 'Reason', class: 'col-wrap', cell: (p) => p.reason || '' },
    { label: 'Bytes ↓', class: 'num', cell: (p) => fmt.bytes(p.bytes_down) },
    { label: 'Bytes ↑', class: 'num', cell: (p) => fmt.bytes(p.bytes_up) },
    { label: 'CPU', class: 'num', cell: (p) => fmt.seconds(p.cpu_s) },
    { label: 'Train loss', class: 'num', cell: (p) => fmt.num(p.loss) },
    { label: 'Samples', class: 'num', cell: (p) => fmt.count(p.n_samples) },
  ], { caption: 'Rounds it was picked for, newest first', empty: 'This node has not been picked for a round yet.' });
  table.table.id = 'node-rounds';
  replace(root, h('div', { class: 'node-page', id: 'node-page', dataset: { node: String(id) } },
    head, stats, problems,
    h('section', { 'aria-labelledby': 'node-rounds-title' }, h('h2', { id: 'node-rounds-title' }, 'Rounds'), table.el)));

  function draw() {
    replace(head,
      h('h1', {}, `Node ${node.name} `, statusBadge(node.status)),
      h('div', { class: 'toolbar' }, h('a', { class: 'btn', href: '#/nodes' }, 'All nodes'),
        node.run ? h('a', { class: 'btn', href: `#/runs/${node.run.id}` }, `In run #${node.run.id}`) : null));
    const res = node.resources;
    const item = (label, value, key) => h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { dataset: { key } }, value));
    const runs = new Set(rows.map((p) => p.run)).size;
    replace(stats,
      item('Rounds', String(node.rounds ?? 0), 'rounds'),
      item('Runs (recent rounds)', String(runs), 'runs'),
      item('Aggregated / dropped / refused', `${node.updates ?? 0} / ${node.dropped ?? 0} / ${node.rejected ?? 0}`, 'updates'),
      item('Bytes down / up', `${fmt.bytes(node.bytes_down ?? 0)} / ${fmt.bytes(node.bytes_up ?? 0)}`, 'bytes'),
      item('Compute', fmt.seconds(node.cpu_s ?? 0), 'cpu_s'),
      item('Last seen', fmt.lastSeen(node), 'last_seen'),
      item('Resources', res ? `${res.cores} cores · ${fmt.bytes(res.memory_bytes)} · ${fmt.count(res.samples_per_s)} samples/s` : 'not reported (offline)', 'resources'),
      item('Link', res ? `↓ ${fmt.bitsPerSecond(res.down_bps)} · ↑ ${fmt.bitsPerSecond(res.up_bps)}` : '–', 'link'),
      item('Data', res ? `${res.data} (${fmt.count(res.n_samples)} samples)` : '–', 'data'),
      item('Address', node.address || '–', 'address'));
    // The last errors: refused and dropped updates with their reasons.
    const bad = rows.filter((p) => p.status !== 'ok').slice(0, 5);
    replace(problems,
      node.flagged ? h('p', { class: 'error-box', role: 'status' }, `Flagged: ${node.flag_reason || 'updates were refused'}`) : null,
      bad.length ? h('div', { class: 'warn-box', id: 'node-last-errors' }, h('strong', {}, 'Last problems'),
        h('ul', {}, bad.map((p) => h('li', {}, `run #${p.run} round ${p.round}: ${p.status}${p.reason ? ` — ${p.reason}` : ''}`)))) : null);
    table.render(rows);
  }

  async function load() {
    const [n, part] = await Promise.all([ctx.api.node(id), ctx.api.nodeParticipation(id)]);
    node = n;
    rows = part.participation;
    draw();
  }

  let refresh = null;
  const buffer = new EventBuffer();
  const offs = [
    ctx.feed.on('node', buffer.wrap((d) => {
      if (d.node.id !== id) return;
      node = { ...node, ...d.node };
      draw();
    })),
    // A round of any run may have picked this node: fetch again, at most every second.
    ctx.feed.on('round', buffer.wrap(() => {
      if (refresh) return;
      refresh = setTimeout(() => {
        refresh = null;
        load().catch(() => {});
      }, 1000);
    })),
    ctx.feed.on('resync', () => load().catch(() => {})),
  ];
  try {
    await load();
  } catch (e) {
    offs.forEach((off) => off());
    replace(root, h('h1', {}, `Node ${id}`), h('p', { class: 'error-box', role: 'alert' },
      e.status === 404 ? `Node ${id} does not exist.` : `The node could not be loaded: ${e.message}`),
    h('p', {}, h('a', { href: '#/nodes' }, 'Back to the nodes')));
    return undefined;
  }
  buffer.flush();
  return () => {
    clearTimeout(refresh);
    offs.forEach((off) => off());
  };
}
