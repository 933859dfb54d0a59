// The time range of a view, read from and written to its URL parameters:
// range=live|15m|1h|...|custom, and from/to (unix seconds) for custom.
import {h} from './dom.js';

const UNITS = {s: 1, m: 60, h: 3600, d: 86400, w: 604800};
const NAMES = {
  live: 'Live, last 15 minutes', '15m': 'Last 15 minutes', '1h': 'Last hour', '6h': 'Last 6 hours',
  '24h': 'Last 24 hours', '7d': 'Last 7 days', '30d': 'Last 30 days', custom: 'Custom…',
};

// parseDuration turns "15m", "6h" or "7d" into seconds, and anything else into 0.
export function parseDuration(s) {
  const m = /^(\d+)([smhdw])$/.exec(s ?? '');
  return m ? m[1] * UNITS[m[2]] : 0;
}

const fixed = (key, from, to) => ({key, live: false, bounds: () => [from, to]});

// readRange reads the range in params, or fallback when it has none or a bad
// one. bounds() returns [from, to] in unix seconds: a live range follows the
// clock, the others are fixed when read so every chart shares them.
export function readRange(params, fallback) {
  const key = params.get('range') || fallback;
  if (key === 'custom') {
    const from = Number(params.get('from')), to = Number(params.get('to'));
    if (from > 0 && to > from) return fixed(key, from, to);
  }
  const span = key === 'live' ? 900 : parseDuration(key);
  if (!span && key !== fallback) return readRange(new URLSearchParams(), fallback);
  if (key !== 'live') {
    const now = Math.floor(Date.now() / 1000);
    return fixed(key, now - span, now);
  }
  return {key, live: true, bounds: () => [Date.now() / 1000 - span, Date.now() / 1000]};
}

// rangeParams returns the URL parameters that describe r.
export function rangeParams(r) {
  if (r.key !== 'custom') return {range: r.key};
  const [from, to] = r.bounds();
  return {range: 'custom', from: Math.floor(from), to: Math.ceil(to)};
}

// localInput is the value of a datetime-local input for unix seconds t.
const localInput = t => {
  const d = new Date(t * 1000);
  return new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};

let ids = 0;

// rangePicker is a labelled select of keys, with from/to inputs when
// "custom" is chosen; onChange gets the new URL parameters.
export function rangePicker(range, keys, onChange) {
  const id = `range-${++ids}`;
  const [from, to] = range.bounds();
  const inFrom = h('input', {type: 'datetime-local', id: `${id}-from`, value: localInput(from), required: true});
  const inTo = h('input', {type: 'datetime-local', id: `${id}-to`, value: localInput(to), required: true});
  const apply = () => {
    const f = new Date(inFrom.value) / 1000, t = new Date(inTo.value) / 1000;
    inTo.setCustomValidity(t > f ? '' : 'The end must be after the start.');
    if (inFrom.reportValidity() && inTo.reportValidity()) onChange({range: 'custom', from: f, to: t});
  };
  const custom = h('span', {class: 'custom', hidden: range.key !== 'custom'},
    h('label', {for: inFrom.id}, 'From'), inFrom, h('label', {for: inTo.id}, 'To'), inTo,
    h('button', {type: 'button', class: 'btn', onclick: apply}, 'Apply'));
  const select = h('select', {id, onchange: () => {
    custom.hidden = select.value !== 'custom';
    if (select.value === 'custom') inFrom.focus();
    else onChange({range: select.value});
  }}, keys.map(k => h('option', {value: k, selected: k === range.key}, NAMES[k] ?? k)));
  return h('div', {class: 'field'}, h('label', {for: id}, 'Time range'), h('div', {class: 'range'}, select, custom));
}
