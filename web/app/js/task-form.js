// The task form, generated from the task spec's JSON Schema (GET /api/schema):
// one labelled input per field, grouped like the spec, with defaults, ranges
// and help from the schema. Values are sent as typed: the server's validator
// (the same one as `fedc validate`) is the authority, and its issues are shown
// next to the fields they name.
import { h, uid } from './dom.js';

const LABELS = {
  name: 'Run name', model: 'Model', rounds: 'Rounds', clients: 'Clients',
  clients_per_round: 'Clients per round', seed: 'Seed', eval_every: 'Evaluate every (rounds)',
  'dataset.name': 'Dataset', 'dataset.path': 'Data path', 'dataset.test_path': 'Test file (csv)',
  'dataset.label_column': 'Label column (csv)', 'dataset.fetch': 'Fetch when missing',
  'dataset.labels': 'Labels (cifar100)', 'dataset.extra': 'Add the extra split (svhn)',
  'dataset.synthetic_alpha': 'Model spread alpha (synthetic)', 'dataset.synthetic_beta': 'Feature spread beta (synthetic)',
  'partition.kind': 'Partition', 'partition.alpha': 'Dirichlet alpha',
  'partition.classes_per_client': 'Classes per client', 'partition.sigma': 'Size spread (sigma)',
  'local.epochs': 'Local epochs', 'local.batch': 'Batch size', 'local.max_steps': 'Max local steps',
  'local.lr': 'Learning rate', 'local.optimizer': 'Optimizer', 'local.momentum': 'Momentum',
  'local.nesterov': 'Nesterov momentum', 'local.weight_decay': 'Weight decay',
  'local.beta1': 'Beta1 (0 = optimizer default)', 'local.beta2': 'Beta2 (0 = optimizer default)',
  'local.eps': 'Epsilon (0 = optimizer default)', 'local.beta3': 'Adan beta3 (0 = default)',
  'local.hessian_power': 'AdaHessian Hessian power', 'local.adamp_delta': 'AdamP/SGDP projection delta',
  'local.adamp_wd_ratio': 'AdamP/SGDP weight-decay ratio', 'local.exadam_dynamic_step': 'EXAdam growing step size',
  'local.mfac_window': 'M-FAC gradient window', 'local.mfac_damp': 'M-FAC dampening',
  'local.keep_state': 'Keep optimizer state across rounds',
  'strategy.server_optimizer': 'Server optimizer (fedopt)', 'strategy.local_params': 'Parameters kept local',
  'partition.feature_skew': 'Feature skew (domains)', eval_personal: 'Personal evaluation samples',
  'partition.test_fraction': 'Local test split per client', 'strategy.finetune_steps': 'Fine-tuning steps',
  'strategy.ditto_lambda': 'Ditto lambda', 'strategy.clusters': 'Clusters',
  'strategy.cluster_round': 'Cluster after round',
  'strategy.gate_sparsity': 'pFedGate sparsity budget', 'strategy.gate_sparsity_min': 'pFedGate smallest budget (0 = all equal)',
  'strategy.gate_blocks': 'pFedGate blocks per tensor', 'strategy.gate_lr': 'pFedGate gate learning rate',
  'strategy.gate_init': 'pFedGate initial gate',
  'strategy.name': 'Strategy', 'strategy.server_lr': 'Server learning rate', 'strategy.mu': 'FedProx mu',
  'strategy.momentum': 'Server momentum', 'strategy.beta1': 'Server beta1', 'strategy.beta2': 'Server beta2',
  'strategy.tau': 'Server tau',
  'strategy.aggregator': 'Aggregator', 'strategy.byzantine_fraction': 'Assumed Byzantine fraction',
  'strategy.krum_m': 'Multi-Krum m', 'strategy.norm_bound': 'Update norm bound',
  'strategy.geomed_iters': 'Weiszfeld iterations', 'strategy.flag_rank': 'Flag subspace rank',
  'strategy.flag_iters': 'Flag IRLS iterations', 'strategy.mudhog_eps': 'MUD-HoG DBSCAN radius',
  'strategy.mudhog_unreliable_weight': 'Weight of unreliable clients', 'strategy.frl_sparsity': 'FRL mask sparsity',
  'attack.kind': 'Simulated attack', 'attack.fraction': 'Attacker fraction', 'attack.scale': 'Attack scale',
  'attack.target': 'Target class', 'attack.source': 'Source class', 'attack.poison_fraction': 'Poisoned batch share',
  'attack.unreliable': 'Unreliable client fraction',
  'local.min_epochs': 'Min local epochs (heterogeneous work)', 'local.lr_schedule': 'Learning-rate schedule',
  'local.lr_warmup_rounds': 'LR warm-up rounds', 'local.lr_step_rounds': 'LR step every (rounds)',
  'local.lr_gamma': 'LR step factor', 'local.lr_min': 'Final LR (cosine)',
  'strategy.server_lr_schedule': 'Server LR schedule', 'strategy.server_lr_warmup_rounds': 'Server LR warm-up rounds',
  'strategy.server_lr_step_rounds': 'Server LR step every (rounds)', 'strategy.server_lr_gamma': 'Server LR step factor',
  'strategy.server_lr_min': 'Final server LR (cosine)', 'strategy.scaffold_option': 'SCAFFOLD option (1 or 2)',
  'strategy.client_beta': 'Client momentum beta', 'strategy.fedau_cutoff': 'FedAU interval cutoff',
  'strategy.rho': 'SAM radius (rho)', 'strategy.lambda': 'FedSpeed lambda', 'strategy.hyper_level': 'FedHyper level',
  'strategy.hyper_lr': 'Hypergradient step', 'strategy.anchor_prob': 'Anchor probability',
  'strategy.margin_lambda': 'FedLD margin lambda', 'strategy.top_fraction': 'FedLD directions kept',
  'strategy.buffer_size': 'FedBuff buffer (K)', 'strategy.window_s': 'FedFix window (s)',
  'strategy.staleness': 'Staleness weight', 'strategy.staleness_a': 'Staleness a', 'strategy.staleness_hinge': 'Staleness hinge (versions)',
  'strategy.async_weights': 'Async aggregation weights', 'strategy.gossip_steps': 'Gossip steps per round (Q)',
  'strategy.strong_convexity': 'Strong convexity mu (DADAO)', 'strategy.smoothness': 'Smoothness L (DADAO; 0 = from the data)',
  'strategy.comm_rate': 'Communications per round (DADAO; 0 = from the graph)',
  'topology.kind': 'Graph', 'topology.mixing': 'Mixing weights', 'topology.p': 'Edge / rewiring probability (p)',
  'topology.k': 'Small-world neighbours (k)', 'topology.seed': 'Graph seed (0 = task seed)',
  'topology.eval_samples': 'Test samples per node (0 = all)',
  'state.memory_mb': 'Client state in memory (MiB)', 'state.spill_dir': 'Spill folder',
  'compression.up': 'Uplink codec', 'compression.down': 'Downlink codec',
  'scheduling.policy': 'Client selection', 'scheduling.choice_d': 'Candidates (d)',
  'scheduling.deadline_s': 'Round deadline (s)', 'scheduling.profile': 'Speed profile',
  'privacy.mode': 'Privacy', 'privacy.clip': 'Clip norm', 'privacy.noise_multiplier': 'Noise multiplier',
  'privacy.delta': 'DP delta', 'privacy.target_epsilon': 'Epsilon budget', 'privacy.on_exceed': 'Over budget',
  'privacy.adaptive_clip': 'Adaptive clipping', 'privacy.target_quantile': 'Clip target quantile',
  'privacy.clip_lr': 'Clip learning rate', 'privacy.count_noise': 'Clipped-count noise',
  'secagg.mode': 'Secure aggregation', 'secagg.degree': 'Masking neighbours', 'secagg.threshold': 'Share threshold',
  'secagg.clip': 'Quantisation clip',
  'stop.target_accuracy': 'Target accuracy', 'stop.max_wall_s': 'Max wall time (s)',
  'stop.plateau_rounds': 'Plateau patience (rounds)', 'stop.plateau_delta': 'Plateau min. rise',
  'deploy.min_nodes': 'Min nodes', 'deploy.min_updates': 'Min updates per round',
  'deploy.round_timeout_s': 'Round timeout (s)', 'deploy.connect_timeout_s': 'Connect timeout (s)',
  'eval.federated': 'Federated evaluation (nodes score on local test data)', 'eval.clients': 'Evaluating nodes per round',
};

const GROUP_TITLES = {
  '': 'General', dataset: 'Data', partition: 'Partition across clients', local: 'Local training',
  strategy: 'Server strategy', compression: 'Compression', scheduling: 'Scheduling', attack: 'Simulated attacks',
  privacy: 'Privacy', secagg: 'Secure aggregation', topology: 'Decentralised topology', stop: 'Stopping rules',
  deploy: 'Deployment', state: 'Per-client state', eval: 'Federated evaluation',
};

// Suggestions offered for free-text fields (any valid value may be typed).
const SUGGESTIONS = {
  model: ['mlp', 'cnn', 'dense:128,dense:10', 'conv:16:3,pool:2,dense:64,dense:10', 'external'],
  'compression.up': ['none', 'fp16', 'bf16', 'q8', 'q8|zstd', 'q4|zstd', 'topk:0.01|q8|zstd', 'sign'],
  'compression.down': ['none', 'fp16', 'bf16', 'q8', 'q8|zstd'],
  'scheduling.profile': ['none', 'lognormal'],
  'strategy.local_params': ['none', 'bn', 'norm', 'last:1'],
  'partition.feature_skew': ['none', 'mixed', 'rotate:30,rotate:60,rotate:90', 'id,noise:0.3,invert'],
};

// The strategies without a server model, which gossip over `topology`.
const DECENTRAL = ['dpsgd', 'gossip', 'gossip-vc', 'dfedsam', 'dfedsam-mgs', 'dadao'];

// Fields that only one choice uses: hidden unless that choice is made (or
// "show every field" is on, or the field has a problem). Values still count.
const RELEVANT_WHEN = {
  'dataset.path': (v) => v['dataset.name'] === 'csv' || v['dataset.path'] !== '',
  'dataset.fetch': (v) => v['dataset.name'] !== 'csv',
  'dataset.labels': (v) => v['dataset.name'] === 'cifar100',
  'dataset.extra': (v) => v['dataset.name'] === 'svhn',
  'dataset.synthetic_alpha': (v) => v['dataset.name'] === 'synthetic',
  'dataset.synthetic_beta': (v) => v['dataset.name'] === 'synthetic',
  'dataset.test_path': (v) => v['dataset.name'] === 'csv',
  'dataset.label_column': (v) => v['dataset.name'] === 'csv',
  'partition.alpha': (v) => v['partition.kind'] === 'dirichlet',
  'partition.classes_per_client': (v) => v['partition.kind'] === 'shards',
  'partition.sigma': (v) => v['partition.kind'] === 'quantity',
  'local.momentum': (v) => ['sgd', 'sgdp', 'mfac'].includes(v['local.optimizer']),
  'local.nesterov': (v) => ['sgd', 'sgdp', 'adamp'].includes(v['local.optimizer']),
  'local.beta1': (v) => !['sgd', 'sgdp', 'mfac'].includes(v['local.optimizer']),
  'local.beta2': (v) => !['sgd', 'sgdp', 'mfac'].includes(v['local.optimizer']),
  'local.eps': (v) => !['sgd', 'lion', 'mfac'].includes(v['local.optimizer']),
  'local.beta3': (v) => v['local.optimizer'] === 'adan',
  'local.hessian_power': (v) => v['local.optimizer'] === 'adahessian',
  'local.adamp_delta': (v) => ['adamp', 'sgdp'].includes(v['local.optimizer']),
  'local.adamp_wd_ratio': (v) => ['adamp', 'sgdp'].includes(v['local.optimizer']),
  'local.exadam_dynamic_step': (v) => v['local.optimizer'] === 'exadam',
  'local.mfac_window': (v) => v['local.optimizer'] === 'mfac',
  'local.mfac_damp': (v) => v['local.optimizer'] === 'mfac',
  'strategy.server_optimizer': (v) => v['strategy.name'] === 'fedopt',
  'strategy.mu': (v) => v['strategy.name'] === 'fedprox',
  'strategy.momentum': (v) => v['strategy.name'] === 'fedavgm',
  'strategy.beta1': (v) => ['fedadam', 'fedyogi'].includes(v['strategy.name']),
  'strategy.beta2': (v) => ['fedadam', 'fedyogi'].includes(v['strategy.name']),
  'strategy.tau': (v) => ['fedadam', 'fedyogi', 'fedadagrad'].includes(v['strategy.name']),
  'local.lr_step_rounds': (v) => v['local.lr_schedule'] === 'step',
  'local.lr_gamma': (v) => v['local.lr_schedule'] === 'step',
  'local.lr_min': (v) => v['local.lr_schedule'] === 'cosine',
  'strategy.server_lr_step_rounds': (v) => v['strategy.server_lr_schedule'] === 'step',
  'strategy.server_lr_gamma': (v) => v['strategy.server_lr_schedule'] === 'step',
  'strategy.server_lr_min': (v) => v['strategy.server_lr_schedule'] === 'cosine',
  'strategy.scaffold_option': (v) => v['strategy.name'] === 'scaffold',
  'strategy.client_beta': (v) => ['fedavg-m', 'scaffold-m'].includes(v['strategy.name']),
  'strategy.fedau_cutoff': (v) => v['strategy.name'] === 'fedau',
  'strategy.rho': (v) => ['fedsam', 'fedspeed', 'dfedsam', 'dfedsam-mgs'].includes(v['strategy.name']),
  'strategy.lambda': (v) => v['strategy.name'] === 'fedspeed',
  'strategy.finetune_steps': (v) => ['finetune', 'clustered'].includes(v['strategy.name']),
  'strategy.clusters': (v) => v['strategy.name'] === 'clustered',
  'strategy.cluster_round': (v) => v['strategy.name'] === 'clustered',
  'strategy.ditto_lambda': (v) => v['strategy.name'] === 'ditto',
  'strategy.gate_sparsity': (v) => v['strategy.name'] === 'pfedgate',
  'strategy.gate_sparsity_min': (v) => v['strategy.name'] === 'pfedgate',
  'strategy.gate_blocks': (v) => v['strategy.name'] === 'pfedgate',
  'strategy.gate_lr': (v) => v['strategy.name'] === 'pfedgate',
  'strategy.gate_init': (v) => v['strategy.name'] === 'pfedgate',
  'strategy.hyper_level': (v) => v['strategy.name'] === 'fedhyper',
  'strategy.hyper_lr': (v) => v['strategy.name'] === 'fedhyper',
  'strategy.anchor_prob': (v) => v['strategy.name'] === 'fedamd',
  'strategy.margin_lambda': (v) => v['strategy.name'] === 'fedld',
  'strategy.top_fraction': (v) => v['strategy.name'] === 'fedld',
  'eval.clients': (v) => v['eval.federated'] === true || v.model === 'external',
  'strategy.buffer_size': (v) => v['strategy.name'] === 'fedbuff',
  'strategy.window_s': (v) => v['strategy.name'] === 'fedfix',
  'strategy.staleness': (v) => ['fedbuff', 'fedfix', 'async-fedavg'].includes(v['strategy.name']),
  'strategy.staleness_a': (v) => ['fedbuff', 'fedfix', 'async-fedavg'].includes(v['strategy.name']) &&
    v['strategy.staleness'] !== 'constant',
  'strategy.staleness_hinge': (v) => ['fedbuff', 'fedfix', 'async-fedavg'].includes(v['strategy.name']) &&
    v['strategy.staleness'] === 'hinge',
  'strategy.async_weights': (v) => ['fedbuff', 'fedfix', 'async-fedavg'].includes(v['strategy.name']),
  'strategy.gossip_steps': (v) => ['dpsgd', 'dfedsam-mgs'].includes(v['strategy.name']),
  'strategy.strong_convexity': (v) => v['strategy.name'] === 'dadao',
  'strategy.smoothness': (v) => v['strategy.name'] === 'dadao',
  'strategy.comm_rate': (v) => v['strategy.name'] === 'dadao',
  'topology.kind': (v) => DECENTRAL.includes(v['strategy.name']),
  'topology.mixing': (v) => DECENTRAL.includes(v['strategy.name']),
  'topology.p': (v) => DECENTRAL.includes(v['strategy.name']) &&
    ['erdos-renyi', 'small-world'].includes(v['topology.kind']),
  'topology.k': (v) => DECENTRAL.includes(v['strategy.name']) && v['topology.kind'] === 'small-world',
  'topology.seed': (v) => DECENTRAL.includes(v['strategy.name']),
  'topology.eval_samples': (v) => DECENTRAL.includes(v['strategy.name']),
  'scheduling.choice_d': (v) => v['scheduling.policy'] === 'power-of-choice',
  'strategy.byzantine_fraction': (v) => ['trimmed-mean', 'krum', 'multi-krum', 'bulyan'].includes(v['strategy.aggregator']),
  'strategy.krum_m': (v) => v['strategy.aggregator'] === 'multi-krum',
  'strategy.norm_bound': (v) => v['strategy.aggregator'] !== 'frl',
  'strategy.geomed_iters': (v) => v['strategy.aggregator'] === 'geomed',
  'strategy.flag_rank': (v) => v['strategy.aggregator'] === 'flag',
  'strategy.flag_iters': (v) => v['strategy.aggregator'] === 'flag',
  'strategy.mudhog_eps': (v) => v['strategy.aggregator'] === 'mudhog',
  'strategy.mudhog_unreliable_weight': (v) => v['strategy.aggregator'] === 'mudhog',
  'strategy.frl_sparsity': (v) => v['strategy.aggregator'] === 'frl',
  'attack.fraction': (v) => v['attack.kind'] !== 'none',
  'attack.scale': (v) => !['none', 'label-flip', 'backdoor'].includes(v['attack.kind']),
  'attack.target': (v) => v['attack.kind'] === 'backdoor' || (v['attack.kind'] === 'label-flip' && Number(v['attack.source']) >= 0),
  'attack.source': (v) => v['attack.kind'] === 'label-flip',
  'attack.poison_fraction': (v) => v['attack.kind'] === 'backdoor',
  'privacy.clip': (v) => v['privacy.mode'] !== 'none',
  'privacy.noise_multiplier': (v) => v['privacy.mode'] !== 'none',
  'privacy.delta': (v) => v['privacy.mode'] !== 'none',
  'privacy.target_epsilon': (v) => v['privacy.mode'] !== 'none',
  'privacy.on_exceed': (v) => v['privacy.mode'] !== 'none' && Number(v['privacy.target_epsilon']) > 0,
  'privacy.adaptive_clip': (v) => v['privacy.mode'] === 'dp-fedavg',
  'privacy.target_quantile': (v) => v['privacy.mode'] === 'dp-fedavg' && v['privacy.adaptive_clip'] === true,
  'privacy.clip_lr': (v) => v['privacy.mode'] === 'dp-fedavg' && v['privacy.adaptive_clip'] === true,
  'privacy.count_noise': (v) => v['privacy.mode'] === 'dp-fedavg' && v['privacy.adaptive_clip'] === true,
  'secagg.degree': (v) => v['secagg.mode'] !== 'none',
  'secagg.threshold': (v) => v['secagg.mode'] !== 'none',
  'secagg.clip': (v) => v['secagg.mode'] !== 'none',
};

// How the source of an explained value is named beside its field.
const SOURCE_LABELS = { words: 'Your words', goal: 'Your goal', llm: 'Language model', default: 'Default' };

const NUMBER_RE = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function humanize(key) {
  const s = key.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// "x > 0 and ≤ 10", "one of a, b", "1 to 63 bytes"
function allowedText(s) {
  const parts = [];
  if (s.enum) return `one of ${s.enum.join(', ')}`;
  if (s.type === 'boolean') return 'on or off';
  if (s.type === 'string') {
    if (s.maxLength !== undefined) parts.push(`${s.minLength || 0} to ${s.maxLength} bytes`);
    return parts.join('');
  }
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.exclusiveMaximum !== undefined) parts.push(`< ${s.exclusiveMaximum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  const kind = s.type === 'integer' ? 'an integer' : 'a number';
  return parts.length ? `${kind} ${parts.join(' and ')}` : kind;
}

function defaultText(s) {
  if (s.type === 'boolean') return s.default ? 'on' : 'off';
  if (s.type === 'string') return s.default === '' ? 'empty' : s.default;
  return String(s.default);
}

// A short first part shown under the field, the rest behind "More".
function splitDescription(text) {
  const t = text || '';
  const m = t.match(/^(.*?\.)\s+(?=\S)(.*)$/s);
  const first = m ? m[1] : t;
  if (first.length <= 160) return m ? [m[1], m[2]] : [t, ''];
  const cut = t.lastIndexOf(' ', 120);
  return [`${t.slice(0, cut)} …`, t];
}

// Walks the schema into [{group, title, description, fields: [{path, key, schema}]}].
export function schemaGroups(schema) {
  const general = { group: '', title: GROUP_TITLES[''], description: '', fields: [] };
  const groups = [general];
  for (const [key, s] of Object.entries(schema.properties || {})) {
    if (s.type === 'object') {
      groups.push({
        group: key, title: GROUP_TITLES[key] || humanize(key), description: s.description || '',
        fields: Object.entries(s.properties || {}).map(([k, fs]) => ({ path: `${key}.${k}`, key: k, schema: fs })),
      });
    } else {
      // "model" may also be an object (an external model's manifest): the
      // form edits its string form; a manifest comes from the nodes.
      general.fields.push({ path: key, key, schema: s.oneOf ? { ...s.oneOf[0], description: s.description } : s });
    }
  }
  return groups;
}

function fieldId(path) {
  return `task-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;
}

function makeField(f) {
  const s = f.schema;
  const id = fieldId(f.path);
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const label = LABELS[f.path] || humanize(f.key);
  let input;
  let datalist = null;
  if (s.enum) {
    input = h('select', { id, name: f.path }, s.enum.map((v) => h('option', { value: v }, v)));
  } else if (s.type === 'boolean') {
    input = h('input', { id, name: f.path, type: 'checkbox' });
  } else {
    const numeric = s.type === 'integer' || s.type === 'number';
    const list = SUGGESTIONS[f.path] ? uid('suggest') : null;
    input = h('input', {
      id, name: f.path, type: 'text', autocomplete: 'off', spellcheck: 'false',
      inputmode: numeric ? (s.type === 'integer' ? 'numeric' : 'decimal') : null,
      maxlength: s.maxLength !== undefined ? String(s.maxLength * 4) : null, list,
    });
    if (list) datalist = h('datalist', { id: list }, SUGGESTIONS[f.path].map((v) => h('option', { value: v })));
  }
  const noteId = `${id}-note`;
  input.setAttribute('aria-describedby', `${helpId} ${errorId} ${noteId}`);
  const [first, rest] = splitDescription(s.description);
  const help = h('div', { class: 'help', id: helpId },
    h('code', { class: 'path' }, f.path), ' ', h('span', {}, first), ' ',
    h('span', { class: 'constraint' }, `Default ${defaultText(s)}; allowed: ${allowedText(s)}.`),
    rest ? h('details', { class: 'more' }, h('summary', {}, 'More'), h('p', {}, rest)) : null);
  const error = h('p', { class: 'field-error', id: errorId, hidden: true });
  // Where the value came from, when a plain-language request filled it.
  const note = h('p', { class: 'field-note', id: noteId, hidden: true });
  const labelEl = h('label', { for: id }, label);
  const wrap = s.type === 'boolean'
    ? h('div', { class: 'field field-check', dataset: { path: f.path } }, h('div', { class: 'check-row' }, input, labelEl), note, error, help)
    : h('div', { class: 'field', dataset: { path: f.path } }, labelEl, input, datalist, note, error, help);
  return { ...f, id, input, wrap, error, note };
}

export function buildTaskForm(schema, { onChange } = {}) {
  const groups = schemaGroups(schema);
  const fields = new Map();
  const groupErrors = new Map();
  const showAll = h('input', { type: 'checkbox', id: 'task-show-all' });
  const summary = h('div', { class: 'error-summary', id: 'task-issues', tabindex: '-1', hidden: true, role: 'alert' });

  const fieldsets = groups.map((g) => {
    const items = g.fields.map((f) => {
      const field = makeField(f);
      fields.set(f.path, field);
      return field.wrap;
    });
    const gErr = h('p', { class: 'field-error group-error', hidden: true, id: `task-group-${g.group || 'general'}-error` });
    if (g.group) groupErrors.set(g.group, gErr);
    return h('fieldset', { class: 'group', dataset: { group: g.group || 'general' } },
      h('legend', {}, g.title),
      g.description ? h('p', { class: 'group-help' }, g.description) : null,
      gErr,
      h('div', { class: 'fields' }, items));
  });

  const el = h('div', { class: 'task-form' },
    summary,
    h('div', { class: 'check-row show-all' }, showAll,
      h('label', { for: 'task-show-all' }, 'Show every field (also those the current choices do not use)')),
    h('div', { class: 'groups' }, fieldsets));

  function rawValues() {
    const v = {};
    for (const [path, f] of fields) v[path] = f.schema.type === 'boolean' ? f.input.checked : f.input.value;
    return v;
  }

  function updateRelevance() {
    const v = rawValues();
    for (const [path, f] of fields) {
      const rule = RELEVANT_WHEN[path];
      const relevant = !rule || rule(v);
      f.wrap.hidden = !(relevant || showAll.checked || f.wrap.classList.contains('has-error')
        || f.wrap.classList.contains('from-request'));
    }
  }

  // The value to send for a field, or undefined when it equals the default.
  function fieldValue(f, minimal) {
    const s = f.schema;
    if (s.type === 'boolean') {
      return minimal && f.input.checked === s.default ? undefined : f.input.checked;
    }
    const text = f.input.value;
    if (s.type === 'integer' || s.type === 'number') {
      const t = text.trim();
      if (!NUMBER_RE.test(t)) return text; // the server names the field and what is allowed
      const n = Number(t);
      // Integers beyond 2^53 (the seed) travel as digits; json.js writes them bare.
      const value = s.type === 'integer' && /^\d+$/.test(t) && !Number.isSafeInteger(n) ? t.replace(/^0+(?=\d)/, '') : n;
      if (minimal && typeof value === 'number' && value === s.default) return undefined;
      return value;
    }
    return minimal && text === s.default ? undefined : text;
  }

  // The task as an object: only what differs from the defaults (plus the
  // name), like the examples; {minimal: false} gives every field.
  function getTask({ minimal = true } = {}) {
    const task = {};
    for (const [path, f] of fields) {
      const value = fieldValue(f, minimal && path !== 'name');
      if (value === undefined) continue;
      const dot = path.indexOf('.');
      if (dot < 0) task[path] = value;
      else {
        const g = path.slice(0, dot);
        task[g] = task[g] || {};
        task[g][path.slice(dot + 1)] = value;
      }
    }
    return task;
  }

  function setField(f, value) {
    if (f.schema.type === 'boolean') f.input.checked = value === true;
    else f.input.value = value === null || value === undefined ? '' : String(value);
  }

  function reset() {
    for (const f of fields.values()) setField(f, f.schema.default);
    clearIssues();
    clearExplanations();
    updateRelevance();
    updateDatasetNote();
  }

  // Fills the form from a task object over the defaults; returns the paths
  // it does not know (the caller reports them).
  function setTask(task) {
    for (const f of fields.values()) setField(f, f.schema.default);
    clearExplanations();
    const unknown = [];
    for (const [key, value] of Object.entries(task || {})) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) {
          const f = fields.get(`${key}.${k}`);
          if (f) setField(f, v);
          else unknown.push(`${key}.${k}`);
        }
      } else {
        const f = fields.get(key);
        if (f && f.schema.type !== 'object') setField(f, value);
        else unknown.push(key);
      }
    }
    clearIssues();
    updateRelevance();
    updateDatasetNote();
    return unknown;
  }

  function clearIssues() {
    for (const f of fields.values()) {
      f.error.hidden = true;
      f.error.textContent = '';
      f.input.removeAttribute('aria-invalid');
      f.wrap.classList.remove('has-error');
    }
    for (const g of groupErrors.values()) {
      g.hidden = true;
      g.textContent = '';
    }
    summary.hidden = true;
    summary.replaceChildren();
  }

  // issues: [{path, message}] from the server. Each goes next to its field,
  // its group, or (document-level, unknown fields) into the summary.
  function showIssues(issues, heading) {
    clearIssues();
    if (!issues || !issues.length) return;
    const items = [];
    for (const issue of issues) {
      const f = fields.get(issue.path);
      if (f) {
        f.error.textContent = issue.message;
        f.error.hidden = false;
        f.input.setAttribute('aria-invalid', 'true');
        f.wrap.classList.add('has-error');
        items.push(h('li', {}, h('a', { href: `#${f.id}`, onclick: (e) => {
          e.preventDefault();
          f.input.focus();
        } }, issue.message)));
      } else if (groupErrors.has(issue.path)) {
        const g = groupErrors.get(issue.path);
        g.textContent = issue.message;
        g.hidden = false;
        items.push(h('li', {}, issue.message));
      } else {
        items.push(h('li', {}, issue.message));
      }
    }
    const title = heading || `The task has ${issues.length} problem${issues.length === 1 ? '' : 's'}`;
    summary.append(h('h2', {}, title.charAt(0).toUpperCase() + title.slice(1)),
      h('ul', {}, items));
    summary.hidden = false;
    updateRelevance();
  }

  function clearExplanation(f) {
    f.note.hidden = true;
    f.note.replaceChildren();
    f.wrap.classList.remove('from-request');
    delete f.wrap.dataset.source;
  }

  function clearExplanations() {
    for (const f of fields.values()) clearExplanation(f);
  }

  // items: [{field, source, reason}] (the explanation of POST /api/intent).
  // Each field is highlighted with its source and reason beside it, until
  // the person changes its value. Returns the fields the form does not have.
  function explain(items) {
    clearExplanations();
    const unknown = [];
    for (const item of items) {
      const f = fields.get(item.field);
      if (!f) {
        unknown.push(item.field);
        continue;
      }
      f.note.replaceChildren(
        h('span', { class: `source source-${item.source}` }, SOURCE_LABELS[item.source] || item.source), ' ', item.reason);
      f.note.hidden = false;
      f.wrap.classList.add('from-request');
      f.wrap.dataset.source = item.source;
    }
    updateRelevance();
    return unknown;
  }

  // The data catalog (GET /api/datasets): each dataset option says whether
  // the server holds it, and a note under the field says what launching
  // will do (use the copy, or fetch it first).
  let catalog = new Map();
  const datasetNote = h('p', { class: 'field-note dataset-state', id: 'task-dataset-state', role: 'status' });
  const datasetField = fields.get('dataset.name');
  if (datasetField) datasetField.input.insertAdjacentElement('afterend', datasetNote);

  function megabytes(n) {
    return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`;
  }

  function updateDatasetNote() {
    if (!datasetField) return;
    const d = catalog.get(datasetField.input.value);
    if (!d) {
      datasetNote.hidden = true;
      return;
    }
    datasetNote.hidden = false;
    datasetNote.dataset.state = d.present ? 'present' : 'absent';
    const size = `${d.bytes_estimated ? 'at most ' : ''}${megabytes(d.bytes)}`;
    datasetNote.textContent = d.present
      ? `${d.title}: on the server (${d.state === 'system' ? 'system copy' : 'cache'}, ${d.dir}); ${d.train.toLocaleString()} training images, ${d.classes} classes.`
      : `${d.title}: not on the server yet. With "fetch when missing" on auto, the server downloads it (${size}) into ${d.dir} before the run starts; nodes fetch their own copy.`;
  }

  function setDatasetCatalog(list) {
    catalog = new Map((list || []).map((d) => [d.name, d]));
    if (!datasetField) return;
    for (const opt of datasetField.input.options) {
      const d = catalog.get(opt.value);
      if (!d) continue;
      opt.textContent = `${d.name} — ${d.title} (${d.present ? 'present' : 'absent: fetched on launch'})`;
      opt.dataset.state = d.present ? 'present' : 'absent';
    }
    updateDatasetNote();
  }

  function focusFirstIssue() {
    const first = [...fields.values()].find((f) => f.wrap.classList.contains('has-error'));
    if (first) first.input.focus();
    else if (!summary.hidden) summary.focus();
  }

  el.addEventListener('input', (e) => {
    if (e.target === showAll) return;
    // The person's own value: the request's explanation no longer applies.
    const changed = fields.get(e.target.name);
    if (changed && changed.input === e.target) clearExplanation(changed);
    updateRelevance();
    if (onChange) onChange();
  });
  el.addEventListener('change', () => {
    updateRelevance();
    updateDatasetNote();
  });
  reset();

  return { el, getTask, setTask, reset, showIssues, clearIssues, focusFirstIssue, explain, clearExplanations, fields,
    setDatasetCatalog };
}
