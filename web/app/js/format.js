// How numbers, bytes, times and statuses are shown.

export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = Number(n);
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

export function bitsPerSecond(bps) {
  if (!bps) return '–';
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s'];
  let v = Number(bps);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u += 1;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

export function percent(ratio, digits = 1) {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '–';
  return `${(ratio * 100).toFixed(digits)} %`;
}

export function num(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (Number.isInteger(v)) return String(v);
  const s = Number(v).toPrecision(digits);
  // 0.05000 -> 0.05, but 0.99998 stays 1.000 (it is not exactly 1).
  const trimmed = s.replace(/(\.\d*?)0+(e|$)/, '$1$2').replace(/\.(e|$)/, '$1');
  return trimmed.includes('.') || trimmed.includes('e') ? trimmed : s;
}

// Whole counts with thousands separators: 177,100.
export function count(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return Math.round(v).toLocaleString('en-US');
}

export function seconds(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '–';
  if (s < 1) return `${(s * 1000).toFixed(0)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  const hr = Math.floor(m / 60);
  return `${hr} h ${m - hr * 60} min`;
}

export function dateTime(unix) {
  if (!unix) return '–';
  return new Date(unix * 1000).toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
}

// Compact form for tables: "Nov 27, 13:20".
export function shortDate(unix) {
  if (!unix) return '–';
  return new Date(unix * 1000).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
}

export function ago(unix, now = Date.now() / 1000) {
  if (!unix) return 'never';
  const d = Math.max(0, now - unix);
  if (d < 5) return 'just now';
  if (d < 90) return `${Math.round(d)} s ago`;
  if (d < 5400) return `${Math.round(d / 60)} min ago`;
  if (d < 86400 * 2) return `${Math.round(d / 3600)} h ago`;
  return dateTime(unix);
}

// 'cancelling' is the app's own: cancel was asked, the server is still stopping the run.
// 'paused': the server cannot write the run's progress (storage full, no
// descriptors); the run's error says why and it goes on by itself.
export const ACTIVE_STATUSES = new Set(['queued', 'running', 'paused', 'cancelling']);

// One line about what a run trains, from the run object's summary.
export function taskSummary(s) {
  if (!s) return '';
  const parts = [s.dataset, s.model, s.strategy,
    `${s.clients_per_round}/${s.clients} clients`,
    `${s.local_epochs} epoch${s.local_epochs === 1 ? '' : 's'}`];
  if (s.compression_up && s.compression_up !== 'none') parts.push(`up ${s.compression_up}`);
  if (s.compression_down && s.compression_down !== 'none') parts.push(`down ${s.compression_down}`);
  return parts.join(' · ');
}

// A run name from what a task trains: "fmnist-cnn", "cifar10-conv16"; at
// most 64 of A-Z a-z 0-9 . _ - (the name field's rule).
const SHORT_DATASETS = { 'fashion-mnist': 'fmnist' };
export function taskName(task) {
  const dataset = (task.dataset && task.dataset.name) || 'fashion-mnist';
  const model = String(task.model || 'mlp');
  // A preset keeps its name; a layer spec is named by its first layer ("conv:16:3" -> "conv16").
  const first = model.split(',')[0].split(':').slice(0, 2).join('');
  const name = `${SHORT_DATASETS[dataset] || dataset}-${first}`;
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 64);
}

// "Last seen" of a node: a connected node is seen now (the server's
// last_seen of an online node is the time of the request), an offline one
// as long ago as it was last connected.
export function lastSeen(node) {
  if (node.status === 'online') return 'now (connected)';
  return node.last_seen ? ago(node.last_seen) : '–';
}
