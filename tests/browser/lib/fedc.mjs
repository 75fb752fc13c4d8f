// Starting and stopping a real `fedc server` and `fedc node` processes on
// loopback for the browser tests, and talking to the REST API with the admin
// token (Bearer), as a script would.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const FEDC_BIN = process.env.FEDC_BIN;
export const OUT_DIR = process.env.FEDC_BROWSER_OUT || fs.mkdtempSync(path.join(os.tmpdir(), 'fedc-browser-out-'));
export const SOURCE_DIR = process.env.FEDC_SOURCE_DIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');

if (!FEDC_BIN) throw new Error('FEDC_BIN is not set: run the browser tests through tests/browser/run.sh');

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A child process whose output goes to a log file; stop() ends it (TERM,
// then KILL after a grace period) and waits for it.
class Proc {
  constructor(name, args, { cwd, env } = {}) {
    this.name = name;
    this.logPath = path.join(OUT_DIR, `${name}.log`);
    const log = fs.openSync(this.logPath, 'w');
    this.child = spawn(FEDC_BIN, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
      this.child.on('error', (e) => {
        fs.appendFileSync(this.logPath, `cannot start ${FEDC_BIN}: ${e.message}\n`);
        this.exitCode = -1;
        resolve();
      });
    });
  }

  get running() {
    return this.exitCode === undefined && this.exitSignal === undefined;
  }

  log() {
    try {
      return fs.readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  async stop(graceMs = 10000) {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

// The API as the admin token's holder (Bearer; no CSRF needed).
export class Api {
  constructor(base, token) {
    this.base = base;
    this.token = token;
  }

  async request(method, route, body, { auth = true, headers = {} } = {}) {
    const h = { ...headers };
    if (auth) h.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const res = await fetch(this.base + route, {
      method, headers: h, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
      redirect: 'manual',
    });
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch { /* not JSON (a download) */ }
    return { status: res.status, headers: res.headers, text, json };
  }

  async ok(method, route, body) {
    const r = await this.request(method, route, body);
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${route}: HTTP ${r.status}: ${r.text.slice(0, 500)}`);
    return r.json;
  }
}

// `fedc server --insecure` on a free loopback port (the server picks it and
// writes it to a file) with a fresh state folder, or the given one (a test
// may prepare it, e.g. with a search in STATE/runs.db); env adds to the
// server's environment (FEDC_LLM_URL...).
export async function startServer({ token = 'browser-test-admin-token-0123456789', state: given, env, name = 'server' } = {}) {
  const state = given || fs.mkdtempSync(path.join(os.tmpdir(), 'fedc-browser-state-'));
  const portFile = path.join(state, 'port');
  const proc = new Proc(name, ['server', '--insecure', '--listen', '127.0.0.1:0', '--port-file', portFile,
    '--state', state, '--admin-token', token], { env });
  const deadline = Date.now() + 30000;
  let api = null;
  for (;;) {
    if (!proc.running) throw new Error(`fedc server exited (${proc.exitCode ?? proc.exitSignal}):\n${proc.log()}`);
    if (!api) {
      const port = fs.existsSync(portFile) ? Number(fs.readFileSync(portFile, 'utf8').trim()) : 0;
      if (port > 0) api = new Api(`http://127.0.0.1:${port}`, token);
    }
    if (api) {
      try {
        const r = await api.request('GET', '/api/server');
        if (r.status === 200) break;
      } catch { /* not listening yet */ }
    }
    if (Date.now() > deadline) throw new Error(`fedc server did not answer within 30 s:\n${proc.log()}`);
    await sleep(200);
  }
  return { proc, base: api.base, api, state, token };
}

// Splits the one-line command the server gives for a new node.
export function splitCommand(command) {
  const args = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(command)) !== null) args.push(m[1] ?? m[2] ?? m[3]);
  return args;
}

// Runs an enrolled node as its enrol answer says, with the credential saved
// in its own folder and partition k of n of the training data; extra
// arguments are added to the command (e.g. ['--poison', 'nan@1']).
export function startNode(enrol, { k, n, extra = [] }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fedc-browser-${enrol.node.name}-`));
  fs.writeFileSync(path.join(dir, enrol.credential_file), enrol.credential, { mode: 0o600 });
  const args = splitCommand(enrol.command);
  if (args[0] !== 'fedc' || args[1] !== 'node') throw new Error(`unexpected enrol command: ${enrol.command}`);
  const nodeArgs = [...args.slice(1).map((a) => a.replace(/partition=\d+\/\d+/, `partition=${k}/${n}`)), ...extra];
  const proc = new Proc(enrol.node.name, nodeArgs, { cwd: dir, env: { OPENBLAS_NUM_THREADS: '1' } });
  proc.workDir = dir; // holds the credential: removed when the fleet stops
  return proc;
}

export async function waitFor(what, fn, { timeoutMs = 60000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last && last.message ? last.message : JSON.stringify(last)})`);
    await sleep(intervalMs);
  }
}

// Parameters and tensors of a model spec, from `fedc arch`.
export function arch(spec) {
  return JSON.parse(execFileSync(FEDC_BIN, ['arch', spec], { encoding: 'utf8' }));
}

// Checks a safetensors file: 8-byte header length, JSON header, then the
// tensors' f32 data back to back. Returns {headerLen, tensors, size}.
export function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 8) throw new Error(`${file}: ${buf.length} bytes, shorter than a safetensors header`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (8 + headerLen > buf.length) throw new Error(`${file}: header of ${headerLen} bytes does not fit in ${buf.length}`);
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  const tensors = Object.entries(header).filter(([k]) => k !== '__metadata__');
  return { headerLen, tensors: Object.fromEntries(tensors), size: buf.length };
}

// Every process started here, stopped in reverse order at the end.
export class Fleet {
  constructor() {
    this.procs = [];
  }

  add(proc) {
    this.procs.push(proc);
    return proc;
  }

  async stopAll() {
    for (const p of [...this.procs].reverse()) {
      await p.stop();
      if (p.workDir) fs.rmSync(p.workDir, { recursive: true, force: true });
    }
  }

  logs() {
    return this.procs.map((p) => `==== ${p.name} (${p.running ? 'running' : `exit ${p.exitCode ?? p.exitSignal}`})\n${p.log().slice(-4000)}`).join('\n');
  }
}
