// Tiny DOM helpers: the app builds its pages with h() instead of a framework.

// h('a', {href: '#/runs', class: 'btn'}, 'Runs') -> <a href="#/runs" class="btn">Runs</a>
// Attributes: on<Event> functions become listeners, `dataset` an object of
// data-* values, booleans toggle the attribute, null/undefined are skipped.
// Children: strings, numbers, nodes, arrays (flattened), null (skipped).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'class') {
      el.className = value;
    } else if (value === true) {
      el.setAttribute(key, '');
    } else if (key === 'value' && 'value' in el) {
      el.value = value;
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// Replaces every child of el.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Unique ids for label/aria wiring.
let counter = 0;
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

// Starts a browser download of in-memory text.
export function downloadText(filename, text, type = 'application/json') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// A table whose rows are re-rendered from data; cells are values or nodes.
// columns: [{key, label, cell(row) -> node|string, class}]
export function dataTable(columns, { caption, empty = 'Nothing yet.', rowKey } = {}) {
  const tbody = h('tbody');
  const table = h('table', { class: 'data' },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
    tbody);
  const wrap = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption || 'table' }, table);
  function render(rows) {
    if (!rows.length) {
      replace(tbody, h('tr', { class: 'empty' }, h('td', { colspan: columns.length }, empty)));
      return;
    }
    replace(tbody, rows.map((row) => h('tr', rowKey ? { dataset: { key: String(rowKey(row)) } } : {},
      columns.map((c, i) => h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row', class: c.class } : { class: c.class },
        c.cell ? c.cell(row) : row[c.key])))));
  }
  render([]);
  return { el: wrap, table, render };
}
