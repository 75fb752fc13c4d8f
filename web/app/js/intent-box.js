// The prompt box of the New task page: a request in plain words goes to
// POST /api/intent (docs/intent.md), and the answer fills the task form for
// review; nothing is launched here. The box itself shows what the form
// cannot: the question when the request contradicts itself, the words that
// were not understood, the parser's notes and the fields left at their
// defaults. The LLM backend answers as a job, polled until it is done.
import { h, replace } from './dom.js';

const POLL_MS = 700;
const REQUEST_MAX = 4096; // FEDC_INTENT_REQUEST_MAX, in bytes

// onResult(result) fills the form from an answer with status "ok" and
// returns the explanation entries the form had no field for; focusField(path)
// brings a field of the form into view.
export function intentBox(ctx, { onResult, focusField }) {
  const textarea = h('textarea', {
    id: 'intent-request', rows: '2', maxlength: String(REQUEST_MAX), spellcheck: 'true',
    placeholder: 'e.g. train a small CNN on fashion-mnist across 50 clients with strongly non-IID data for 40 rounds, keep bandwidth low',
    'aria-describedby': 'intent-help',
  });
  const backend = h('select', { id: 'intent-backend' },
    h('option', { value: 'builtin' }, 'Built-in parser (offline)'),
    h('option', { value: 'llm', disabled: true }, 'Language model (checking…)'));
  const fill = h('button', { type: 'submit', class: 'btn btn-primary', id: 'intent-fill' }, 'Fill the form');
  const status = h('p', { class: 'form-status', id: 'intent-status', role: 'status', 'aria-live': 'polite' });
  const result = h('div', { id: 'intent-result' });
  let seq = 0;
  let pollTimer = null;
  let stopped = false;

  ctx.api.intentBackends().then((b) => {
    const llm = backend.querySelector('option[value="llm"]');
    if (b.llm && b.llm.configured) {
      llm.disabled = false;
      llm.textContent = `Language model (${b.llm.model})`;
    } else {
      llm.textContent = 'Language model (not configured on this server)';
      llm.title = b.llm && b.llm.problem ? b.llm.problem : '';
    }
  }).catch(() => {
    backend.querySelector('option[value="llm"]').textContent = 'Language model (unavailable)';
  });

  function setBusy(busy, text) {
    fill.disabled = busy;
    status.textContent = text || '';
    status.dataset.state = busy ? 'checking' : '';
  }

  function wait(ms) {
    return new Promise((resolve) => { pollTimer = setTimeout(resolve, ms); });
  }

  // The LLM's answer: poll the job while the endpoint thinks.
  async function answerOf(first, mySeq) {
    let r = first;
    while (r && r.job !== undefined && r.status === 'pending') {
      await wait(POLL_MS);
      if (stopped || mySeq !== seq) return null;
      r = await ctx.api.intentJob(r.job);
    }
    return r;
  }

  function list(items) {
    return h('ul', {}, items.map((t) => h('li', {}, t)));
  }

  function show(r) {
    const parts = [];
    const fromRequest = r.status === 'ok' ? r.explanation.filter((e) => e.source !== 'default') : [];
    if (r.status === 'ok' && !fromRequest.length) {
      // A request that sets nothing changes nothing: the form keeps what was typed.
      parts.push(h('div', { class: 'warn-box', role: 'alert', id: 'intent-question', dataset: { status: 'nothing' } },
        h('strong', {}, 'Nothing in the request names a setting: '),
        'no field was filled. Name a dataset, a model, a number of clients or rounds, a goal…',
        h('p', { class: 'intent-unchanged' }, 'The form was not changed.')));
    } else if (r.status === 'ok') {
      const missing = onResult(r);
      const defaults = r.explanation.filter((e) => e.source === 'default');
      parts.push(h('p', { class: 'info-box', id: 'intent-filled' },
        `The form is filled: ${fromRequest.length} field${fromRequest.length === 1 ? '' : 's'} from your request, `,
        'highlighted below with where each value came from. Check them, change what you like, then press ',
        h('strong', {}, 'Launch run'), '. Nothing runs before that.'));
      if (fromRequest.length) {
        parts.push(h('p', { class: 'intent-fields', id: 'intent-fields' }, 'Set from your request: ',
          fromRequest.map((e, i) => [i ? ' ' : '', h('button', {
            type: 'button', class: 'link-button', title: e.reason, onclick: () => focusField(e.field),
          }, e.field)])));
      }
      if (r.goals && r.goals.length) parts.push(h('p', {}, 'Goals recognised: ', r.goals.join(', '), '.'));
      if (defaults.length) {
        parts.push(h('details', { class: 'intent-defaults' },
          h('summary', {}, `Left at their defaults (${defaults.length})`),
          list(defaults.map((e) => h('span', {}, h('code', {}, e.field), ` = ${JSON.stringify(e.value)}: ${e.reason}`)))));
      }
      if (missing && missing.length) parts.push(h('p', { class: 'warn-box' }, `Explained but not in the form: ${missing.join(', ')}.`));
    } else {
      const question = r.status === 'conflict' || r.status === 'question';
      const q = r.question || {};
      // Each reading settles the question: its answer is added to the request.
      const readings = (q.readings || []).map((rd) => h('li', {},
        h('button', {
          type: 'button', class: 'link-button intent-reading', title: `Adds “${rd.answer}” to the request`,
          onclick: () => { textarea.value = `${textarea.value.trim()}. ${rd.answer}`; form.requestSubmit(); },
        }, q.field ? `${q.field} = ${JSON.stringify(rd.value)}` : JSON.stringify(rd.value)),
        ` — ${rd.reason}`));
      parts.push(h('div', { class: 'error-box', role: 'alert', id: 'intent-question', dataset: { status: r.status, field: q.field || '' } },
        h('strong', {}, question ? 'A question before the form is filled: ' : 'The request was not turned into a task: '),
        r.error || r.status,
        readings.length ? h('ul', { class: 'intent-readings', id: 'intent-readings' }, readings) : null,
        h('p', { class: 'intent-unchanged' }, 'The form was not changed.')));
    }
    if (r.not_understood && r.not_understood.length) {
      parts.push(h('div', { class: 'warn-box', id: 'intent-unknown' },
        h('strong', {}, 'Not understood (ignored): '), r.not_understood.map((w) => `“${w}”`).join(', ')));
    }
    if (r.notes && r.notes.length) {
      parts.push(h('div', { class: 'intent-notes', id: 'intent-notes' }, h('strong', {}, 'Notes'), list(r.notes)));
    }
    replace(result, parts);
  }

  const form = h('form', { class: 'card intent-box', id: 'intent-box', 'aria-labelledby': 'intent-title', novalidate: true },
    h('h2', { id: 'intent-title' }, 'Describe the task in plain words'),
    h('label', { for: 'intent-request' }, 'What should be trained?'),
    textarea,
    h('p', { class: 'help', id: 'intent-help' },
      'Datasets, models and their size, clients and clients per round, rounds or a target accuracy, data skew, ',
      'local training, strategy, compression and goals such as “keep bandwidth low”. ',
      'The answer fills the form below for you to check; Ctrl+Enter also fills it.'),
    h('div', { class: 'intent-actions' },
      h('label', { for: 'intent-backend', class: 'inline-label' }, 'Read by'), backend, fill, status),
    result);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = textarea.value.trim();
    if (!text) {
      replace(result, h('p', { class: 'error-box', role: 'alert' }, 'Write what should be trained first.'));
      textarea.focus();
      return;
    }
    const mySeq = ++seq;
    const llm = backend.value === 'llm';
    setBusy(true, llm ? 'Asking the language model…' : 'Reading the request…');
    replace(result); // the previous answer no longer applies
    try {
      const r = await answerOf(await ctx.api.intent(text, backend.value), mySeq);
      if (!r || mySeq !== seq || stopped) return;
      const filled = r.status === 'ok' && r.explanation.some((e) => e.source !== 'default');
      setBusy(false, filled ? 'Done: review the form below.' : 'Not filled: see below.');
      status.dataset.state = filled ? 'valid' : 'invalid';
      show(r);
    } catch (err) {
      if (mySeq !== seq || stopped) return;
      setBusy(false, 'Not filled.');
      status.dataset.state = 'error';
      replace(result, h('p', { class: 'error-box', role: 'alert', id: 'intent-question', dataset: { status: 'error' } }, err.message));
    }
  });
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  return {
    el: form,
    // Leaving the page: stop polling, drop late answers.
    stop() {
      stopped = true;
      clearTimeout(pollTimer);
    },
    clear() {
      seq += 1;
      setBusy(false, '');
      replace(result);
    },
  };
}
