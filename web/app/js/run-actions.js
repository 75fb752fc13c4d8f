// Cancel and delete, shared by the runs list and the run page.
import { h } from './dom.js';
import { ACTIVE_STATUSES } from './format.js';

export function statusBadge(status) {
  return h('span', { class: `badge badge-${status}`, dataset: { status } }, status);
}

// After a cancel request the server may still be stopping the run's round;
// the store says "cancelled" only once it has. Resolves with the ended run
// when the live feed says so (or, should the feed be down, a slow poll
// does), null if the run is gone or has not ended within a minute.
function untilEnded(ctx, id) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (run) => {
      if (done) return;
      done = true;
      off();
      clearInterval(poll);
      clearTimeout(giveUp);
      resolve(run);
    };
    const off = ctx.feed.on('run', (d) => {
      if (d.run && d.run.id === id && !ACTIVE_STATUSES.has(d.run.status)) finish(d.run);
    });
    const poll = setInterval(async () => {
      if (ctx.feed.state === 'live') return;
      try {
        const run = await ctx.api.run(id);
        if (!ACTIVE_STATUSES.has(run.status)) finish(run);
      } catch {
        finish(null);
      }
    }, 3000);
    const giveUp = setTimeout(() => finish(null), 60000);
  });
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
            ctx.toast(`Run ${run.id} has not stopped yet; reload to see its state.`, 'error');
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
