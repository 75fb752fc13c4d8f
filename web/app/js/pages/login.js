// Sign in with the admin token (docs/api.md "Authentication").
import { h } from '../dom.js';

export function render(root, { query }, ctx) {
  document.title = 'Sign in · fedc';
  const input = h('input', {
    id: 'login-token', name: 'token', type: 'password', autocomplete: 'current-password',
    required: true, 'aria-describedby': 'login-help login-error', spellcheck: 'false',
  });
  const error = h('p', { id: 'login-error', class: 'field-error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const form = h('form', { class: 'card login-card', novalidate: true },
    h('h1', {}, 'Sign in to fedc'),
    h('div', { class: 'field' },
      h('label', { for: 'login-token' }, 'Admin token'),
      input,
      h('p', { id: 'login-help', class: 'help' },
        'The token given to ', h('code', {}, 'fedc server --admin-token'),
        ', or the one it printed on its first start (also in the file ', h('code', {}, 'STATE/admin-token'), ').')),
    error,
    h('div', { class: 'actions' }, button));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    const token = input.value.trim();
    if (!token) {
      error.textContent = 'Enter the admin token.';
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      await ctx.api.login(token);
      input.value = '';
      ctx.signedIn(query.get('next') || '#/runs');
    } catch (err) {
      error.textContent = err.status === 401 ? 'That token is not right.' : err.message;
      input.setAttribute('aria-invalid', 'true');
      input.select();
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  root.append(h('div', { class: 'login-page' }, form));
  input.focus();
}
