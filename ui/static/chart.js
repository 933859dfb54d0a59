// Chart draws series with uPlot (loaded as the global uPlot by index.html),
// over a legend of last values, with an alert threshold as a dashed line and
// the alert's pending and firing intervals as coloured bands.
import {h, message, fmtNum, fmtTime, labelText} from './dom.js';

const charts = new Set();
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => charts.forEach(c => c.rebuild()));

// colours reads the theme's chart colours from style.css.
function colours() {
  const cs = getComputedStyle(document.documentElement), v = n => cs.getPropertyValue(n).trim();
  return {
    axis: v('--muted'), grid: v('--grid'), threshold: v('--threshold'),
    pending: v('--band-pending'), firing: v('--band-firing'),
    series: Array.from({length: 8}, (_, i) => v(`--s${i}`)),
  };
}

function prefixed(v, base, names, sep) {
  let i = 0;
  while (Math.abs(v) >= base && i < names.length - 1) v /= base, i++;
  return names[i] ? `${fmtNum(v)}${sep}${names[i]}` : fmtNum(v);
}

// formatValue shows v in a panel's unit: s, ratio, fps, bytes, req/s, count.
export function formatValue(v, unit) {
  if (v == null || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  switch (unit) {
    case 's':
      if (a && a < 1e-3) return `${fmtNum(v * 1e6)} µs`;
      if (a < 1) return `${fmtNum(v * 1e3)} ms`;
      return a < 120 ? `${fmtNum(v)} s` : a < 7200 ? `${fmtNum(v / 60)} min` : `${fmtNum(v / 3600)} h`;
    case 'ratio': return `${fmtNum(v * 100)}%`;
    case 'bytes': return prefixed(v, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB'], ' ');
    case 'fps': return `${fmtNum(v)} fps`;
    case 'req/s': return `${prefixed(v, 1000, ['', 'k', 'M'], '')} req/s`;
    default: return prefixed(v, 1000, ['', 'k', 'M', 'G', 'T'], '');
  }
}

// shortLabel names a series by its label values, service first.
function shortLabel({__name__: name, service, ...rest}) {
  const parts = [service, ...Object.keys(rest).sort().map(k => rest[k])].filter(Boolean);
  return parts.join(' · ') || name || 'value';
}

const toNumber = v => (v == null || !Number.isFinite(+v) ? null : +v);

function yRange(min, max, threshold) {
  if (threshold != null) {
    min = Math.min(min ?? threshold, threshold);
    max = Math.max(max ?? threshold, threshold);
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  const [lo, hi] = uPlot.rangeNum(min, max, 0.1, true);
  // A line on the floor (a zero count) would be half clipped by the plot's
  // edge: leave a sliver below it. Ticks still start at lo.
  return lo === min ? [lo - (hi - lo) * 0.03, hi] : [lo, hi];
}

const axis = c => ({stroke: c.axis, grid: {stroke: c.grid, width: 1}, ticks: {stroke: c.grid, width: 1}});

// Chart fills el (the panel's container) with a plot, a legend and a note
// for empty and error states. el gets data-state (drawn, empty or error) and
// data-drawn="true" while uPlot shows data; settled resolves the first time
// any of these states is reached.
//
// opts: unit; threshold (a number or null); range, whose bounds() give the x
// axis; include(metric), which series to show; label, the chart's name; and
// empty(filtered), what to show when there is nothing to draw.
export class Chart {
  #u = null;
  #series = new Map(); // labelText → {metric, label, title, pts: Map(t → v), hidden}
  #shown = [];
  #bands = [];
  #colours = null;
  #settle;
  #ro;

  constructor(el, opts) {
    this.el = el;
    this.opts = {include: () => true, height: 180, ...opts};
    this.settled = new Promise(r => { this.#settle = r; });
    this.plot = h('div', {class: 'plot', role: 'img', 'aria-label': `Chart: ${opts.label}`});
    this.at = h('p', {class: 'at', 'aria-hidden': 'true', hidden: true});
    this.legend = h('ul', {class: 'legend', 'aria-label': `Series of ${opts.label}, last values`});
    this.note = h('div', {class: 'note', hidden: true});
    el.append(this.plot, this.at, this.legend, this.note);
    this.#ro = new ResizeObserver(() => this.#u?.setSize(this.#size()));
    this.#ro.observe(this.plot);
    charts.add(this);
  }

  // merge adds series given as [{metric, values: [[t, "v"], ...]}].
  merge(list) {
    for (const {metric, values} of list) {
      const s = this.#get(metric);
      for (const [t, v] of values) s.pts.set(+t, toNumber(v));
    }
    this.#update();
  }

  // push adds one live point at t (unix ms): values[i] (a string, as the
  // query API sends) to the series of metrics[i].
  push(t, metrics, values) {
    metrics.forEach((metric, i) => this.#get(metric).pts.set(t / 1000, toNumber(values[i])));
    this.#update();
  }

  // lastTime is the newest point's time in unix seconds, 0 without points.
  lastTime() {
    let last = 0;
    for (const s of this.#series.values()) for (const t of s.pts.keys()) last = Math.max(last, t);
    return last;
  }

  setInclude(include) {
    this.opts.include = include;
    this.#update(true);
  }

  // setBands shades [{state: "pending"|"firing", from, to}] (unix seconds).
  setBands(bands) {
    this.#bands = bands;
    this.#u?.redraw(false, false);
  }

  error(text) {
    this.#show('error', message(text, 'error'));
  }

  rebuild() {
    if (this.#u) this.#update(true);
  }

  destroy() {
    this.#ro.disconnect();
    this.#u?.destroy();
    this.#u = null;
    charts.delete(this);
  }

  #get(metric = {}) {
    const title = labelText(metric); // sorted labels: one key whatever their order
    let s = this.#series.get(title);
    if (!s) this.#series.set(title, s = {metric, label: shortLabel(metric), title, pts: new Map(), hidden: false});
    return s;
  }

  // #update drops points left of the range, aligns the shown series on one
  // time axis and redraws, rebuilding the plot when the series changed.
  #update(rebuild = false) {
    const [from] = this.opts.range.bounds();
    for (const [key, s] of this.#series) {
      for (const t of s.pts.keys()) if (t < from) s.pts.delete(t);
      if (!s.pts.size) this.#series.delete(key);
    }
    const shown = [...this.#series.values()].filter(s => this.opts.include(s.metric))
      .sort((a, b) => a.title.localeCompare(b.title));
    const times = [...new Set(shown.flatMap(s => [...s.pts.keys()]))].sort((a, b) => a - b);
    const data = [times, ...shown.map(s => times.map(t => s.pts.get(t) ?? null))];
    if (!data.slice(1).some(col => col.some(v => v != null))) {
      const filtered = this.#series.size > shown.length;
      const empty = this.opts.empty?.(filtered) ?? (filtered ? 'No series match the service filter.' : 'No data in this time range.');
      return this.#show('empty', typeof empty === 'string' ? message(empty) : empty);
    }
    const same = !rebuild && this.#u && shown.length === this.#shown.length && shown.every((s, i) => s === this.#shown[i]);
    this.#shown = shown;
    if (same) this.#u.setData(data);
    else this.#build(data);
    this.#values();
  }

  #show(state, ...nodes) {
    this.#u?.destroy();
    this.#u = null;
    this.#shown = [];
    this.plot.hidden = this.at.hidden = true;
    this.legend.replaceChildren();
    this.note.replaceChildren(...nodes.flat());
    this.note.hidden = false;
    this.el.dataset.state = state;
    delete this.el.dataset.drawn;
    this.#settle();
  }

  #drawn() {
    this.el.dataset.state = 'drawn';
    this.el.dataset.drawn = 'true';
    this.#settle();
  }

  #size() {
    return {width: Math.max(this.plot.clientWidth, 160), height: this.opts.height};
  }

  #build(data) {
    this.#u?.destroy();
    this.plot.hidden = false;
    this.note.hidden = true;
    const c = this.#colours = colours(), {unit, threshold} = this.opts;
    this.#u = new uPlot({
      ...this.#size(),
      legend: {show: false},
      cursor: {drag: {x: false, y: false}},
      scales: {
        x: {time: true, range: () => this.opts.range.bounds()},
        y: {range: (u, min, max) => yRange(min, max, threshold)},
      },
      axes: [{...axis(c), space: 70}, {
        ...axis(c),
        values: (u, vals) => vals.map(v => formatValue(v, unit)),
        size: (u, vals) => (vals?.length ? Math.max(...vals.map(v => v.length)) * 7 + 28 : 52),
      }],
      series: [{}, ...this.#shown.map((s, i) => ({label: s.label, stroke: this.#colour(i), width: 1.5, show: !s.hidden}))],
      hooks: {
        drawClear: [u => this.#drawBands(u)],
        draw: [u => { this.#drawThreshold(u); this.#drawn(); }],
        setCursor: [u => this.#values(u.cursor.idx)],
      },
    }, data, this.plot);
    this.#legend();
  }

  #colour(i) {
    return this.#colours.series[i % this.#colours.series.length];
  }

  #legend() {
    this.legend.replaceChildren(...this.#shown.map((s, i) => {
      const swatch = h('span', {class: 'swatch', 'aria-hidden': 'true'});
      swatch.style.setProperty('--c', this.#colour(i));
      const key = h('button', {type: 'button', class: 'key', title: s.title, 'aria-pressed': String(!s.hidden)}, swatch, s.label);
      key.addEventListener('click', () => {
        s.hidden = !s.hidden;
        key.setAttribute('aria-pressed', String(!s.hidden));
        this.#u?.setSeries(i + 1, {show: !s.hidden});
      });
      return h('li', {}, key, h('span', {class: 'val'}));
    }));
  }

  // #values writes each series' last value into the legend, or its value
  // at the cursor's index while the pointer is over the plot.
  #values(idx = null) {
    const data = this.#u?.data;
    if (!data) return;
    const vals = this.legend.querySelectorAll('.val');
    this.#shown.forEach((s, i) => {
      const col = data[i + 1];
      let j = col.length - 1;
      while (j >= 0 && col[j] == null) j--;
      const last = j >= 0 ? col[j] : null;
      vals[i].dataset.last = last ?? '';
      vals[i].textContent = formatValue(idx == null ? last : col[idx], this.opts.unit);
    });
    this.at.hidden = idx == null;
    this.at.textContent = idx == null ? '' : `at ${fmtTime(data[0][idx] * 1000)}`;
  }

  #drawBands(u) {
    const {ctx, bbox} = u, {min, max} = u.scales.x;
    const painted = [];
    ctx.save();
    for (const b of this.#bands) {
      const from = Math.max(b.from, min), to = Math.min(b.to, max);
      if (to <= from) continue;
      painted.push(b.state);
      const l = u.valToPos(from, 'x', true), r = u.valToPos(to, 'x', true);
      ctx.fillStyle = b.state === 'firing' ? this.#colours.firing : this.#colours.pending;
      ctx.fillRect(l, bbox.top, Math.max(r - l, uPlot.pxRatio), bbox.height);
    }
    ctx.restore();
    this.el.dataset.bands = painted.join(' '); // the states shaded in view, for tests and styling
  }

  #drawThreshold(u) {
    const t = this.opts.threshold;
    if (t == null) return;
    const {ctx, bbox} = u, px = uPlot.pxRatio, y = Math.round(u.valToPos(t, 'y', true)) + 0.5;
    ctx.save();
    ctx.strokeStyle = this.#colours.threshold;
    ctx.lineWidth = 1.5 * px;
    ctx.setLineDash([6 * px, 4 * px]);
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
    ctx.restore();
  }
}
