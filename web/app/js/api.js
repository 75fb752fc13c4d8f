// The REST client (docs/api.md). The session cookie authenticates the
// browser; every POST/DELETE also carries the CSRF value from login/session.
import { parseJson, stringifyJson } from './json.js';

let csrf = null;
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.issues = (body && Array.isArray(body.issues)) ? body.issues : [];
  }
}

// Called on a 401 from any route but login (the session expired or was
// never there): the app shows the login page.
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export function hasSession() {
  return csrf !== null;
}

async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : stringifyJson(body);
  }
  if (method !== 'GET' && csrf) headers['X-Fedc-Csrf'] = csrf;
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { error: `the server cannot be reached (${e.message})` });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = parseJson(text);
    } catch {
      data = { error: text.slice(0, 300) };
    }
  }
  if (res.status === 401 && path !== '/api/login') {
    csrf = null;
    onUnauthorized();
  }
  if (!res.ok) throw new ApiError(res.status, data || { error: res.statusText });
  return data;
}

const get = (path) => request('GET', path);
const post = (path, body) => request('POST', path, body === undefined ? {} : body);
const del = (path) => request('DELETE', path);

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const api = {
  async login(token) {
    const r = await post('/api/login', { token });
    csrf = r.csrf;
    return r;
  },
  async logout() {
    try {
      await post('/api/logout');
    } finally {
      csrf = null;
    }
  },
  // Recovers the CSRF value of an existing session (a reloaded page).
  async session() {
    const r = await get('/api/session');
    csrf = r.csrf;
    return r;
  },
  server: () => get('/api/server'),
  schema: () => get('/api/schema'),
  // Task bodies are JSON text (see json.js for the seed).
  validate: (taskJson) => post('/api/tasks/validate', taskJson),
  runs: (params) => get(`/api/runs${query(params)}`),
  run: (id) => get(`/api/runs/${id}`),
  createRun: (taskJson) => post('/api/runs', taskJson),
  cancelRun: (id) => post(`/api/runs/${id}/cancel`),
  deleteRun: (id) => del(`/api/runs/${id}`),
  rounds: (id, since = 0) => get(`/api/runs/${id}/rounds${query({ since })}`),
  participation: (id, round) => get(`/api/runs/${id}/participation${query({ round })}`),
  runNodes: (id) => get(`/api/runs/${id}/nodes`),
  runEvents: (id) => get(`/api/runs/${id}/events`),
  setRunNotes: (id, notes) => post(`/api/runs/${id}/notes`, notes),
  node: (id) => get(`/api/nodes/${id}`),
  nodeParticipation: (id) => get(`/api/nodes/${id}/participation`),
  nodes: () => get('/api/nodes'),
  node: (id) => get(`/api/nodes/${id}`),
  enrolNode: (name) => post('/api/nodes', name ? { name } : {}),
  revokeNode: (id) => post(`/api/nodes/${id}/revoke`),
  // Plain-language requests: the builtin parser answers at once; the LLM
  // backend answers 202 {job} and the answer is fetched with intentJob.
  intentBackends: () => get('/api/intent'),
  intent: (request, backend) => post('/api/intent', { request, backend }),
  intentJob: (job) => get(`/api/intent/${job}`),
  searches: () => get('/api/searches'),
  datasets: () => get('/api/datasets'),
  search: (id) => get(`/api/searches/${id}`),
};

// Files the browser downloads directly (the cookie authenticates GETs).
export const downloads = {
  model: (id) => `/api/runs/${id}/model`,
  task: (id) => `/api/runs/${id}/task`,
  metricsCsv: (id) => `/api/runs/${id}/metrics.csv`,
  metricsJsonl: (id) => `/api/runs/${id}/metrics.jsonl`,
};
