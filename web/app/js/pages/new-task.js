// New task: the schema-generated form, checked live by the server's
// validator, saved/loaded as JSON, filled from a request in plain words
// (intent-box.js), launched as a run.
import { h, replace, downloadText } from '../dom.js';
import { buildTaskForm } from '../task-form.js';
import { intentBox } from '../intent-box.js';
import { parseJson, stringifyJson } from '../json.js';
import * as fmt from '../format.js';

const TASK_JSON_MAX = 1 << 20; // FEDC_TASK_JSON_MAX

export async function render(root, { query }, ctx) {
  document.title = 'New task · fedc';
  const schema = await ctx.schema();
  let validateTimer = null;
  let validateSeq = 0;

  const status = h('p', { class: 'form-status', id: 'task-status', role: 'status', 'aria-live': 'polite' });
  const notice = h('div', { id: 'task-notice' });
  const preview = h('pre', { class: 'json-preview', id: 'task-preview', tabindex: '0' });
  const form = buildTaskForm(schema, { onChange: scheduleValidate });
  // The request's task replaces the form's values; its explanation goes
  // beside the fields it set. The server checks the result like any edit.
  const intent = intentBox(ctx, {
    onResult(r) {
      const set = r.explanation.filter((e) => e.source !== 'default');
      // The request did not name the run: name it after what it trains, so
      // a CNN task is not left with the default name of the MLP benchmark.
      const task = set.some((e) => e.field === 'name') ? r.task : { ...r.task, name: fmt.taskName(r.task) };
      form.setTask(task);
      const missing = form.explain(set);
      replace(notice);
      refreshPreview();
      clearTimeout(validateTimer);
      validate();
      return missing;
    },
    focusField(path) {
      const f = form.fields.get(path);
      if (!f) return;
      f.input.scrollIntoView({ block: 'center' });
      f.input.focus({ preventScroll: true });
    },
  });

  function taskJson(pretty) {
    return stringifyJson(form.getTask(), pretty ? 2 : undefined);
  }

  function refreshPreview() {
    preview.textContent = taskJson(true);
  }

  function scheduleValidate() {
    refreshPreview();
    clearTimeout(validateTimer);
    validateTimer = setTimeout(validate, 400);
  }

  async function validate() {
    const seq = ++validateSeq;
    status.textContent = 'Checking…';
    status.dataset.state = 'checking';
    try {
      const r = await ctx.api.validate(taskJson(false));
      if (seq !== validateSeq) return;
      form.showIssues(r.issues || []);
      status.textContent = r.valid ? 'The server checked the task: valid.' : `The server found ${r.issues.length} problem${r.issues.length === 1 ? '' : 's'}.`;
      status.dataset.state = r.valid ? 'valid' : 'invalid';
    } catch (e) {
      if (seq !== validateSeq) return;
      status.textContent = `The task could not be checked: ${e.message}`;
      status.dataset.state = 'error';
    }
  }

  const launch = h('button', { type: 'submit', class: 'btn btn-primary', id: 'task-launch' }, 'Launch run');
  const formEl = h('form', { class: 'new-task', novalidate: true, 'aria-labelledby': 'new-task-title' },
    form.el,
    h('details', { class: 'card' }, h('summary', {}, 'Task JSON (what will be sent)'), preview),
    h('div', { class: 'form-footer' }, status, launch));

  formEl.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearTimeout(validateTimer);
    validateSeq += 1; // a pending check must not overwrite the launch's answer
    launch.disabled = true;
    status.textContent = 'Launching…';
    status.dataset.state = 'checking';
    try {
      const run = await ctx.api.createRun(taskJson(false));
      ctx.toast(`Run ${run.id} created (${run.status}).`);
      ctx.navigate(`#/runs/${run.id}`);
    } catch (err) {
      if (err.status === 400 && err.issues.length) {
        form.showIssues(err.issues, err.message);
        status.textContent = `Not launched: ${err.message}`;
        status.dataset.state = 'invalid';
        form.focusFirstIssue();
      } else {
        status.textContent = `Not launched: ${err.message}`;
        status.dataset.state = 'error';
      }
    } finally {
      launch.disabled = false;
    }
  });

  const fileInput = h('input', { type: 'file', id: 'task-load', accept: '.json,application/json', class: 'visually-hidden' });
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files[0];
    fileInput.value = '';
    if (!file) return;
    if (file.size > TASK_JSON_MAX) {
      replace(notice, h('p', { class: 'error-box', role: 'alert' },
        `${file.name}: ${file.size} bytes; allowed: a task spec of at most ${TASK_JSON_MAX} bytes.`));
      return;
    }
    const text = await file.text();
    let task;
    try {
      task = parseJson(text);
    } catch (err) {
      replace(notice, h('p', { class: 'error-box', role: 'alert' }, `${file.name}: not valid JSON (${err.message}).`));
      return;
    }
    if (task === null || typeof task !== 'object' || Array.isArray(task)) {
      replace(notice, h('p', { class: 'error-box', role: 'alert' }, `${file.name}: a task spec is a JSON object.`));
      return;
    }
    const unknown = form.setTask(task);
    refreshPreview();
    // The file itself goes to the validator, so its own problems (unknown
    // fields with "did you mean", wrong types) are reported as it is; a
    // check of the form still under way must not overwrite that answer.
    clearTimeout(validateTimer);
    const seq = ++validateSeq;
    let issues = [];
    try {
      issues = (await ctx.api.validate(text)).issues || [];
    } catch (err) {
      ctx.toast(`The file could not be checked: ${err.message}`, 'error');
    }
    if (seq !== validateSeq) return;
    form.showIssues(issues, issues.length ? `${file.name} has ${issues.length} problem${issues.length === 1 ? '' : 's'}` : undefined);
    replace(notice, h('p', { class: unknown.length ? 'warn-box' : 'info-box', role: 'status' },
      `Loaded ${file.name}.`,
      unknown.length ? ` Left out because the form has no such field: ${unknown.join(', ')}.` : ''));
    status.textContent = issues.length ? `The server found ${issues.length} problem${issues.length === 1 ? '' : 's'} in the file.` : 'The server checked the task: valid.';
    status.dataset.state = issues.length ? 'invalid' : 'valid';
  });

  const toolbar = h('div', { class: 'toolbar' },
    h('label', { for: 'task-load', class: 'btn' }, 'Load JSON'), fileInput,
    h('button', { type: 'button', class: 'btn', id: 'task-save', onclick: () => {
      const name = (form.getTask().name || 'task').replace(/[^A-Za-z0-9._-]+/g, '_');
      downloadText(`${name}.json`, `${taskJson(true)}\n`);
    } }, 'Save as JSON'),
    h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => {
      form.reset();
      intent.clear();
      replace(notice);
      scheduleValidate();
    } }, 'Reset to defaults'));

  replace(root,
    h('div', { class: 'page-head' }, h('h1', { id: 'new-task-title' }, 'New task'), toolbar),
    h('p', { class: 'lead' }, 'Every field starts at its default (the Fashion-MNIST MLP benchmark). ',
      'The server checks the task as you type, with the same validator as ', h('code', {}, 'fedc validate'), '.'),
    intent.el, notice, formEl);

  const from = query.get('from');
  if (from && /^\d+$/.test(from)) {
    try {
      const run = await ctx.api.run(from);
      form.setTask(run.task || {});
      replace(notice, h('p', { class: 'info-box', role: 'status' }, `Starting from the task of run ${run.id} (${run.name}).`));
    } catch (e) {
      replace(notice, h('p', { class: 'error-box', role: 'alert' }, `The task of run ${from} could not be loaded: ${e.message}`));
    }
  }
  // "Open in the form" of a search: its best task.
  const search = query.get('search');
  if (search && /^\d+$/.test(search)) {
    try {
      const sr = await ctx.api.search(search);
      if (!sr.best_task) throw new Error(`search ${sr.id} has no best task yet (${sr.status})`);
      form.setTask(sr.best_task);
      replace(notice, h('p', { class: 'info-box', role: 'status' },
        `Starting from the best task of search ${sr.id} (trial ${sr.best_trial}, accuracy ${fmt.percent(sr.best_accuracy, 2)}).`));
    } catch (e) {
      replace(notice, h('p', { class: 'error-box', role: 'alert' }, `The best task of search ${search} could not be loaded: ${e.message}`));
    }
  }
  refreshPreview();
  validate();
  // Which catalog datasets the server holds (absent ones are fetched when
  // a run needs them); the form works without it.
  ctx.api.datasets().then((r) => form.setDatasetCatalog(r.datasets)).catch(() => {});
  return () => {
    intent.stop();
    clearTimeout(validateTimer);
    validateSeq += 1;
  };
}
