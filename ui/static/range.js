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
// "custom" is chosen; onChange gets the new URL parameters, the refresh
// interval among them. With onRefresh and a range that is not live, an
// auto-refresh select runs onRefresh at the interval chosen.
export function rangePicker(range, keys, onChange, onRefresh) {
  const id = `range-${++ids}`;
  const [from, to] = range.bounds();
  const refresh = () => ({...(hashParams().get('refresh') && {refresh: hashParams().get('refresh')})});
  const inFrom = h('input', {type: 'datetime-local', id: `${id}-from`, value: localInput(from), required: true});
  const inTo = h('input', {type: 'datetime-local', id: `${id}-to`, value: localInput(to), required: true});
  const apply = () => {
    const f = new Date(inFrom.value) / 1000, t = new Date(inTo.value) / 1000;
    inTo.setCustomValidity(t > f ? '' : 'The end must be after the start.');
    if (inFrom.reportValidity() && inTo.reportValidity()) onChange({range: 'custom', from: f, to: t, ...refresh()});
  };
  const custom = h('span', {class: 'custom', hidden: range.key !== 'custom'},
    h('label', {for: inFrom.id}, 'From'), inFrom, h('label', {for: inTo.id}, 'To'), inTo,
    h('button', {type: 'button', class: 'btn', onclick: apply}, 'Apply'));
  const all = keys.includes(range.key) ? keys : [...keys.slice(0, -1), range.key, ...keys.slice(-1)];
  const select = h('select', {id, title: 'Arrow keys choose, Enter applies'},
    all.map(k => h('option', {value: k, selected: k === range.key}, NAMES[k] ?? `Last ${k}`)));
  deferKeyboard(select, () => {
    custom.hidden = select.value !== 'custom';
    if (select.value === 'custom') inFrom.focus();
    else if (select.value !== range.key) onChange({range: select.value, ...refresh()});
  });
  return h('div', {class: 'range-fields'},
    h('div', {class: 'field'}, h('label', {for: id}, 'Time range'), h('div', {class: 'range'}, select, custom)),
    onRefresh && !range.live ? refreshPicker(`${id}-refresh`, onRefresh) : null);
}

// hashParams reads the parameters of the current URL's hash route.
export function hashParams() {
  const hash = location.hash, i = hash.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : hash.slice(i + 1));
}

// hashWith is the current hash route with params set; a null value removes one.
function hashWith(params) {
  const hash = location.hash, i = hash.indexOf('?');
  const p = hashParams();
  for (const [k, v] of Object.entries(params)) {
    if (v == null) p.delete(k);
    else p.set(k, v);
  }
  const qs = p.toString();
  return `${i < 0 ? hash : hash.slice(0, i)}${qs ? `?${qs}` : ''}`;
}

// showRange moves the current view to the range given as URL parameters,
// keeping its other parameters (query, service, refresh); the router draws
// the view again.
export function showRange(params) {
  location.hash = hashWith({from: null, to: null, ...params});
}

// zoomed holds the ranges that drag-zooms replaced, newest last, each with
// the custom range it was replaced by, so a double-click steps back.
const zoomed = [];

// zoomTo shows from..to (unix seconds) instead of range.
export function zoomTo(range, from, to) {
  const next = {range: 'custom', from: Math.floor(from), to: Math.ceil(to)};
  zoomed.push({before: rangeParams(range), after: next});
  showRange(next);
}

// durationKey names a span of seconds in its largest whole unit: "2h", "45m".
export function durationKey(span) {
  for (const u of ['w', 'd', 'h', 'm']) if (span % UNITS[u] === 0) return `${span / UNITS[u]}${u}`;
  return `${Math.round(span)}s`;
}

// zoomOutParams is the range before the zoom that led to range, or else
// range at twice its span: a relative range stays relative ("1h" → "2h"),
// a custom one widens around its middle without passing now.
export function zoomOutParams(range) {
  const cur = rangeParams(range), top = zoomed.at(-1);
  if (top && Object.keys(cur).every(k => String(cur[k]) === String(top.after[k]))) return zoomed.pop().before;
  const [from, to] = range.bounds(), span = to - from;
  if (range.key !== 'custom') return {range: durationKey(Math.round(span) * 2)};
  const end = Math.floor(Math.min(Date.now() / 1000, to + span / 2));
  return {range: 'custom', from: end - Math.round(2 * span), to: end};
}

// REFRESH is what auto-refresh offers, in seconds ("" is off).
const REFRESH = {'': 'Off', '10s': '10 s', '30s': '30 s', '1m': '1 min'};

// refreshPicker is a select of auto-refresh intervals, read from and kept
// in the URL's refresh parameter; while one is chosen, onRefresh runs at
// that interval until the select leaves the page.
function refreshPicker(id, onRefresh) {
  let timer = 0, value = hashParams().get('refresh') ?? '';
  if (!(value in REFRESH)) value = '';
  const select = h('select', {id}, Object.entries(REFRESH).map(([k, t]) => h('option', {value: k, selected: k === value}, t)));
  const arm = () => {
    clearInterval(timer);
    const ms = parseDuration(select.value) * 1000;
    if (ms) timer = setInterval(() => (select.isConnected ? onRefresh() : clearInterval(timer)), ms);
  };
  select.addEventListener('change', () => {
    history.replaceState(history.state, '', hashWith({refresh: select.value || null}));
    arm();
  });
  arm();
  return h('div', {class: 'field'}, h('label', {for: id}, 'Auto-refresh'), select);
}

// NAVIGATION are the keys that move a closed select's choice; the change
// they make waits for Enter or leaving the select, so that stepping through
// the choices does not draw the view again at each one (WCAG 3.2.2).
const NAVIGATION = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'PageUp', 'PageDown', 'Home', 'End']);

// deferKeyboard calls apply on select's change, at once when made with the
// pointer and on Enter or blur when made with the arrow keys.
function deferKeyboard(select, apply) {
  let keyed = false, pending = false;
  const flush = () => {
    const was = pending;
    pending = keyed = false;
    if (was) apply();
  };
  select.addEventListener('keydown', e => {
    if (e.key === 'Enter') return flush();
    keyed = NAVIGATION.has(e.key) && !e.altKey;
  });
  select.addEventListener('pointerdown', () => { keyed = false; });
  select.addEventListener('blur', flush);
  select.addEventListener('change', () => {
    if (keyed) pending = true;
    else apply();
  });
}
