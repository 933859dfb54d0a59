// Chart draws series with uPlot (loaded as the global uPlot by index.html),
// over a legend of each series' min, max, average and last value, with
// alert thresholds as dashed lines (labelled, when given labels) and the
// alert's pending and firing intervals as coloured bands. Dragging across
// a chart zooms every chart to that time, a double-click zooms out, and the
// cursor is shared: a crosshair on every chart, a tooltip on the one under
// the pointer.
import {stepFor} from './api.js';
import {h, message, fmtNum, fmtTime, labelText} from './dom.js';
import {zoomOutParams, zoomTo, showRange} from './range.js';

const charts = new Set();
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => charts.forEach(c => c.rebuild()));

// PALETTE holds 24 series colours per theme, each at least 3.2:1 against
// the panel: the first seven are the colour-blind-safe set the dashboard
// always had, the rest chosen in turn as far (CIELAB) from all before them
// as possible, no two closer than ΔE 25. None is grey, black or white, the
// threshold line's colours, so no series can be taken for the threshold.
// Series past the 24th are dashed.
export const PALETTE = {
  light: ['#0b63c5', '#c2410c', '#15803d', '#7c3aed', '#be123c', '#0e7490', '#a16207', '#f910b3',
    '#6f205f', '#7e8b04', '#12127d', '#f910f9', '#9317a1', '#17a193', '#17a117', '#7d2712',
    '#c84185', '#f91010', '#1010f9', '#6f5f20', '#8e2948', '#f91085', '#4185c8', '#294ee0'],
  dark: ['#60a5fa', '#fb923c', '#4ade80', '#c4a5fd', '#fb7185', '#22d3ee', '#facc15', '#a21ff9',
    '#f91fb8', '#1ff91f', '#f4fda5', '#f91f1f', '#1f61f9', '#afe236', '#a54dcb', '#51fbd9',
    '#d79275', '#fc83d7', '#cba54d', '#f91ff9', '#4d66cb', '#f91f76', '#e25936', '#f9f91f'],
};

// RATINGS name Google's ratings of a Web Vital's p75.
const RATINGS = {good: 'good', ni: 'needs improvement', poor: 'poor'};

// SYNC is the cursor sync key every chart joins: one crosshair across charts.
const SYNC = 'atroz';

// colours reads the theme's chart colours from style.css.
function colours() {
  const cs = getComputedStyle(document.documentElement), v = n => cs.getPropertyValue(n).trim();
  return {
    axis: v('--muted'), grid: v('--grid'), threshold: v('--threshold'),
    good: v('--zone-good'), ni: v('--zone-ni'), poor: v('--zone-poor'),
    pending: v('--band-pending'), firing: v('--band-firing'),
    series: PALETTE[matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'],
  };
}

function prefixed(v, base, names, sep) {
  let i = 0;
  while (Math.abs(v) >= base && i < names.length - 1) v /= base, i++;
  return names[i] ? `${fmtNum(v)}${sep}${names[i]}` : fmtNum(v);
}

// formatValue shows v in a panel's unit: s, ratio, fps, bytes, req/s, × (a
// multiple, such as a burn rate), count.
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
    case '×': return `${fmtNum(v)}×`;
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

// SUFFIX_UNITS are the units a metric name's suffix states, by Prometheus'
// naming conventions; a histogram's _bucket and _sum keep the unit.
const SUFFIX_UNITS = {seconds: 's', bytes: 'bytes', ratio: 'ratio'};

// inferUnit is the unit of query's values as its metric names state it
// ("_seconds", "_bytes", "_ratio"), or '' when they state none or disagree.
// A _count or _total is a count whatever its name says.
export function inferUnit(query) {
  const units = new Set();
  for (const [name] of query.matchAll(/[a-zA-Z_:][\w:]*(?![\w:]*\s*\()/g)) {
    const m = /_(seconds|bytes|ratio)(?:_bucket|_sum)?$/.exec(name);
    if (m) units.add(SUFFIX_UNITS[m[1]]);
    else if (/_(total|count)$/.test(name)) units.add('');
  }
  return units.size === 1 ? [...units][0] : '';
}

// fmtSpan shows a step of seconds: "30 s", "4.8 min", "2.4 h", "1 d".
export function fmtSpan(s) {
  if (s < 120) return `${fmtNum(s)} s`;
  if (s < 7200) return `${fmtNum(s / 60)} min`;
  return s < 172800 ? `${fmtNum(s / 3600)} h` : `${fmtNum(s / 86400)} d`;
}

// pointMeaning says what one point of query is at a step of seconds, as the
// dashboard asks for it (api.js' widenRates makes a rate's window the step):
// "p95 per 2.4 h", "avg per 2.4 h", or "a sample every 2.4 h".
export function pointMeaning(query, step) {
  const per = fmtSpan(step);
  const q = /histogram_quantile\(\s*([\d.]+)/.exec(query);
  if (q) return `p${fmtNum(q[1] * 100)} per ${per}`;
  const rate = /\brate\([^[()]*\[(\d+)m\]\)/.exec(query);
  if (rate) return step >= rate[1] * 60 ? `avg per ${per}` : `${rate[1]}-min avg every ${per}`;
  const inc = /\bincrease\([^[()]*\[(\d+)m\]\)/.exec(query);
  if (inc) return `${inc[1]}-min increase every ${per}`;
  return `a sample every ${per}`;
}

// yRange pads the data's range, keeps the thresholds in view, and for a
// ratio never runs past 100 % unless the data do, nor below 0: a flat line
// at 1 is drawn against 0–100 %, not 0–200 %.
function yRange(min, max, thresholds, unit) {
  for (const {value} of thresholds) {
    min = Math.min(min ?? value, value);
    max = Math.max(max ?? value, value);
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  let [lo, hi] = uPlot.rangeNum(min, max, 0.1, true);
  if (unit === 'ratio') {
    if (min >= 0) lo = Math.max(lo, 0);
    if (max <= 1) hi = Math.min(hi, 1);
  }
  // A line on or near the floor (a zero count, or milliseconds under a
  // threshold of seconds) or the ceiling would be half clipped by the
  // plot's edge: leave a sliver beyond it. Ticks still end at lo, hi.
  const sliver = (hi - lo) * 0.03;
  return [min - lo < sliver ? lo - sliver : lo, hi - max < sliver ? hi + sliver : hi];
}

// isolated is uPlot's points.filter for a series whose points are not
// drawn: the indices of runs of values too short to see as a line (under
// 4 px: one point, or the few seconds a new route has been scraped), which
// are marked as points instead.
function isolated(u, si, show) {
  if (show) return null;
  const col = u.data[si], xs = u.data[0], out = [];
  for (let a = 0; a < col.length; a++) {
    if (col[a] == null) continue;
    let b = a;
    while (b + 1 < col.length && col[b + 1] != null) b++;
    if (u.valToPos(xs[b], 'x') - u.valToPos(xs[a], 'x') < 4) for (let i = a; i <= b; i++) out.push(i);
    a = b;
  }
  return out;
}

// stats are a column's min, max and mean over its non-null values.
function stats(col) {
  let min = Infinity, max = -Infinity, sum = 0, n = 0;
  for (const v of col) {
    if (v == null) continue;
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
    n++;
  }
  return n ? {min, max, avg: sum / n} : {min: null, max: null, avg: null};
}

// exploreRange is range as Explore's URL parameters: a live range is its
// last 15 minutes.
const exploreRange = range => (range.live ? {range: '15m'} :
  range.key === 'custom' ? {range: 'custom', from: Math.floor(range.bounds()[0]), to: Math.ceil(range.bounds()[1])} : {range: range.key});

const axis = c => ({stroke: c.axis, grid: {stroke: c.grid, width: 1}, ticks: {stroke: c.grid, width: 1}});

// Chart fills el (the panel's container) with a plot, a legend and a note
// for empty and error states. el gets data-state (drawn, empty or error) and
// data-drawn="true" while uPlot shows data; settled resolves the first time
// any of these states is reached.
//
// opts: unit; threshold (a number or null) and thresholds, more lines as
// [{value, label}], each label written at its line's right end; range,
// whose bounds() give the x axis; include(metric), which series to show;
// label, the chart's name; empty(filtered), what to show when there is
// nothing to draw; height in pixels; and query, the PromQL it draws, which
// gives it an "Explore" link (unless link is false) and, over a day or
// more, the legend's note of what a point is; ratings, a Web Vital's
// {good, poor}, shades its good, needs-improvement and poor zones and rates
// each series' last value. el gets data-thresholds, the values of the
// lines drawn, data-zones, the zones shaded, and data-x and data-y, the
// scales in view.
export class Chart {
  #u = null;
  #series = new Map(); // labelText → {metric, label, title, pts: Map(t → v), hidden}
  #shown = [];
  #bands = [];
  #colours = null;
  #focus = null; // the series index (1-based, as uPlot's) nearest the pointer
  #all = false; // the legend shows every series, not a scrolled list
  #settle;
  #ro;

  constructor(el, opts) {
    this.el = el;
    this.opts = {include: () => true, height: 180, ...opts};
    this.settled = new Promise(r => { this.#settle = r; });
    this.plot = h('div', {class: 'plot', role: 'img', 'aria-label': `Chart: ${opts.label}`});
    this.at = h('p', {class: 'at', 'aria-hidden': 'true', hidden: true});
    this.tip = h('div', {class: 'tooltip', 'aria-hidden': 'true', hidden: true});
    this.per = h('p', {class: 'per', hidden: true});
    this.legend = h('ul', {class: 'legend', 'aria-label': `Series of ${opts.label}: min, max, average and last values`});
    this.more = h('button', {type: 'button', class: 'more', hidden: true, onclick: () => this.#showAll(!this.#all)});
    this.note = h('div', {class: 'note', hidden: true});
    el.append(this.plot, this.tip, this.at, this.per, this.legend, this.more, this.note);
    if (opts.query && opts.link !== false) this.#exploreLink(el);
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
    this.plot.hidden = this.at.hidden = this.tip.hidden = this.per.hidden = this.more.hidden = true;
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

  // #exploreLink puts a link to the query in Explore, with this chart's
  // range and unit, in the panel's header (or above the plot).
  #exploreLink(el) {
    const params = () => {
      const p = new URLSearchParams({query: this.opts.query, ...exploreRange(this.opts.range)});
      if (this.opts.unit) p.set('unit', this.opts.unit);
      return `#/explore?${p}`;
    };
    const a = h('a', {class: 'explore-link', href: params(), 'aria-label': `Open ${this.opts.label} in Explore`}, 'Explore');
    a.addEventListener('focus', () => { a.href = params(); });
    a.addEventListener('pointerenter', () => { a.href = params(); });
    const header = el.querySelector(':scope > header');
    if (header) header.append(a);
    else el.prepend(a);
  }

  #showAll(all) {
    this.#all = all;
    this.legend.classList.toggle('all', all);
    this.more.textContent = all ? 'Show fewer' : `Show all ${this.#shown.length}`;
    this.more.setAttribute('aria-expanded', String(all));
  }

  #size() {
    return {width: Math.max(this.plot.clientWidth, 160), height: this.opts.height};
  }

  #build(data) {
    this.#u?.destroy();
    this.plot.hidden = false;
    this.note.hidden = true;
    const c = this.#colours = colours(), {unit} = this.opts;
    this.#focus = null;
    this.#u = new uPlot({
      ...this.#size(),
      legend: {show: false},
      focus: {alpha: 0.35},
      cursor: {
        sync: {key: SYNC, setSeries: false},
        // The series nearest the pointer, however far, is the focused one
        // the tooltip shows.
        focus: {prox: 1e6},
        drag: {x: true, y: false, setScale: false},
        bind: {dblclick: () => e => { e.preventDefault(); showRange(zoomOutParams(this.opts.range)); return null; }},
      },
      scales: {
        x: {time: true, range: () => this.opts.range.bounds()},
        y: {range: (u, min, max) => yRange(min, max, [...this.#thresholds(), ...this.#ratingBounds()], unit)},
      },
      axes: [{...axis(c), space: 70}, {
        ...axis(c),
        values: (u, vals) => vals.map(v => formatValue(v, unit)),
        size: (u, vals) => (vals?.length ? Math.max(...vals.map(v => v.length)) * 7 + 28 : 52),
      }],
      series: [{}, ...this.#shown.map((s, i) => ({
        label: s.label, stroke: this.#colour(i), width: 1.5, show: !s.hidden,
        dash: i >= this.#colours.series.length ? [6, 3] : undefined, points: {filter: isolated},
      }))],
      hooks: {
        drawClear: [u => { this.#drawZones(u); this.#drawBands(u); }],
        draw: [u => {
          this.#drawThresholds(u);
          this.el.dataset.y = `${u.scales.y.min} ${u.scales.y.max}`; // the y scale in view, for tests
          this.el.dataset.x = `${u.scales.x.min} ${u.scales.x.max}`; // the time axis, shared by every chart
          this.#drawn();
        }],
        setCursor: [u => { this.#values(u.cursor.idx); this.#tooltip(u); }],
        setSeries: [(u, i, o) => { if (o.focus != null) this.#focus = i; this.#tooltip(u); }],
        setSelect: [u => this.#zoom(u)],
      },
    }, data, this.plot);
    this.#legend();
  }

  // #zoom shows the time dragged across, on every chart, through the URL.
  #zoom(u) {
    const {left, width} = u.select;
    if (width < 4) return;
    u.setSelect({left: 0, top: 0, width: 0, height: 0}, false);
    zoomTo(this.opts.range, u.posToVal(left, 'x'), u.posToVal(left + width, 'x'));
  }

  // #tooltip floats the focused series' name and value at the cursor's
  // time beside the pointer, on the chart the pointer is over; the others
  // show the synced crosshair alone.
  #tooltip(u) {
    const {idx, left, top, event} = u.cursor, s = this.#shown[this.#focus - 1];
    const v = s && idx != null ? u.data[this.#focus][idx] : null;
    if (!event || v == null || left < 0) return void (this.tip.hidden = true);
    this.tip.replaceChildren(h('span', {class: 'swatch', 'aria-hidden': 'true'}), h('span', {class: 'name'}, s.label),
      h('strong', {}, formatValue(v, this.opts.unit)), h('span', {class: 'time'}, fmtTime(u.data[0][idx] * 1000)));
    this.tip.firstChild.style.setProperty('--c', this.#colour(this.#focus - 1));
    Object.assign(this.tip.dataset, {series: s.title, value: String(v)});
    this.tip.hidden = false;
    const over = u.over.getBoundingClientRect(), panel = this.el.getBoundingClientRect(), right = left > over.width / 2;
    this.tip.style.left = `${over.left - panel.left + left + (right ? -12 : 12)}px`;
    this.tip.style.top = `${over.top - panel.top + top + 12}px`;
    this.tip.classList.toggle('left', right);
  }

  #colour(i) {
    return this.#colours.series[i % this.#colours.series.length];
  }

  #legend() {
    this.legend.replaceChildren(...this.#shown.map((s, i) => {
      const swatch = h('span', {class: 'swatch', 'aria-hidden': 'true'});
      swatch.style.setProperty('--c', this.#colour(i));
      const key = h('button', {type: 'button', class: 'key', title: s.title, 'aria-pressed': String(!s.hidden)}, swatch, h('span', {class: 'name'}, s.label));
      key.addEventListener('click', () => {
        s.hidden = !s.hidden;
        key.setAttribute('aria-pressed', String(!s.hidden));
        this.#u?.setSeries(i + 1, {show: !s.hidden});
      });
      return h('li', {}, key, h('span', {class: 'stat min'}), h('span', {class: 'stat max'}), h('span', {class: 'stat avg'}), h('span', {class: 'val'}));
    }));
    this.legend.prepend(h('li', {class: 'head', 'aria-hidden': 'true'}, h('span', {}, 'Series'),
      h('span', {class: 'stat'}, 'min'), h('span', {class: 'stat'}, 'max'), h('span', {class: 'stat'}, 'avg'), h('span', {class: 'val'}, 'last')));
    this.more.hidden = this.#shown.length <= 5;
    this.#showAll(this.#all);
    const [from, to] = this.opts.range.bounds();
    const per = this.opts.query && to - from >= 86400 && pointMeaning(this.opts.query, stepFor(from, to));
    this.per.hidden = !per;
    this.per.textContent = per ? `Each point: ${per}` : '';
  }

  // #values writes each series' last value into the legend, or its value
  // at the cursor's index while the pointer is over the plot.
  #values(idx = null) {
    const data = this.#u?.data;
    if (!data) return;
    const rows = this.legend.querySelectorAll('li:not(.head)'), unit = this.opts.unit;
    this.#shown.forEach((s, i) => {
      const col = data[i + 1], [min, max, avg, val] = rows[i].querySelectorAll('.stat, .val');
      let j = col.length - 1;
      while (j >= 0 && col[j] == null) j--;
      const last = j >= 0 ? col[j] : null, st = stats(col);
      for (const [el, v] of [[min, st.min], [max, st.max], [avg, st.avg]]) {
        el.dataset.v = v ?? '';
        el.textContent = formatValue(v, unit);
      }
      const rating = this.#rating(last);
      val.dataset.last = last ?? '';
      val.dataset.rating = rating ?? '';
      val.textContent = formatValue(idx == null ? last : col[idx], unit) + (rating && idx == null ? ` · ${RATINGS[rating]}` : '');
    });
    this.at.hidden = idx == null;
    this.at.textContent = idx == null ? '' : `at ${fmtTime(data[0][idx] * 1000)}`;
  }

  // #ratingBounds keeps a Web Vital's ratings in view: [good, poor] as lines' values.
  #ratingBounds() {
    const r = this.opts.ratings;
    return r ? [{value: r.good}, {value: r.poor}] : [];
  }

  // #rating is Google's rating of a p75: good up to ratings.good, poor over
  // ratings.poor, needs improvement between; null without ratings or value.
  #rating(v) {
    const r = this.opts.ratings;
    if (!r || v == null) return null;
    return v <= r.good ? 'good' : v > r.poor ? 'poor' : 'ni';
  }

  // #drawZones shades a Web Vital's ratings across the plot, under the
  // series and the alert bands.
  #drawZones(u) {
    const r = this.opts.ratings;
    if (!r) return;
    const {ctx, bbox} = u, {min, max} = u.scales.y, painted = [];
    ctx.save();
    for (const [zone, lo, hi] of [['good', min, r.good], ['ni', r.good, r.poor], ['poor', r.poor, max]]) {
      const from = Math.max(lo, min), to = Math.min(hi, max);
      if (to <= from) continue;
      painted.push(zone);
      const top = u.valToPos(to, 'y', true), bottom = u.valToPos(from, 'y', true);
      ctx.fillStyle = this.#colours[zone];
      ctx.fillRect(bbox.left, top, bbox.width, bottom - top);
    }
    ctx.restore();
    this.el.dataset.zones = painted.join(' '); // the ratings shaded in view, for tests
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

  // #thresholds are the lines to draw: opts.threshold, unlabelled, then opts.thresholds.
  #thresholds() {
    const {threshold, thresholds = []} = this.opts;
    return threshold == null ? thresholds : [{value: threshold}, ...thresholds];
  }

  #drawThresholds(u) {
    const {ctx, bbox} = u, px = uPlot.pxRatio, drawn = [];
    ctx.save();
    ctx.strokeStyle = ctx.fillStyle = this.#colours.threshold;
    ctx.lineWidth = 1.5 * px;
    ctx.font = `${11 * px}px system-ui, sans-serif`;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'bottom';
    for (const {value, label} of this.#thresholds()) {
      const y = Math.round(u.valToPos(value, 'y', true)) + 0.5;
      ctx.setLineDash([6 * px, 4 * px]);
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
      if (label) ctx.fillText(label, bbox.left + bbox.width - 4 * px, y - 2 * px);
      drawn.push(value);
    }
    ctx.restore();
    this.el.dataset.thresholds = drawn.join(' '); // the lines drawn, for tests
  }
}
