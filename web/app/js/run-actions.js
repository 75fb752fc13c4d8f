// Cancel and delete, shared by the runs list and the run page.
import { h } from './dom.js';
import { ACTIVE_STATUSES } from './format.js';

export function statusBadge(status) {
  return h('span', { class: `badge badge-${status}`, dataset: { status } }, status);
}

// After a cancel request the server may still be stopping the run's round;
// the store says "cancelled" only once it has. Poll until the run ended
// (the live feed usually tells first), at most a minute.
async function untilEnded(ctx, id) {
  for (let i = 0; i < 60; i++) {
    const run = await ctx.api.run(id);
    if (!ACTIVE_STATUSES.has(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return null;
}

// Buttons for a run: Cancel while queued/running, Delete once it ended.
export function runActionButtons(run, ctx, { onChange, onDeleted } = {}) {
  const label = `run ${run.id} ${run.name || ''}`.trim();
  if (run.status === 'cancelling') {
    return h('button', { type: 'button', class: 'btn btn-small', disabled: true, 'aria-label': `Cancelling ${label}` }, 'Cancelling…');
  }
  if (ACTIVE_STATUSES.has(run.status)) {
    return h('button', {
      type: 'button', class: 'btn btn-small', 'aria-label': `Cancel ${label}`,
      onclick: async (e) => {
        if (!confirm(`Cancel ${label}? The model of the last completed round is kept.`)) return;
        e.target.disabled = true;
        try {
          const answer = await ctx.api.cancelRun(run.id);
          if (onChange) onChange({ ...answer, status: 'cancelling' });
          const ended = await untilEnded(ctx, run.id);
          if (ended) {
            ctx.toast(`Run ${run.id} ${ended.status}.`);
            if (onChange) onChange(ended);
          } else {
            ctx.toast(`Run ${run.id} has not stopped yet; it will show as cancelled once it has.`, 'error');
          }
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
