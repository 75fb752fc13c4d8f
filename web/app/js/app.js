// Boot: recover the session (or show the login page), open the live feed,
// route between pages.
import { api, setUnauthorizedHandler, hasSession } from './api.js';
import { Feed } from './feed.js';
import { Router, parseHash } from './router.js';
import { toast } from './toast.js';

const routes = [
  { name: 'login', pattern: /^\/login$/, load: () => import('./pages/login.js'), public: true },
  { name: 'runs', pattern: /^\/runs$/, load: () => import('./pages/runs.js') },
  { name: 'run', pattern: /^\/runs\/(\d+)$/, load: () => import('./pages/run.js') },
  { name: 'new', pattern: /^\/new$/, load: () => import('./pages/new-task.js') },
  { name: 'compare', pattern: /^\/compare$/, load: () => import('./pages/compare.js') },
  { name: 'nodes', pattern: /^\/nodes$/, load: () => import('./pages/nodes.js') },
  { name: 'node', pattern: /^\/nodes\/(\d+)$/, load: () => import('./pages/node.js') },
  { name: 'searches', pattern: /^\/searches$/, load: () => import('./pages/searches.js') },
  { name: 'search', pattern: /^\/searches\/(\d+)$/, load: () => import('./pages/search.js') },
];

const feed = new Feed();
let schemaPromise = null;
const ctx = {
  api,
  feed,
  toast,
  // The task schema is fetched once per session.
  schema() {
    if (!schemaPromise) schemaPromise = api.schema().catch((e) => {
      schemaPromise = null;
      throw e;
    });
    return schemaPromise;
  },
  // After login: open the feed and go where the person was heading.
  signedIn(returnTo) {
    showChrome(true);
    feed.start();
    router.go(returnTo && !returnTo.startsWith('#/login') ? returnTo : '#/runs');
  },
};

const main = document.getElementById('main');
const router = new Router(routes, main, ctx);
ctx.navigate = (hash) => router.go(hash);

function showChrome(on) {
  document.getElementById('nav').hidden = !on;
  document.getElementById('session-controls').hidden = !on;
}

function toLogin() {
  feed.stop();
  showChrome(false);
  const { path } = parseHash(location.hash);
  if (path !== '/login') {
    const back = encodeURIComponent(location.hash || '#/runs');
    router.go(`#/login?next=${back}`);
  }
}

setUnauthorizedHandler(toLogin);

router.onNavigate = (name) => {
  for (const a of document.querySelectorAll('#nav a')) {
    const current = a.dataset.page === name || (name === 'run' && a.dataset.page === 'runs')
      || (name === 'search' && a.dataset.page === 'searches') || (name === 'node' && a.dataset.page === 'nodes');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
};

const feedLabels = { live: 'live', connecting: 'connecting…', down: 'offline', off: 'offline' };
feed.onState((state) => {
  const el = document.getElementById('feed-state');
  el.textContent = feedLabels[state];
  el.dataset.state = state;
  el.title = state === 'live' ? 'Live updates are on' : 'Live updates are not connected';
});
// The feed closed for good: is the session still valid? (401 sends us to login.)
feed.onClosed = async () => {
  try {
    await api.session();
    return true;
  } catch {
    return false;
  }
};

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await api.logout();
  } catch (e) {
    toast(`Sign-out failed: ${e.message}`, 'error');
  }
  toLogin();
});

async function boot() {
  const { path } = parseHash(location.hash);
  // Signed out (no sign-in hint cookie, see docs/web.md): straight to the
  // sign-in page, without a request whose 401 the console would show.
  if (!/(^|;\s*)fedc_signed_in=1(;|$)/.test(document.cookie)) {
    toLogin();
    if (path === '/login') router.render();
    return;
  }
  try {
    await api.session();
  } catch (e) {
    if (e.status !== 401) toast(`The server did not answer: ${e.message}`, 'error');
    toLogin();
    if (path === '/login') router.render();
    return;
  }
  if (path === '/login') {
    ctx.signedIn('#/runs');
    return;
  }
  showChrome(hasSession());
  feed.start();
  router.render();
}

boot();
