// How searches (GET /api/searches/{id}, docs/tune.md) are shown: the
// configuration of a trial, the leaderboard order and the accuracy-against-
// trial curves.
import { num } from './format.js';

// "2026-11-27T14:05:40Z" (the search store's times) -> Unix seconds.
export function isoToUnix(iso) {
  const t = Date.parse(iso || '');
  return Number.isNaN(t) ? null : t / 1000;
}

export function tuneCommand() {
  return 'fedc tune TASK.json --budget 32 --db STATE/runs.db';
}

// {"local.lr": 0.0417843, "strategy.name": "fedprox"} -> "local.lr=0.04178 strategy.name=fedprox"
export function configText(config) {
  return Object.entries(config || {})
    .map(([k, v]) => `${k}=${typeof v === 'number' ? num(v) : v}`)
    .join(' ');
}

// Trials in leaderboard order (the server's "rank").
export function byRank(trials) {
  return [...trials].sort((a, b) => a.rank - b.rank);
}

const finished = (t) => t.accuracy !== null && t.accuracy !== undefined && t.status !== 'failed';

// Curves of accuracy against trial number: trials that ran the full rounds,
// trials stopped early (ASHA: accuracy at their last rung), and the best
// full-rounds accuracy so far.
export function trialSeries(trials) {
  const ordered = [...trials].sort((a, b) => a.trial - b.trial);
  const full = ordered.filter((t) => finished(t) && t.status === 'complete').map((t) => [t.trial, t.accuracy]);
  const early = ordered.filter((t) => finished(t) && t.status !== 'complete').map((t) => [t.trial, t.accuracy]);
  const best = [];
  let top = null;
  for (const t of ordered) {
    if (finished(t) && t.status === 'complete' && (top === null || t.accuracy > top)) top = t.accuracy;
    if (top !== null) best.push([t.trial, top]);
  }
  return { full, early, best };
}

// Trials of the Pareto front (the store's costs.pareto_rank = 1) ordered by
// client compute, and the other complete trials, each flattened to
// {trial, accuracy, client_gflop, bytes, task, config}.
export function paretoSplit(trials) {
  const flat = trials
    .filter((t) => t.status === 'complete' && t.costs && Number.isFinite(t.costs.client_gflop))
    .map((t) => ({ trial: t.trial, accuracy: t.accuracy, client_gflop: t.costs.client_gflop, bytes: t.bytes,
      client_cpu_s: t.costs.client_cpu_s, rank: t.costs.pareto_rank, task: t.task, config: t.config }));
  const front = flat.filter((t) => t.rank === 1).sort((a, b) => a.client_gflop - b.client_gflop || a.trial - b.trial);
  return { front, others: flat.filter((t) => t.rank !== 1) };
}
