// Hash routes (#/runs/3), so the server serves one page and deep links
// survive reloads. A page module exports render(root, params, ctx) and may
// return a cleanup function, called when the page is left.

export function parseHash(hash) {
  const raw = (hash || '').replace(/^#/, '') || '/runs';
  const [path, queryString = ''] = raw.split('?');
  return { path, query: new URLSearchParams(queryString) };
}

export class Router {
  // routes: [{pattern: /^\/runs\/(\d+)$/, load: () => import(...), name}]
  constructor(routes, root, ctx) {
    this.routes = routes;
    this.root = root;
    this.ctx = ctx;
    this.cleanup = null;
    this.token = 0;
    this.rendered = false;
    this.onNavigate = () => {};
    window.addEventListener('hashchange', () => this.render());
  }

  go(hash) {
    if (location.hash === hash) this.render();
    else location.hash = hash;
  }

  async render() {
    const token = ++this.token;
    const { path, query } = parseHash(location.hash);
    if (this.cleanup) {
      try {
        this.cleanup();
      } catch (e) {
        console.error(e);
      }
      this.cleanup = null;
    }
    let route = null;
    let match = null;
    for (const r of this.routes) {
      match = path.match(r.pattern);
      if (match) {
        route = r;
        break;
      }
    }
    this.onNavigate(route ? route.name : null);
    this.root.replaceChildren();
    this.root.setAttribute('aria-busy', 'true');
    if (!route) {
      const h1 = document.createElement('h1');
      h1.textContent = `No page at ${path}`;
      this.root.append(h1);
      this.root.removeAttribute('aria-busy');
      return;
    }
    try {
      const page = await route.load();
      if (token !== this.token) return;
      const cleanup = await page.render(this.root, { match, query }, this.ctx);
      if (token !== this.token) {
        if (typeof cleanup === 'function') cleanup();
        return;
      }
      this.cleanup = typeof cleanup === 'function' ? cleanup : null;
    } catch (e) {
      if (token !== this.token) return;
      console.error(e);
      const p = document.createElement('p');
      p.className = 'error-box';
      p.setAttribute('role', 'alert');
      p.textContent = `This page failed to load: ${e.message}`;
      this.root.append(p);
    } finally {
      if (token === this.token) {
        this.root.removeAttribute('aria-busy');
        // After a navigation, focus goes to the new page's heading (screen
        // readers announce it) unless the page focused a control itself.
        const h1 = this.root.querySelector('h1');
        if (h1 && this.rendered && !this.root.contains(document.activeElement)) {
          h1.setAttribute('tabindex', '-1');
          h1.focus({ preventScroll: true });
        }
        this.rendered = true;
      }
    }
  }
}
