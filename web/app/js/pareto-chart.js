// The Pareto front of a search as a bubble chart on Chart.js: accuracy
// against client compute, the area of each point proportional to the bytes
// its run sends. Like charts.js, the figure carries what it draws in
// data-series (JSON: [{label, points: [{trial, x, y, bytes, r}]}]) so tests
// read exactly what is plotted, and the canvas an aria-label summarising it.
import { h } from './dom.js';
import { bytes as fmtBytes } from './format.js';
import { PALETTE } from './charts.js';

const R_MIN = 4;
const R_MAX = 22;

// Radius for each point: area proportional to bytes, within R_MIN..R_MAX.
export function bubbleRadii(values) {
  const top = Math.max(0, ...values.filter(Number.isFinite));
  return values.map((b) => (Number.isFinite(b) && top > 0 ? Math.max(R_MIN, R_MAX * Math.sqrt(b / top)) : R_MIN));
}

// opts: {id, title}. update(front, others): trials {trial, accuracy, client_gflop, bytes}.
export function paretoChart(opts) {
  const canvas = h('canvas', { role: 'img', 'aria-label': `${opts.title}: no data yet` });
  const fig = h('figure', { class: 'chart', id: opts.id, dataset: { series: '[]', points: '0' } },
    h('figcaption', {}, opts.title), h('div', { class: 'chart-box' }, canvas));
  let chart = null;

  function points(trials) {
    const radii = bubbleRadii(trials.map((t) => t.bytes));
    return trials.map((t, i) => ({ trial: t.trial, x: t.client_gflop, y: t.accuracy, bytes: t.bytes, r: radii[i] }));
  }

  function update(front, others) {
    const all = bubbleRadii([...front, ...others].map((t) => t.bytes));
    const fp = points(front).map((p, i) => ({ ...p, r: all[i] }));
    const op = points(others).map((p, i) => ({ ...p, r: all[front.length + i] }));
    const series = [{ label: 'Pareto front', points: fp }, { label: 'other trials', points: op }];
    fig.dataset.series = JSON.stringify(series);
    fig.dataset.points = String(fp.length);
    const ends = fp.length ? `${fp.length} points from ${Math.round(fp[0].x)} GFLOP at ${Math.round(fp[0].y * 1000) / 10} % `
      + `to ${Math.round(fp[fp.length - 1].x)} GFLOP at ${Math.round(fp[fp.length - 1].y * 1000) / 10} %` : 'no complete trial yet';
    canvas.setAttribute('aria-label', `${opts.title}: ${ends}`);
    if (!window.Chart) return;
    if (!chart) {
      chart = new window.Chart(canvas, {
        type: 'bubble',
        data: { datasets: [] },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
          scales: {
            x: { type: 'linear', title: { display: true, text: 'client compute per run (GFLOP)' } },
            y: { title: { display: true, text: 'accuracy' }, ticks: { callback: (v) => `${Math.round(v * 1000) / 10} %` } },
          },
          plugins: {
            legend: { display: true, position: 'bottom', labels: { boxWidth: 12 } },
            tooltip: {
              callbacks: {
                label: (item) => `trial ${item.raw.trial}: ${Math.round(item.raw.y * 1000) / 10} %, `
                  + `${Math.round(item.raw.x * 10) / 10} GFLOP, ${fmtBytes(item.raw.bytes)}`,
              },
            },
          },
        },
      });
    }
    chart.data.datasets = series.map((s, i) => ({
      label: s.label,
      data: s.points,
      borderColor: i === 0 ? PALETTE[0] : '#94a3b8',
      backgroundColor: i === 0 ? 'rgba(37, 99, 235, 0.45)' : 'rgba(148, 163, 184, 0.3)',
    }));
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
