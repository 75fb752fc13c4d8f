// Line charts on Chart.js (Debian libjs-chart.js, embedded as
// /vendor/chart.js, which defines window.Chart). Each chart's figure carries
// its data in data-series (JSON: {x: label, series: [{label, points: [[x, y]...]}]})
// so tests and scripts can read exactly what is drawn, and the canvas an
// aria-label that summarises it.
import { h } from './dom.js';
import { bytes } from './format.js';

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

const FORMATTERS = {
  number: (v) => String(Math.round(v * 1000) / 1000),
  percent: (v) => `${Math.round(v * 1000) / 10} %`,
  bytes: (v) => bytes(v),
  seconds: (v) => `${Math.round(v * 100) / 100} s`,
};

// opts: {title, xLabel, yLabel, xFormat, yFormat, yMin, yMax, id, xInteger}
// Returns {el, update(series)} with series = [{label, points: [[x, y]], color, dash, line}].
export function lineChart(opts) {
  const canvas = h('canvas', { role: 'img', 'aria-label': `${opts.title}: no data yet` });
  const box = h('div', { class: 'chart-box' }, canvas);
  const fig = h('figure', { class: 'chart', id: opts.id, dataset: { series: '[]', points: '0' } },
    h('figcaption', {}, opts.title), box);
  const xFormat = FORMATTERS[opts.xFormat || 'number'];
  const yFormat = FORMATTERS[opts.yFormat || 'number'];
  let chart = null;

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
          // Rounds are whole numbers: no ticks at 1.5.
          x: { type: 'linear', title: { display: true, text: opts.xLabel },
            ticks: { callback: xFormat, maxTicksLimit: 8, precision: opts.xLabel === 'Round' || opts.xInteger ? 0 : undefined } },
          y: {
            title: { display: !!opts.yLabel, text: opts.yLabel || '' },
            min: opts.yMin, max: opts.yMax,
            ticks: { callback: yFormat, maxTicksLimit: 6 },
          },
        },
        plugins: {
          legend: { display: true, position: 'bottom', labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? `${opts.xLabel} ${xFormat(items[0].parsed.x)}` : ''),
              label: (item) => `${item.dataset.label}: ${yFormat(item.parsed.y)}`,
            },
          },
        },
      },
    });
  }

  function update(series) {
    const clean = series.map((s) => ({
      label: s.label,
      points: s.points.filter((p) => p[1] !== null && p[1] !== undefined && Number.isFinite(p[1])),
    }));
    fig.dataset.series = JSON.stringify(clean);
    fig.dataset.points = String(clean.reduce((n, s) => Math.max(n, s.points.length), 0));
    const summary = clean.map((s) => {
      const last = s.points[s.points.length - 1];
      return last ? `${s.label} ${yFormat(last[1])} at ${opts.xLabel.toLowerCase()} ${xFormat(last[0])}` : `${s.label} no data`;
    }).join('; ');
    canvas.setAttribute('aria-label', `${opts.title}: ${summary || 'no data yet'}`);
    ensureChart();
    if (!chart) return;
    chart.data.datasets = clean.map((s, i) => {
      const color = series[i].color || PALETTE[i % PALETTE.length];
      return {
        label: s.label,
        data: s.points.map(([x, y]) => ({ x, y })),
        borderColor: color,
        backgroundColor: color,
        borderDash: series[i].dash || [],
        borderWidth: 2,
        // line: false draws the points alone (one point per search trial).
        showLine: series[i].line !== false,
        pointRadius: series[i].line === false ? 4 : s.points.length > 60 ? 0 : 3,
        tension: 0,
      };
    });
    chart.update('none');
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
