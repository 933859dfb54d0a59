// The explore view: any PromQL over a range, drawn as a chart and listed as
// a table. The query and range are in the URL, so a result can be shared.
import {queryRange} from './api.js';
import {Chart} from './chart.js';
import {h, table, message, fmtNum, labelText} from './dom.js';
import {rangePicker, rangeParams, readRange} from './range.js';

const RANGES = ['15m', '1h', '6h', '24h', '7d', '30d', 'custom'];

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

export function render(root, params, ctx) {
  let range = readRange(params, '1h'), chart = null, abort = null;
  const input = h('textarea', {id: 'q', rows: 3, spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off',
    'aria-describedby': 'q-error'}, params.get('q') || '');
  const error = h('div', {id: 'q-error', class: 'error', role: 'alert'});
  const result = h('section', {class: 'panel', 'data-panel': 'explore', 'aria-label': 'Query result', hidden: true});
  const resolution = h('p', {id: 'q-resolution', class: 'sub resolution', hidden: true});
  const rows = h('div');
  const form = h('form', {class: 'explore'},
    h('label', {for: 'q'}, 'PromQL query'), input,
    h('div', {class: 'toolbar'},
      rangePicker(range, RANGES, p => { range = readRange(new URLSearchParams(p), '1h'); run(); }),
      h('button', {type: 'submit', class: 'btn primary'}, 'Run')),
    error);
  form.addEventListener('submit', e => { e.preventDefault(); run(); });
  input.addEventListener('keydown', e => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
  root.append(h('h1', {tabindex: -1}, 'Explore'), form, resolution, result, rows);

  async function run() {
    const q = input.value.trim();
    error.textContent = '';
    if (!q) return void (error.textContent = 'Enter a PromQL query.');
    // A relative range ends now each time it runs.
    range = readRange(new URLSearchParams(rangeParams(range)), '1h');
    ctx.push('explore', {q, ...rangeParams(range)});
    abort?.abort();
    abort = new AbortController();
    chart?.destroy();
    result.replaceChildren();
    result.removeAttribute('data-drawn');
    resolution.hidden = true;
    chart = new Chart(result, {unit: '', threshold: null, range, label: 'Query result'});
    const [from, to] = range.bounds();
    try {
      const series = await queryRange(q, from, to, abort.signal);
      resolution.textContent = series.resolution && `${series.resolution}: rollups served this chart; ranges under a day are exact.`;
      resolution.hidden = !series.resolution;
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
    ready: params.get('q') ? run() : Promise.resolve(),
    destroy() {
      abort?.abort();
      chart?.destroy();
    },
  };
}
