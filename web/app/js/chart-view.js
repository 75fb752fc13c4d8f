// The controls of one chart (charts.js): how the data is viewed, never the
// data itself. Smoothing is the debiased exponential moving average of
// TensorBoard; log scale; the x axis; zoom (buttons, the mouse wheel) and pan
// (drag) of the x range; hide/show of each series; download of the chart as
// PNG (the canvas on white) or SVG (the visible lines, axes and legend drawn
// as vector paths). The state is mirrored in the figure's data-view (JSON) for
// tests and scripts.
import { h, replace } from './dom.js';

// TensorBoard's smoothing: an EMA with weight w in [0, 1), divided by
// 1 - w^n so the first points are not pulled towards 0.
export function smooth(points, w) {
  let last = 0;
  let n = 0;
  return points.map(([x, y]) => {
    n += 1;
    last = last * w + (1 - w) * y;
    return [x, last / (1 - w ** n)];
  });
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

// The chart as an SVG document: what the canvas shows, as vectors.
export function chartSvg(chart, title) {
  const { width, height } = chart;
  const area = chart.chartArea;
  const x = chart.scales.x;
  const y = chart.scales.y;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + 24}" viewBox="0 -24 ${width} ${height + 24}" font-family="sans-serif" font-size="11">`,
    `<rect x="0" y="-24" width="${width}" height="${height + 24}" fill="#fff"/>`,
    `<text x="4" y="-8" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${area.left}" y="${area.top}" width="${area.right - area.left}" height="${area.bottom - area.top}" fill="none" stroke="#ccc"/>`];
  for (const t of x.ticks) {
    const px = x.getPixelForValue(t.value);
    out.push(`<line x1="${px}" y1="${area.bottom}" x2="${px}" y2="${area.bottom + 4}" stroke="#666"/>`,
      `<text x="${px}" y="${area.bottom + 16}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  for (const t of y.ticks) {
    const py = y.getPixelForValue(t.value);
    out.push(`<line x1="${area.left - 4}" y1="${py}" x2="${area.left}" y2="${py}" stroke="#666"/>`,
      `<text x="${area.left - 6}" y="${py + 4}" text-anchor="end">${esc(t.label)}</text>`);
  }
  out.push(`<text x="${(area.left + area.right) / 2}" y="${area.bottom + 32}" text-anchor="middle">${esc(x.options.title.text || '')}</text>`);
  let legendX = area.left;
  chart.data.datasets.forEach((ds, i) => {
    if (!chart.isDatasetVisible(i)) return;
    const pts = ds.data.filter((p) => p.x >= x.min && p.x <= x.max && Number.isFinite(p.y) && (y.type !== 'logarithmic' || p.y > 0))
      .map((p) => `${x.getPixelForValue(p.x).toFixed(1)},${y.getPixelForValue(p.y).toFixed(1)}`);
    const dash = ds.borderDash && ds.borderDash.length ? ` stroke-dasharray="${ds.borderDash.join(' ')}"` : '';
    if (pts.length) {
      out.push(ds.showLine === false
        ? pts.map((p) => `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${ds.borderColor}"/>`).join('')
        : `<polyline class="series" data-label="${esc(ds.label)}" fill="none" stroke="${ds.borderColor}" stroke-width="${ds.borderWidth}"${dash} points="${pts.join(' ')}"/>`);
    }
    const ly = height - 6;
    out.push(`<line x1="${legendX}" y1="${ly - 4}" x2="${legendX + 24}" y2="${ly - 4}" stroke="${ds.borderColor}" stroke-width="2"${dash}/>`,
      `<text x="${legendX + 28}" y="${ly}">${esc(ds.label)}</text>`);
    legendX += 40 + 7 * String(ds.label).length;
  });
  out.push('</svg>');
  return out.join('\n');
}

function download(name, href) {
  const a = h('a', { href, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

// opts: {id, title, axes, view, onChange, series(), chart(), canvas, format}
export function chartControls(opts) {
  const { view, id } = opts;
  const fig = () => opts.canvas.closest('figure');
  const name = (id || 'chart').replace(/^chart-/, '');
  const smoothing = h('input', { type: 'range', id: `${id}-smoothing`, min: '0', max: '0.99', step: '0.01', value: '0' });
  const smoothingOut = h('output', { for: `${id}-smoothing`, id: `${id}-smoothing-value` }, '0');
  const log = h('input', { type: 'checkbox', id: `${id}-log` });
  const axis = opts.axes.length > 1 ? h('select', { id: `${id}-axis` },
    opts.axes.map((a) => h('option', { value: a.key }, a.label))) : null;
  const seriesBox = h('div', { class: 'chart-series', role: 'group', 'aria-label': `Series of ${opts.title}` });

  function changed() {
    const f = fig();
    if (f) f.dataset.view = JSON.stringify({ ...view, hidden: [...view.hidden] });
    opts.onChange();
  }

  smoothing.addEventListener('input', () => {
    view.smoothing = Number(smoothing.value);
    smoothingOut.textContent = smoothing.value;
    changed();
  });
  log.addEventListener('change', () => {
    view.log = log.checked;
    changed();
  });
  if (axis) {
    axis.addEventListener('change', () => {
      view.axis = axis.value;
      view.min = undefined; // a range of rounds means nothing in bytes
      view.max = undefined;
      changed();
    });
  }

  // Zoom keeps the x range [min, max]; undefined = everything.
  function range() {
    const c = opts.chart();
    return c ? [c.scales.x.min, c.scales.x.max] : [0, 1];
  }
  function zoom(factor, at) {
    const [lo, hi] = range();
    const c = at === undefined ? (lo + hi) / 2 : at;
    view.min = c - (c - lo) * factor;
    view.max = c + (hi - c) * factor;
    changed();
  }
  function resetZoom() {
    view.min = undefined;
    view.max = undefined;
    changed();
  }
  opts.canvas.addEventListener('wheel', (e) => {
    const c = opts.chart();
    if (!c || !e.ctrlKey && !e.shiftKey) return; // plain wheel scrolls the page
    e.preventDefault();
    zoom(e.deltaY < 0 ? 0.8 : 1.25, c.scales.x.getValueForPixel(e.offsetX));
  }, { passive: false });
  let drag = null;
  opts.canvas.addEventListener('pointerdown', (e) => {
    if (view.min === undefined) return; // nothing to pan before a zoom
    drag = { px: e.offsetX, range: range() };
    opts.canvas.setPointerCapture(e.pointerId);
  });
  opts.canvas.addEventListener('pointermove', (e) => {
    const c = opts.chart();
    if (!drag || !c) return;
    const perPx = (drag.range[1] - drag.range[0]) / (c.chartArea.right - c.chartArea.left);
    const shift = (drag.px - e.offsetX) * perPx;
    view.min = drag.range[0] + shift;
    view.max = drag.range[1] + shift;
    changed();
  });
  opts.canvas.addEventListener('pointerup', () => { drag = null; });
  opts.canvas.addEventListener('dblclick', resetZoom);

  function toggle(label) {
    if (view.hidden.has(label)) view.hidden.delete(label);
    else view.hidden.add(label);
    changed();
  }

  let labels = '';
  function refresh() {
    const series = opts.series();
    const now = JSON.stringify(series.map((s) => s.label));
    if (now !== labels) {
      labels = now;
      replace(seriesBox, series.length > 1 ? series.map((s, i) => {
        const cid = `${id}-series-${i}`;
        return h('span', { class: 'check-row' },
          h('input', { type: 'checkbox', id: cid, checked: !view.hidden.has(s.label), onchange: () => toggle(s.label) }),
          h('label', { for: cid }, s.label));
      }) : null);
    } else {
      series.forEach((s, i) => {
        const box = seriesBox.querySelector(`#${id}-series-${i}`);
        if (box) box.checked = !view.hidden.has(s.label);
      });
    }
  }

  const button = (label, onclick, extra = {}) => h('button', { type: 'button', class: 'btn btn-small', onclick, ...extra }, label);
  const el = h('details', { class: 'chart-tools' },
    h('summary', {}, 'View and download'),
    h('div', { class: 'chart-tools-row' },
      h('label', { for: `${id}-smoothing`, class: 'inline-label' }, 'Smoothing'), smoothing, smoothingOut,
      h('span', { class: 'check-row' }, log, h('label', { for: `${id}-log` }, 'Log scale')),
      axis ? [h('label', { for: `${id}-axis`, class: 'inline-label' }, 'X axis'), axis] : null),
    h('div', { class: 'chart-tools-row' },
      button('Zoom in', () => zoom(0.5)), button('Zoom out', () => zoom(2)), button('Reset zoom', resetZoom),
      button('PNG', () => {
        const c = opts.chart();
        if (!c) return;
        // The canvas is transparent: put it on white.
        const out = document.createElement('canvas');
        out.width = opts.canvas.width;
        out.height = opts.canvas.height;
        const g = out.getContext('2d');
        g.fillStyle = '#fff';
        g.fillRect(0, 0, out.width, out.height);
        g.drawImage(opts.canvas, 0, 0);
        download(`${name}.png`, out.toDataURL('image/png'));
      }, { 'aria-label': `Download ${opts.title} as PNG` }),
      button('SVG', () => {
        const c = opts.chart();
        if (!c) return;
        const url = URL.createObjectURL(new Blob([chartSvg(c, opts.title)], { type: 'image/svg+xml' }));
        download(`${name}.svg`, url);
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      }, { 'aria-label': `Download ${opts.title} as SVG` })),
    seriesBox,
    h('p', { class: 'help' }, 'Ctrl or Shift + wheel zooms at the pointer; drag pans a zoomed chart; double-click resets. Click a legend entry to hide its series.'));
  return { el, refresh, toggle };
}
