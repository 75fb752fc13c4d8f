// JSON that keeps the task's 64-bit seed exact: JavaScript numbers hold
// integers exactly only up to 2^53, the task spec allows seeds up to 2^63-1.
// A seed beyond 2^53 is carried as a string of digits and written back as a
// bare JSON number.

const EXACT_KEYS = new Set(['seed', 'maximum', 'minimum', 'default']);

// JSON.parse that keeps integers under "seed" (and the schema's bounds and
// defaults) exact, as a string of digits when they do not fit a double,
// using the reviver's source text.
export function parseJson(text) {
  return JSON.parse(text, function revive(key, value, context) {
    if (EXACT_KEYS.has(key) && typeof value === 'number' && context && typeof context.source === 'string'
        && /^\d+$/.test(context.source) && !Number.isSafeInteger(value)) {
      return context.source;
    }
    return value;
  });
}

// JSON.stringify that writes a digits-only string under "seed" as a number.
export function stringifyJson(value, indent) {
  const marker = `@@fedc-seed-${Math.random().toString(36).slice(2)}@@`;
  const seeds = [];
  const text = JSON.stringify(value, function replace(key, v) {
    if (key === 'seed' && typeof v === 'string' && /^\d+$/.test(v)) {
      seeds.push(v);
      return `${marker}${seeds.length - 1}`;
    }
    return v;
  }, indent);
  if (!seeds.length) return text;
  return text.replace(new RegExp(`"${marker}(\\d+)"`, 'g'), (_, i) => seeds[Number(i)]);
}
