// Short notices in the corner (announced politely to screen readers).
export function toast(message, kind = 'info', ms = 5000) {
  const box = document.getElementById('toasts');
  const el = document.createElement('div');
  el.className = `toast toast-${kind}`;
  el.textContent = message;
  box.append(el);
  setTimeout(() => el.remove(), ms);
}
