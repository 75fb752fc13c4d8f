// Cancel and delete, shared by the runs list and the run page.
import { h } from './dom.js';
import { ACTIVE_STATUSES } from './format.js';

export function statusBadge(status) {
  return h('span', { class: `badge badge-${status}`, dataset: { status } }, status);
}

// Buttons for a run: Cancel while queued/running, Delete once it ended.
export function runActionButtons(run, ctx, { onChange, onDeleted } = {}) {
  const label = `run ${run.id} ${run.name || ''}`.trim();
  if (ACTIVE_STATUSES.has(run.status)) {
    return h('button', {
      type: 'button', class: 'btn btn-small', 'aria-label': `Cancel ${label}`,
      onclick: async (e) => {
        if (!confirm(`Cancel ${label}? The model of the last completed round is kept.`)) return;
        e.target.disabled = true;
        try {
          const updated = await ctx.api.cancelRun(run.id);
          ctx.toast(`Run ${run.id} cancelled.`);
          if (onChange) onChange(updated);
        } catch (err) {
          ctx.toast(`Cancel failed: ${err.message}`, 'error');
          e.target.disabled = false;
        }
      },
    }, 'Cancel');
  }
  return h('button', {
    type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Delete ${label}`,
    onclick: async (e) => {
      if (!confirm(`Delete ${label} with its metrics and model? This cannot be undone.`)) return;
      e.target.disabled = true;
      try {
        await ctx.api.deleteRun(run.id);
        ctx.toast(`Run ${run.id} deleted.`);
        if (onDeleted) onDeleted(run);
      } catch (err) {
        ctx.toast(`Delete failed: ${err.message}`, 'error');
        e.target.disabled = false;
      }
    },
  }, 'Delete');
}
