// Curves of a run from its round objects (docs/api.md "Round object").

export function sortRounds(rounds) {
  return [...rounds].sort((a, b) => a.round - b.round);
}

// Merges one round into a list keyed by round number (events are idempotent).
export function upsertRound(rounds, round) {
  const i = rounds.findIndex((r) => r.round === round.round);
  if (i >= 0) rounds[i] = round;
  else rounds.push(round);
  rounds.sort((a, b) => a.round - b.round);
  return rounds;
}

const evaluated = (r) => r.evaluated !== false && r.accuracy !== null && r.accuracy !== undefined;

export function accuracyByRound(rounds) {
  return rounds.filter(evaluated).map((r) => [r.round, r.accuracy]);
}

// Per-client evaluation (partition.test_fraction): rounds that carry it.
export function hasClientEval(rounds) {
  return rounds.some((r) => typeof r.clients_evaluated === 'number' && r.clients_evaluated > 0);
}

export function clientAccByRound(rounds, key) {
  return rounds.filter((r) => typeof r[key] === 'number').map((r) => [r.round, r[key]]);
}

export function lossByRound(rounds) {
  return rounds.filter(evaluated).map((r) => [r.round, r.loss]);
}

// Federated evaluation: the nodes' scores on their local test data.
const fedEvaluated = (r) => r.fed_accuracy !== null && r.fed_accuracy !== undefined;

export function fedAccuracyByRound(rounds) {
  return rounds.filter(fedEvaluated).map((r) => [r.round, r.fed_accuracy]);
}

export function fedLossByRound(rounds) {
  return rounds.filter(fedEvaluated).map((r) => [r.round, r.fed_loss]);
}

export function trainLossByRound(rounds) {
  return rounds.filter((r) => r.train_loss !== null && r.train_loss !== undefined).map((r) => [r.round, r.train_loss]);
}

// A DP run's rounds carry delta (and epsilon, null when no noise is added).
export function isPrivate(rounds) {
  return rounds.some((r) => r.delta !== null && r.delta !== undefined);
}

export function epsilonByRound(rounds) {
  return rounds.filter((r) => typeof r.epsilon === 'number').map((r) => [r.round, r.epsilon]);
}

export function totalBytes(r) {
  return (r.bytes_down_total || 0) + (r.bytes_up_total || 0);
}

export function accuracyByBytes(rounds) {
  return rounds.filter(evaluated).map((r) => [totalBytes(r), r.accuracy]);
}

export function cumulativeBytes(rounds, direction) {
  const key = direction === 'down' ? 'bytes_down_total' : 'bytes_up_total';
  return rounds.map((r) => [r.round, r[key]]);
}

export function cpuByRound(rounds, who) {
  const key = who === 'server' ? 'server_cpu_s' : 'client_cpu_s';
  return rounds.map((r) => [r.round, r[key]]);
}

// Adds the other x values of each point's round (wall time since the start,
// bytes on the wire so far) for charts whose x axis can be switched:
// withAxes(rounds)(points) -> [[round, y, {wall, bytes}]].
export function withAxes(rounds) {
  const byRound = new Map(rounds.map((r) => [r.round, { wall: r.elapsed_s, bytes: totalBytes(r) }]));
  return (points) => points.map((p) => [p[0], p[1], byRound.get(p[0])]);
}
