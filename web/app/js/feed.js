// The live feed: one EventSource on /api/events for the whole app; pages
// subscribe to event types and get the parsed data. Events are idempotent
// (docs/api.md), so a page opens its subscription, fetches state over REST,
// then applies what arrived meanwhile.
import { parseJson } from './json.js';

const TYPES = ['hello', 'run', 'round', 'node', 'log', 'resync'];

export class Feed {
  constructor(url = '/api/events') {
    this.url = url;
    this.source = null;
    this.handlers = new Map(TYPES.map((t) => [t, new Set()]));
    this.stateHandlers = new Set();
    this.state = 'off';
    this.retryTimer = null;
    this.onClosed = null; // async () => boolean: may the feed reconnect?
  }

  on(type, fn) {
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type).delete(fn);
  }

  onState(fn) {
    this.stateHandlers.add(fn);
    fn(this.state);
    return () => this.stateHandlers.delete(fn);
  }

  setState(state) {
    this.state = state;
    for (const fn of this.stateHandlers) fn(state);
  }

  start() {
    if (this.source) return;
    clearTimeout(this.retryTimer);
    this.setState('connecting');
    const source = new EventSource(this.url);
    this.source = source;
    source.onopen = () => this.setState('live');
    source.onerror = () => {
      if (source.readyState === EventSource.CONNECTING) {
        this.setState('connecting');
        return;
      }
      // Closed for good (e.g. 401 after the session expired): ask the app
      // whether to try again, later.
      this.source = null;
      this.setState('down');
      this.retryTimer = setTimeout(async () => {
        if (!this.onClosed || await this.onClosed()) this.start();
      }, 3000);
    };
    for (const type of TYPES) {
      source.addEventListener(type, (e) => {
        let data;
        try {
          data = parseJson(e.data || '{}');
        } catch {
          return; // a malformed event is dropped; the next resync repairs state
        }
        for (const fn of this.handlers.get(type)) fn(data);
      });
    }
  }

  stop() {
    clearTimeout(this.retryTimer);
    if (this.source) this.source.close();
    this.source = null;
    this.setState('off');
  }
}

// Collects events while a page loads its state, then replays them in order.
export class EventBuffer {
  constructor() {
    this.pending = [];
    this.ready = false;
  }

  wrap(fn) {
    return (data) => {
      if (this.ready) fn(data);
      else this.pending.push(() => fn(data));
    };
  }

  flush() {
    this.ready = true;
    const pending = this.pending;
    this.pending = [];
    for (const apply of pending) apply();
  }

  reset() {
    this.ready = false;
  }
}
