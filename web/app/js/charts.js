// Line charts on Chart.js (Debian libjs-chart.js, embedded as
// /vendor/chart.js, which defines window.Chart). Each chart's figure carries
// its data in data-series (JSON: [{label, points: [[x, y]...]}], the raw
// values whatever the view) so tests and scripts can read exactly what is
// drawn, and the canvas an aria-label that summarises it.
//
// Every chart has its own controls (chart-view.js): smoothing, log scale,
// the x axis (round, wall time or bytes when the caller gives them), zoom and
// pan, hide/show of each series, download as PNG or SVG.
import { h } from './dom.js';
import { bytes } from './format.js';
import { chartControls, smooth } from './chart-view.js';

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

export const FORMATTERS = {
  number: (v) => String(Math.round(v * 1000) / 1000),
  percent: (v) => `${Math.round(v * 1000) / 10} %`,
  bytes: (v) => bytes(v),
  seconds: (v) => `${Math.round(v * 100) / 100} s`,
};

// The x axes a chart of rounds can offer: each point's third element holds
// the other x values ({wall, bytes}).
export const ROUND_AXES = [
  { key: 'round', label: 'Round', format: 'number', integer: true },
  { key: 'wall', label: 'Wall time', format: 'seconds' },
  { key: 'bytes', label: 'Bytes on the wire', format: 'bytes' },
];

// opts: {title, xLabel, yLabel, xFormat, yFormat, yMin, yMax, id, xInteger, axes, controls}
// Returns {el, update(series), destroy()} with series =
// [{label, points: [[x, y, {wall, bytes}?]], color, dash, line, width, order}].
// update() appends to the drawn data when the new points extend the old
// ones (a live run gains one point per round), so a long run stays light.
export function lineChart(opts) {
  const canvas = h('canvas', { role: 'img', 'aria-label': `${opts.title}: no data yet` });
  const box = h('div', { class: 'chart-box' }, canvas);
  const fig = h('figure', { class: 'chart', id: opts.id, dataset: { series: '[]', points: '0' } },
    h('figcaption', {}, opts.title));
  const yFormat = FORMATTERS[opts.yFormat || 'number'];
  const axes = opts.axes || [{ key: 'round', label: opts.xLabel, format: opts.xFormat || 'number',
    integer: opts.xLabel === 'Round' || !!opts.xInteger }];
  let chart = null;
  let last = []; // the series as given, for redraws after a change of view
  const view = { smoothing: 0, log: false, axis: axes[0].key, hidden: new Set(), min: undefined, max: undefined };
  const axis = () => axes.find((a) => a.key === view.axis) || axes[0];
  const xFormat = () => FORMATTERS[axis().format];

  function xOf(p) {
    if (view.axis === 'round' || axes.length === 1) return p[0];
    return p[2] ? p[2][view.axis] : undefined;
  }

  // The points as drawn: x of the chosen axis, smoothed y.
  function drawn(points) {
    const xy = points.map((p) => [xOf(p), p[1]]).filter((p) => Number.isFinite(p[0]));
    return view.smoothing > 0 ? smooth(xy, view.smoothing) : xy;
  }

  const controls = opts.controls === false ? null : chartControls({
    id: opts.id, title: opts.title, axes, view,
    onChange: () => redraw(),
    series: () => last,
    chart: () => chart,
    canvas,
    format: { x: () => xFormat(), y: yFormat, xLabel: () => axis().label, yLabel: opts.yLabel || '' },
  });
  if (controls) fig.append(controls.el);
  fig.append(box);

  function ensureChart() {
    if (chart || !window.Chart) return;
    chart = new window.Chart(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        spanGaps: true,
        interaction: { mode: 'nearest', intersect: false, axis: 'x' },
        scales: {
          x: { type: 'linear', title: { display: true, text: axis().label },
            ticks: { callback: (v) => xFormat()(v), maxTicksLimit: 8, precision: axis().integer ? 0 : undefined } },
          y: {
            title: { display: !!opts.yLabel, text: opts.yLabel || '' },
            min: opts.yMin, max: opts.yMax,
            ticks: { callback: yFormat, maxTicksLimit: 6 },
          },
        },
        plugins: {
          // A line segment per series (dashed for a dashed series), not a box.
          legend: { display: true, position: 'bottom', labels: { usePointStyle: true, pointStyle: 'line', pointStyleWidth: 28, boxHeight: 8,
            // The point style's entry knows no dash: take the line's.
            generateLabels: (c) => window.Chart.defaults.plugins.legend.labels.generateLabels(c).map((item) => {
              const ds = c.data.datasets[item.datasetIndex];
              return { ...item, lineDash: ds.borderDash || [], strokeStyle: ds.borderColor, lineWidth: 2 };
            }) },
            onClick: (e, item) => controls && controls.toggle(item.text) },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? `${axis().label} ${xFormat()(items[0].parsed.x)}` : ''),
              label: (item) => `${item.dataset.label}: ${yFormat(item.parsed.y)}`,
            },
          },
        },
      },
    });
  }

  function dataset(s, i) {
    const color = s.color || PALETTE[i % PALETTE.length];
    return {
      label: s.label,
      data: drawn(s.points).map(([x, y]) => ({ x, y })),
      borderColor: color,
      backgroundColor: color,
      borderDash: s.dash || [],
      borderWidth: s.width || 2,
      order: s.order || 0,
      hidden: view.hidden.has(s.label),
      // line: false draws the points alone (one point per search trial).
      showLine: s.line !== false,
      pointRadius: s.line === false ? 4 : s.points.length > 60 ? 0 : 3,
      pointStyle: 'line',
      tension: 0,
    };
  }

  function applyView() {
    const x = chart.options.scales.x;
    x.title.text = axis().label;
    x.ticks.precision = axis().integer ? 0 : undefined;
    x.min = view.min;
    x.max = view.max;
    const y = chart.options.scales.y;
    y.type = view.log ? 'logarithmic' : 'linear';
    // A log axis cannot start at 0.
    y.min = view.log ? undefined : opts.yMin;
    y.max = opts.yMax;
  }

  // Everything again (a change of view, or data that is not an extension).
  function redraw() {
    ensureChart();
    if (!chart) return;
    applyView();
    chart.data.datasets = last.map(dataset);
    chart.update('none');
    if (controls) controls.refresh();
  }

  // Whether next only adds points at the end of each series of prev.
  function extends_(prev, next) {
    if (prev.length !== next.length) return false;
    return next.every((s, i) => {
      const p = prev[i].points;
      if (s.label !== prev[i].label || s.points.length < p.length) return false;
      for (let k = 0; k < p.length; k++) if (s.points[k][0] !== p[k][0] || s.points[k][1] !== p[k][1]) return false;
      return true;
    });
  }

  function update(series) {
    const clean = series.map((s) => ({
      ...s,
      points: s.points.filter((p) => p[1] !== null && p[1] !== undefined && Number.isFinite(p[1])),
    }));
    fig.dataset.series = JSON.stringify(clean.map((s) => ({ label: s.label, points: s.points.map((p) => [p[0], p[1]]) })));
    fig.dataset.points = String(clean.reduce((n, s) => Math.max(n, s.points.length), 0));
    const xf = FORMATTERS[axes[0].format];
    const summary = clean.map((s) => {
      const p = s.points[s.points.length - 1];
      return p ? `${s.label} ${yFormat(p[1])} at ${axes[0].label.toLowerCase()} ${xf(p[0])}` : `${s.label} no data`;
    }).join('; ');
    canvas.setAttribute('aria-label', `${opts.title}: ${summary || 'no data yet'}`);
    const prev = last;
    last = clean;
    ensureChart();
    if (!chart) return;
    // Appending is only exact for raw values (smoothing looks back; a
    // switch of point size at 60 points restyles the line).
    const grows = view.smoothing === 0 && chart.data.datasets.length === clean.length && extends_(prev, clean)
      && clean.every((s) => (s.points.length > 60) === (prev[clean.indexOf(s)].points.length > 60));
    if (grows) {
      clean.forEach((s, i) => {
        const ds = chart.data.datasets[i];
        const add = drawn(s.points.slice(prev[i].points.length));
        for (const [x, y] of add) ds.data.push({ x, y });
      });
      fig.dataset.appended = String(Number(fig.dataset.appended || 0) + 1);
      chart.update('none');
      if (controls) controls.refresh();
    } else {
      redraw();
    }
  }

  return {
    el: fig,
    update,
    destroy() {
      if (chart) chart.destroy();
      chart = null;
    },
  };
}
