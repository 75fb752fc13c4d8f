// Access control of the REST API: every route of docs/api.md refuses a
// request without the admin token or session (401), a wrong token (401, or
// 429 once the address has sent too many), and
// a cookie-authenticated change without the CSRF header (403). The routes are
// read from docs/api.md, and the server's own route table is checked to hold
// the same routes, so a new route cannot be left out of this test.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, SOURCE_DIR } from '../lib/fedc.mjs';

const PUBLIC = new Set(['POST /api/login']);

// "GET /api/runs/{id}" etc., from the backticked requests of docs/api.md.
export function documentedRoutes(markdown) {
  const routes = new Set();
  for (const m of markdown.matchAll(/`(GET|POST|DELETE|PUT|PATCH) (\/api\/[^`\s?]*)[^`]*`/g)) routes.add(`${m[1]} ${m[2]}`);
  return [...routes].sort();
}

// The /api paths the server's HTTP layer (src/server/*.c) dispatches on, as
// string literals: each must belong to a documented route, so a route added
// to the server but not to docs/api.md (and so not to this test) fails here.
function serverApiLiterals() {
  const dir = path.join(SOURCE_DIR, 'src', 'server');
  const paths = new Set();
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.c'))) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of text.matchAll(/"(\/api\/[A-Za-z0-9_./-]+)"/g)) paths.add(m[1]);
  }
  return [...paths].sort();
}

const concrete = (route) => route.replace(/\{[a-z_]+\}/g, '1');

let server;
let routes;

describe('REST API access control', { timeout: 120000 }, () => {
  before(async () => {
    routes = documentedRoutes(fs.readFileSync(path.join(SOURCE_DIR, 'docs', 'api.md'), 'utf8'));
    server = await startServer();
  });

  after(async () => {
    if (server) {
      await server.proc.stop();
      fs.rmSync(server.state, { recursive: true, force: true });
    }
  });

  it('reads the routes from docs/api.md, covering every /api path the server dispatches', () => {
    assert.ok(routes.length >= 20, `docs/api.md lists ${routes.length} routes`);
    for (const r of ['GET /api/runs', 'POST /api/runs', 'DELETE /api/runs/{id}', 'GET /api/events', 'POST /api/nodes']) {
      assert.ok(routes.includes(r), `docs/api.md lists ${r}`);
    }
    const literals = serverApiLiterals();
    assert.ok(literals.length >= 5, `src/server dispatches on ${literals.length} /api paths`);
    const documented = routes.map((r) => r.split(' ')[1]);
    for (const lit of literals) {
      assert.ok(documented.some((d) => d === lit || d.startsWith(`${lit}/`)), `${lit} (src/server) is documented in docs/api.md`);
    }
  });

  it('refuses /api paths that are no route at all (the check comes before dispatch)', async () => {
    for (const [method, p] of [['GET', '/api/'], ['GET', '/api/no-such-route'], ['POST', '/api/runs/1/no-such-action'], ['DELETE', '/api/nodes/1']]) {
      const r = await server.api.request(method, p, method === 'GET' ? undefined : '{}', { auth: false });
      assert.equal(r.status, 401, `${method} ${p} without credentials: HTTP ${r.status}`);
    }
  });

  it('refuses every route without credentials (401)', async () => {
    for (const route of routes.filter((r) => !PUBLIC.has(r))) {
      const [method, p] = route.split(' ');
      const r = await server.api.request(method, concrete(p), method === 'GET' ? undefined : '{}', { auth: false });
      assert.equal(r.status, 401, `${route} without credentials: HTTP ${r.status} ${r.text.slice(0, 200)}`);
      assert.match(r.json && r.json.error, /^authentication required/, `${route}: the error says why`);
    }
  });

  // After 5 wrong tokens in a row an address waits before its next token is
  // checked (429 with Retry-After); the right token afterwards clears it.
  it('refuses every route with a wrong token (401, then 429 while the address waits)', async () => {
    let wrongInARow = 0;
    for (const route of routes.filter((r) => !PUBLIC.has(r))) {
      const [method, p] = route.split(' ');
      const r = await server.api.request(method, concrete(p), method === 'GET' ? undefined : '{}',
        { auth: false, headers: { Authorization: 'Bearer wrong-token' } });
      assert.ok(r.status === 401 || (wrongInARow >= 5 && r.status === 429),
        `${route} with a wrong token: HTTP ${r.status}`);
      if (r.status === 401) wrongInARow += 1;
      else assert.ok(Number(r.headers.get('retry-after')) >= 1, 'a 429 says when to retry');
    }
    const bad = await server.api.request('POST', '/api/login', { token: 'wrong-token' }, { auth: false });
    assert.ok(bad.status === 401 || bad.status === 429, `wrong login: HTTP ${bad.status}`);
    assert.equal(bad.headers.get('set-cookie'), null);
    let ok = null;
    for (let i = 0; i < 120 && !(ok && ok.status === 200); i += 1) {
      if (i) await new Promise((done) => setTimeout(done, 500));
      ok = await server.api.request('GET', '/api/server', undefined);
    }
    assert.equal(ok.status, 200, 'the right token works once the wait is over');
  });

  it('refuses cookie-authenticated changes without the CSRF header (403)', async () => {
    const login = await server.api.request('POST', '/api/login', { token: server.token }, { auth: false });
    assert.equal(login.status, 200);
    const setCookie = login.headers.get('set-cookie');
    assert.match(setCookie, /fedc_session=/);
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    const cookie = setCookie.split(';')[0];
    const { csrf } = login.json;
    assert.match(csrf, /^[0-9a-f]{16,}$/);

    for (const route of routes.filter((r) => !PUBLIC.has(r) && !r.startsWith('GET '))) {
      const [method, p] = route.split(' ');
      const r = await server.api.request(method, concrete(p), '{}', { auth: false, headers: { Cookie: cookie } });
      assert.equal(r.status, 403, `${route} by cookie without X-Fedc-Csrf: HTTP ${r.status}`);
      const wrong = await server.api.request(method, concrete(p), '{}',
        { auth: false, headers: { Cookie: cookie, 'X-Fedc-Csrf': '0'.repeat(csrf.length) } });
      assert.equal(wrong.status, 403, `${route} by cookie with a wrong X-Fedc-Csrf: HTTP ${wrong.status}`);
    }
    // With the header the same session works, and reads need none.
    const ok = await server.api.request('POST', '/api/tasks/validate', '{}',
      { auth: false, headers: { Cookie: cookie, 'X-Fedc-Csrf': csrf } });
    assert.equal(ok.status, 200);
    const get = await server.api.request('GET', '/api/runs', undefined, { auth: false, headers: { Cookie: cookie } });
    assert.equal(get.status, 200);
    // After logout the cookie is worthless.
    const out = await server.api.request('POST', '/api/logout', '{}', { auth: false, headers: { Cookie: cookie, 'X-Fedc-Csrf': csrf } });
    assert.equal(out.status, 200);
    const after = await server.api.request('GET', '/api/runs', undefined, { auth: false, headers: { Cookie: cookie } });
    assert.equal(after.status, 401);
  });

  it('serves the web application itself without credentials', async () => {
    for (const [p, type] of [['/', /^text\/html/], ['/js/app.js', /^text\/javascript/], ['/vendor/chart.js', /^text\/javascript/], ['/css/app.css', /^text\/css/]]) {
      const r = await server.api.request('GET', p, undefined, { auth: false });
      assert.equal(r.status, 200, `GET ${p}`);
      assert.match(r.headers.get('content-type'), type, `content type of ${p}`);
    }
    const missing = await server.api.request('GET', '/no-such-page.html', undefined, { auth: false });
    assert.equal(missing.status, 404);
  });
});
