// Edge nodes: who is connected, what they reported, how they did; enrol a
// new node (its one-line command and credential) and revoke one.
import { h, replace, dataTable, downloadText } from '../dom.js';
import * as fmt from '../format.js';
import { EventBuffer } from '../feed.js';
import { statusBadge } from '../run-actions.js';

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

export async function render(root, params, ctx) {
  document.title = 'Nodes · fedc';
  let nodes = [];
  let server = null;

  const lines = (...parts) => parts.filter((p) => p !== null).map((p) => h('div', {}, p));
  const table = dataTable([
    { label: 'Node', cell: (n) => h('a', { href: `#/nodes/${n.id}`, title: `id ${n.id}${n.address ? `, from ${n.address}` : ''}` }, n.name) },
    { label: 'Status', cell: (n) => lines(statusBadge(n.status),
      n.run ? h('a', { href: `#/runs/${n.run.id}` }, `run #${n.run.id}`) : h('span', { class: 'muted' }, 'idle'),
      n.flagged ? h('small', { class: 'flag flag-reason' }, `⚑ ${n.flag_reason || 'flagged'}`) : null) },
    { label: 'Resources', cell: (n) => (n.resources
      ? lines(`${n.resources.cores} cores · ${fmt.bytes(n.resources.memory_bytes)}`, `${fmt.count(n.resources.samples_per_s)} samples/s`) : '–') },
    { label: 'Link', class: 'num col-optional', cell: (n) => (n.resources
      ? lines(`↓ ${fmt.bitsPerSecond(n.resources.down_bps)}`, `↑ ${fmt.bitsPerSecond(n.resources.up_bps)}`) : '–') },
    { label: 'Data', class: 'col-optional', cell: (n) => (n.resources
      ? lines(h('code', {}, n.resources.data || '–'), `${fmt.count(n.resources.n_samples)} samples`) : '–') },
    // A node enrolled a moment ago has done nothing yet: 0, not "undefined".
    { label: 'Rounds', class: 'num', cell: (n) => String(n.rounds ?? 0) },
    { label: 'OK / dropped / rejected / flagged', class: 'num', cell: (n) => h('span', {},
      `${n.updates ?? 0} / ${n.dropped ?? 0} / `,
      n.flagged && n.rejected ? h('span', { class: 'flag' }, `${n.rejected} ⚑`) : String(n.rejected ?? 0), ' / ',
      n.flagged_updates ? h('span', { class: 'flag', title: 'updates the robust aggregator left out' },
        `${n.flagged_updates} ⚑`) : '0') },
    { label: 'Bytes', class: 'num col-optional', cell: (n) => lines(`↓ ${fmt.bytes(n.bytes_down ?? 0)}`, `↑ ${fmt.bytes(n.bytes_up ?? 0)}`) },
    { label: 'Compute', class: 'num col-optional', cell: (n) => fmt.seconds(n.cpu_s ?? 0) },
    { label: 'Last seen', cell: (n) => h('span', { title: fmt.dateTime(n.last_seen) }, fmt.lastSeen(n)) },
    { label: 'Actions', cell: (n) => (n.status === 'revoked' ? '' : h('button', {
      type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Revoke node ${n.name}`,
      onclick: async (e) => {
        if (!confirm(`Revoke ${n.name}? It is disconnected at once and its credential stops working.`)) return;
        e.target.disabled = true;
        try {
          upsert(await ctx.api.revokeNode(n.id));
          ctx.toast(`Node ${n.name} revoked.`);
        } catch (err) {
          ctx.toast(`Revoke failed: ${err.message}`, 'error');
          e.target.disabled = false;
        }
      },
    }, 'Revoke')) },
  ], { caption: 'Enrolled nodes', empty: 'No node is enrolled yet: enrol one below.', rowKey: (n) => n.id });
  table.table.id = 'nodes-table';

  const counts = h('p', { class: 'lead', id: 'nodes-counts' });
  const serverInfo = h('p', { class: 'help' });
  const nameInput = h('input', { id: 'enrol-name', name: 'name', type: 'text', autocomplete: 'off',
    spellcheck: 'false', maxlength: '64', placeholder: 'e.g. lab-pi-3', 'aria-describedby': 'enrol-help enrol-error' });
  const enrolError = h('p', { class: 'field-error', id: 'enrol-error', role: 'alert' });
  const enrolResult = h('div', { id: 'enrol-result' });
  const enrolButton = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Enrol node');
  const enrolForm = h('form', { class: 'card enrol', novalidate: true, 'aria-labelledby': 'enrol-title' },
    h('h2', { id: 'enrol-title' }, 'Enrol a new node'),
    h('div', { class: 'field' },
      h('label', { for: 'enrol-name' }, 'Node name (optional)'), nameInput,
      h('p', { class: 'help', id: 'enrol-help' },
        'Letters, digits, ".", "_" and "-", at most 64; empty = node-<id>. The answer holds the node\'s credential, shown only once.')),
    enrolError, h('div', { class: 'actions' }, enrolButton), enrolResult);

  enrolForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = nameInput.value.trim();
    enrolError.textContent = '';
    nameInput.removeAttribute('aria-invalid');
    if (name && !NAME_RE.test(name)) {
      enrolError.textContent = `"${name}" is not allowed; allowed: 1 to 64 of A-Z a-z 0-9 . _ -`;
      nameInput.setAttribute('aria-invalid', 'true');
      nameInput.focus();
      return;
    }
    enrolButton.disabled = true;
    try {
      const r = await ctx.api.enrolNode(name);
      upsert(r.node);
      nameInput.value = '';
      showCredential(r);
    } catch (err) {
      enrolError.textContent = err.message;
      nameInput.setAttribute('aria-invalid', 'true');
    } finally {
      enrolButton.disabled = false;
    }
  });

  function showCredential(r) {
    const copy = (text, what) => async () => {
      try {
        await navigator.clipboard.writeText(text);
        ctx.toast(`${what} copied.`);
      } catch {
        ctx.toast(`Copy is not available here: select the ${what.toLowerCase()} and copy it.`, 'error');
      }
    };
    replace(enrolResult,
      h('div', { class: 'info-box', role: 'status' },
        h('p', {}, h('strong', {}, `Node ${r.node.name} enrolled.`),
          ` Save its credential as ${r.credential_file} on the node (it is not shown again), then run there:`),
        h('div', { class: 'command' },
          h('code', { id: 'enrol-command' }, r.command),
          h('button', { type: 'button', class: 'btn btn-small', onclick: copy(r.command, 'Command') }, 'Copy command')),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'btn', id: 'enrol-download',
            onclick: () => downloadText(r.credential_file, r.credential, 'application/x-pem-file') },
          `Download ${r.credential_file}`),
          h('button', { type: 'button', class: 'btn btn-quiet', onclick: copy(r.credential, 'Credential') }, 'Copy credential')),
        h('details', {}, h('summary', {}, 'Show the credential'),
          h('label', { for: 'enrol-credential' }, `Credential (${r.credential_file})`),
          h('textarea', { id: 'enrol-credential', readonly: true, rows: '8', spellcheck: 'false' }, r.credential))));
  }

  function draw() {
    table.render(nodes);
    const online = nodes.filter((n) => n.status === 'online').length;
    counts.textContent = `${online} online of ${nodes.length} enrolled.`;
    if (server) {
      replace(serverInfo, 'Nodes connect to ', h('code', {}, server.node_url), ` (fedc ${server.version}${server.tls ? ', TLS' : ', no TLS'}).`);
    }
  }

  function upsert(node) {
    const i = nodes.findIndex((n) => n.id === node.id);
    if (i >= 0) nodes[i] = { ...nodes[i], ...node };
    else nodes.push(node);
    nodes.sort((a, b) => a.id - b.id);
    draw();
  }

  const errorBox = h('div', { role: 'alert' });
  replace(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Nodes')),
    counts, serverInfo, errorBox, table.el, enrolForm);

  async function load() {
    try {
      const [ns, sv] = await Promise.all([ctx.api.nodes(), ctx.api.server()]);
      nodes = ns.nodes;
      server = sv;
      replace(errorBox);
      draw();
    } catch (e) {
      replace(errorBox, h('p', { class: 'error-box' }, `The nodes could not be loaded: ${e.message}`));
    }
  }

  const buffer = new EventBuffer();
  const offs = [
    ctx.feed.on('node', buffer.wrap((d) => upsert(d.node))),
    ctx.feed.on('resync', () => load()),
    ctx.feed.on('hello', (d) => {
      server = d.server;
      if (buffer.ready) load();
    }),
  ];
  await load();
  buffer.flush();
  const ticker = setInterval(draw, 15000);
  return () => {
    clearInterval(ticker);
    offs.forEach((off) => off());
  };
}
