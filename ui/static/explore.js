// The explore view: any PromQL over a range, drawn as a chart and listed as
// a table. The query, range, unit and auto-refresh are in the URL
// (#/explore?query=...&range=...&unit=s&refresh=30s), so a result can be
// shared and every overview panel links here with its own.
import {api, queryRange} from './api.js';
import {Chart, inferUnit} from './chart.js';
import {h, table, message, fmtNum, labelText} from './dom.js';
import {hashParams, rangePicker, rangeParams, readRange} from './range.js';

const RANGES = ['15m', '1h', '6h', '24h', '7d', '30d', 'custom'];
const UNIT_NAMES = {s: 'seconds', bytes: 'bytes', ratio: 'percent', 'req/s': 'requests per second', fps: 'frames per second', count: 'count'};
const MAC = /Mac|iPhone|iPad/.test(navigator.platform);

function lastValue(values) {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = Number(values[i][1]);
    if (Number.isFinite(v)) return v;
  }
  return null;
}

function resultTable(series) {
  if (!series.length) return message('The query returned no series.');
  return table(`${series.length} series`, ['Series', 'Last value', 'Points'], series, s => {
    const last = lastValue(s.values);
    return [h('code', {}, labelText(s.metric)), h('span', {'data-last': last ?? ''}, fmtNum(last)), s.values.length];
  });
}

// word finds what the caret is in the middle of typing in text: a metric
// name, a label name inside {...}, or a label value after name=" — and
// where that word starts.
export function word(text, caret) {
  const before = text.slice(0, caret);
  const value = /([a-zA-Z_]\w*)\s*(?:=|!=|=~|!~)\s*"([^"]*)$/.exec(before);
  const open = before.lastIndexOf('{') > before.lastIndexOf('}');
  if (value && open) return {kind: 'value', label: value[1], prefix: value[2], start: caret - value[2].length};
  const m = /[a-zA-Z_:][\w:]*$/.exec(before);
  const prefix = m ? m[0] : '';
  return {kind: open ? 'label' : 'metric', prefix, start: caret - prefix.length};
}

// Suggest completes metric names, label names and label values in input
// from the label APIs, in a listbox under it: arrows move, Tab or Enter
// take, Escape closes.
class Suggest {
  #values = new Map(); // label name → Promise of its values
  #items = [];
  #at = -1;
  #word = null;

  constructor(input, signal) {
    this.input = input;
    this.signal = signal;
    this.list = h('ul', {id: 'q-suggest', class: 'suggest', role: 'listbox', 'aria-label': 'Suggestions', hidden: true});
    this.metrics = this.#get('/api/v1/label/__name__/values');
    this.labels = this.#get('/api/v1/labels');
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', this.list.id);
    input.setAttribute('aria-expanded', 'false');
    input.addEventListener('input', () => this.update());
    input.addEventListener('keydown', e => this.#key(e));
    input.addEventListener('blur', () => this.close());
    this.list.addEventListener('mousedown', e => e.preventDefault()); // keep the focus in the input
    this.list.addEventListener('click', e => {
      const li = e.target.closest('li');
      if (li) this.#take(Number(li.dataset.i));
    });
  }

  #get(path) {
    return api(path, {signal: this.signal}).then(v => v ?? [], () => []);
  }

  async update() {
    const w = word(this.input.value, this.input.selectionStart);
    this.#word = w;
    let pool;
    if (w.kind === 'metric') pool = await this.metrics;
    else if (w.kind === 'label') pool = (await this.labels).filter(n => n !== '__name__');
    else {
      if (!this.#values.has(w.label)) this.#values.set(w.label, this.#get(`/api/v1/label/${encodeURIComponent(w.label)}/values`));
      pool = await this.#values.get(w.label);
    }
    if (this.#word !== w) return; // typing went on meanwhile
    const p = w.prefix.toLowerCase();
    this.#items = (w.prefix || w.kind !== 'metric') ? pool.filter(n => n.toLowerCase().startsWith(p) && n !== w.prefix).slice(0, 50) : [];
    this.#render(this.#items.length ? 0 : -1);
  }

  #render(at) {
    this.#at = at;
    this.list.replaceChildren(...this.#items.map((n, i) =>
      h('li', {id: `q-suggest-${i}`, role: 'option', 'data-i': i, 'aria-selected': String(i === at)}, n)));
    this.list.hidden = !this.#items.length;
    this.input.setAttribute('aria-expanded', String(!this.list.hidden));
    if (at >= 0) {
      this.input.setAttribute('aria-activedescendant', `q-suggest-${at}`);
      this.list.children[at].scrollIntoView({block: 'nearest'});
    } else {
      this.input.removeAttribute('aria-activedescendant');
    }
  }

  close() {
    this.#items = [];
    this.#render(-1);
  }

  #key(e) {
    if (this.list.hidden || e.ctrlKey || e.metaKey) return;
    const n = this.#items.length;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') this.#render((this.#at + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
    else if (e.key === 'Enter' || e.key === 'Tab') this.#take(this.#at);
    else if (e.key === 'Escape') this.close();
    else return;
    e.preventDefault();
  }

  #take(i) {
    const name = this.#items[i], w = this.#word;
    if (name == null || !w) return this.close();
    const v = this.input.value, end = w.start + w.prefix.length;
    this.input.value = v.slice(0, w.start) + name + v.slice(end);
    this.input.selectionStart = this.input.selectionEnd = w.start + name.length;
    this.close();
    this.input.focus();
  }
}

export function render(root, params, ctx) {
  let range = readRange(params, '1h'), chart = null, abort = null;
  const views = new AbortController();
  const input = h('textarea', {id: 'q', rows: 3, spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off',
    'aria-describedby': 'q-hint q-error'}, params.get('query') || params.get('q') || '');
  const suggest = new Suggest(input, views.signal);
  const error = h('div', {id: 'q-error', class: 'error', role: 'alert'});
  const hint = h('p', {id: 'q-hint', class: 'hint'}, h('kbd', {}, MAC ? '⌘' : 'Ctrl'), ' + ', h('kbd', {}, 'Enter'),
    ' runs the query; metric and label names complete as you type (', h('kbd', {}, 'Tab'), ' takes one).');
  const unitNote = h('p', {id: 'q-unit', class: 'sub', hidden: true});
  const result = h('section', {class: 'panel', 'data-panel': 'explore', 'aria-label': 'Query result', hidden: true});
  const resolution = h('p', {id: 'q-resolution', class: 'sub resolution', hidden: true});
  const notes = h('ul', {id: 'q-notes', class: 'sub notes', 'aria-label': 'What the server said of the query', hidden: true});
  const rows = h('div');
  const form = h('form', {class: 'explore'},
    h('label', {for: 'q'}, 'PromQL query'), h('div', {class: 'query-box'}, input, suggest.list), hint,
    h('div', {class: 'toolbar'},
      rangePicker(range, RANGES, p => { range = readRange(new URLSearchParams(p), '1h'); run(); }, () => run()),
      h('button', {type: 'submit', class: 'btn primary'}, 'Run')),
    error);
  form.addEventListener('submit', e => { e.preventDefault(); run(); });
  input.addEventListener('keydown', e => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
  root.append(h('h1', {tabindex: -1}, 'Explore'), form, unitNote, resolution, notes, result, rows);

  // unitOf is the unit the link gave (a panel's) while the query is the
  // one it came with, else what the metric names state.
  function unitOf(q) {
    const given = params.get('unit');
    if (given && q === (params.get('query') || params.get('q'))) return {unit: given, from: 'the panel'};
    const unit = inferUnit(q);
    return {unit, from: 'the metric name'};
  }

  // show puts the query in the URL: a new history entry when it differs
  // from the one shown, the same entry when the page only restates it.
  function show(q, unit) {
    const refresh = hashParams().get('refresh');
    const next = {query: q, ...rangeParams(range), ...(unit && params.get('unit') && {unit}), ...(refresh && {refresh})};
    const cur = hashParams(), keys = new Set([...cur.keys(), ...Object.keys(next)]);
    const same = [...keys].every(k => (k === 'q' ? true : cur.get(k) === (next[k] == null ? null : String(next[k]))));
    if (same) ctx.replace('explore', next);
    else ctx.push('explore', next);
  }

  async function run() {
    const q = input.value.trim();
    suggest.close();
    error.textContent = '';
    if (!q) return void (error.textContent = 'Enter a PromQL query.');
    // A relative range ends now each time it runs.
    range = readRange(new URLSearchParams(rangeParams(range)), '1h');
    const {unit, from: source} = unitOf(q);
    show(q, unit);
    unitNote.hidden = !unit;
    unitNote.textContent = unit ? `Y axis in ${UNIT_NAMES[unit] ?? unit} (from ${source}).` : '';
    abort?.abort();
    abort = new AbortController();
    chart?.destroy();
    result.replaceChildren();
    result.removeAttribute('data-drawn');
    resolution.hidden = true;
    notes.hidden = true;
    chart = new Chart(result, {unit, threshold: null, range, label: 'Query result', query: q, link: false});
    const [from, to] = range.bounds();
    try {
      const series = await queryRange(q, from, to, abort.signal);
      resolution.textContent = series.resolution && `${series.resolution}: rollups served this chart; ranges under a day are exact.`;
      resolution.hidden = !series.resolution;
      notes.replaceChildren(...series.notes.map(n => h('li', {'data-level': n.level}, n.level === 'warning' ? 'Warning: ' : 'Note: ', n.text)));
      notes.hidden = !series.notes.length;
      result.hidden = !series.length;
      chart.merge(series);
      rows.replaceChildren(resultTable(series));
    } catch (e) {
      if (e.name === 'AbortError') return;
      error.textContent = e.message;
      result.hidden = true;
      rows.replaceChildren();
      return;
    }
    await chart.settled;
  }

  return {
    ready: input.value ? run() : Promise.resolve(),
    destroy() {
      views.abort();
      abort?.abort();
      chart?.destroy();
    },
  };
}
