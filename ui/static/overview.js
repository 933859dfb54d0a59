// The overview: every dashboard panel as a chart over one time range, with
// its alert's threshold and pending/firing bands, live in live mode.
import {api, queryRange, stepFor, widenRates} from './api.js';
import {Chart, formatValue} from './chart.js';
import {h, message, labelText} from './dom.js';
import {Live} from './live.js';
import {hashParams, rangePicker, rangeParams, readRange} from './range.js';
import {budgetItem, byService} from './slos.js';

const GROUPS = {backend: 'Backend', frontend: 'Frontend', host: 'Host', data: 'Data', atroz: 'AtroZ itself'};
// OWN are AtroZ's own services (alert.OwnServices): the product panels
// leave them out and the AtroZ section shows them, so the filter omits them.
const OWN = new Set(['atroz', 'atroz-dashboard']);
const RANGES = ['live', '1h', '6h', '24h', '7d', '30d', 'custom'];

// intervals pairs each pending or firing event with the next event of the
// same labels; an interval still open at the end runs to now. Times are
// unix seconds.
export function intervals(events, now) {
  const open = new Map(), out = [];
  const sorted = [...events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  for (const e of sorted) {
    const key = labelText(e.labels ?? {}), t = Date.parse(e.time) / 1000;
    if (open.has(key)) out.push({...open.get(key), to: t});
    open.delete(key);
    if (e.state === 'pending' || e.state === 'firing') open.set(key, {state: e.state, from: t});
  }
  for (const o of open.values()) out.push({...o, to: now, open: true});
  return out;
}

// beaconHint is the empty state of frontend panels: the tag to add.
const beaconHint = () => [
  message('No beacons yet — add this to your pages:'),
  h('code', {class: 'snippet'}, `<script src="${location.origin}/beacon.js" data-service="shop" defer></script>`),
];

// budgetStrip shows, per service, each SLO's error budget left, coloured
// by its state and linking to its card on the SLOs page; nothing when no
// SLO is declared. It is aria-busy until the API has answered.
function budgetStrip(signal) {
  const strip = h('section', {class: 'budgets', 'aria-labelledby': 'budgets-title', 'aria-busy': 'true', hidden: true});
  api('/api/v1/slos', {signal}).then(({slos}) => {
    strip.replaceChildren(h('h2', {id: 'budgets-title'}, 'Error budgets'), ...[...byService(slos)].map(([service, list]) =>
      h('div', {class: 'budget-service', 'data-service': service}, h('h3', {}, service), h('ul', {}, list.map(budgetItem)))));
    strip.hidden = !slos.length;
  }).catch(e => {
    if (e.name === 'AbortError') return;
    strip.replaceChildren(message(`Error budgets unavailable: ${e.message}`));
    strip.hidden = false;
  }).finally(() => strip.removeAttribute('aria-busy'));
  return strip;
}

export function render(root, params, ctx) {
  const range = readRange(params, 'live');
  const abort = new AbortController(), signal = abort.signal;
  let service = params.get('service') || '', events = [], active = [], live = null;
  // includeFor is a panel's share of the service filter: the series of the
  // chosen service by their service label, or by their source's
  // KIND:SERVICE; a panel whose series name no service shows them all.
  const includeFor = filter => m => !service || !filter || !(filter in m) ||
    (filter === 'source' ? m.source.endsWith(`:${service}`) : m.service === service);
  const status = h('p', {class: 'status', role: 'status'});
  const services = h('select', {id: 'service'}, h('option', {value: ''}, 'All services'));
  const grid = h('div', {class: 'groups'});
  const panels = [];

  services.addEventListener('change', () => {
    service = services.value;
    const refresh = hashParams().get('refresh');
    ctx.replace('overview', {...rangeParams(range), ...(service && {service}), ...(refresh && {refresh})});
    panels.forEach(p => {
      p.chart.setInclude(p.include);
      if (p.note) p.note.hidden = !service;
    });
    drawBands();
  });
  const toolbar = h('div', {class: 'toolbar'},
    rangePicker(range, RANGES, p => ctx.go('overview', {...p, ...(service && {service})}), () => ctx.reload()),
    h('div', {class: 'field'}, h('label', {for: 'service'}, 'Service'), services),
    range.live ? null : h('button', {type: 'button', class: 'btn', onclick: () => ctx.reload()}, 'Refresh'),
    status);
  root.append(h('h1', {tabindex: -1}, 'Overview'), toolbar, grid);
  toolbar.after(budgetStrip(signal));

  function card(p) {
    const badge = h('span', {class: 'badge', hidden: true});
    const sub = p.alert && h('p', {class: 'sub'}, `Alert ${p.alert}`,
      p.threshold != null && ` · threshold ${formatValue(p.threshold, p.unit)} (dashed line)`);
    const rated = p.ratings && h('p', {class: 'sub'},
      `Google's ratings, shaded: good up to ${formatValue(p.ratings.good, p.unit)}, poor over ${formatValue(p.ratings.poor, p.unit)}`);
    const resolution = h('p', {class: 'sub resolution', hidden: true});
    const note = !p.filter && h('p', {class: 'sub filter-note', hidden: !service}, 'Not filtered by service');
    const include = includeFor(p.filter);
    const el = h('section', {class: 'panel', 'data-panel': p.id, 'data-state': 'loading', 'aria-labelledby': `title-${p.id}`},
      h('header', {}, h('h3', {id: `title-${p.id}`}, p.title), badge), resolution, sub, rated, note);
    const frontend = p.group === 'frontend' || p.unit === 'fps';
    const chart = new Chart(el, {
      unit: p.unit, threshold: p.threshold, ratings: p.ratings, range, include, label: p.title, query: p.query,
      empty: filtered => (frontend && !filtered ? beaconHint() : null),
    });
    return {...p, el, chart, badge, resolution, note, include, loaded: false};
  }

  function layout(list) {
    const groups = new Map();
    for (const p of list) {
      if (!groups.has(p.group)) groups.set(p.group, []);
      groups.get(p.group).push(p);
    }
    grid.replaceChildren(...[...groups].map(([g, ps]) => h('section', {class: g === 'atroz' ? 'group own' : 'group', 'data-group': g, 'aria-labelledby': `group-${g}`},
      h('h2', {id: `group-${g}`}, GROUPS[g] ?? g),
      g === 'atroz' && h('p', {class: 'sub'}, 'AtroZ\'s own API, store and live connections, apart from your services'),
      h('div', {class: 'grid'}, ps.map(p => p.el)))));
  }

  async function fill(p, from, to) {
    try {
      const series = await queryRange(widenRates(p.query, stepFor(from, to)), from, to, signal);
      p.resolution.textContent = series.resolution;
      p.resolution.hidden = !series.resolution;
      p.chart.merge(series);
    } catch (e) {
      if (e.name !== 'AbortError') p.chart.error(e.message);
    }
  }

  async function loadServices() {
    const names = await api('/api/v1/label/service/values', {signal}).catch(() => []);
    for (const s of new Set([...(names ?? []).filter(n => !OWN.has(n)), service].filter(Boolean))) {
      services.append(h('option', {value: s, selected: s === service}, s));
    }
  }

  async function loadAlerts() {
    const [from, to] = range.bounds();
    try {
      // A day before the range catches the start of an interval still open in it.
      const q = new URLSearchParams({from: Math.floor(from - 86400), to: Math.ceil(to)});
      [events, active] = await Promise.all([
        api(`/api/v1/alerts/history?${q}`, {signal}),
        api('/api/v1/alerts', {signal}).then(d => d.alerts),
      ]);
      drawBands();
    } catch (e) {
      if (e.name !== 'AbortError') status.textContent = `Alert bands unavailable: ${e.message}`;
    }
  }

  // drawBands shades each panel's alert intervals; an active alert with no
  // history in the window is shaded from when it became active.
  function drawBands() {
    const now = Date.now() / 1000;
    for (const p of panels.filter(p => p.alert)) {
      const mine = events.filter(e => e.alertname === p.alert && p.include(e.labels ?? {}));
      const bands = intervals(mine, now), seen = new Set(mine.map(e => labelText(e.labels ?? {})));
      for (const a of active) {
        if (a.labels.alertname === p.alert && p.include(a.labels) && !seen.has(labelText(a.labels))) {
          bands.push({state: a.state, from: Date.parse(a.activeAt) / 1000, to: now, open: true});
        }
      }
      p.chart.setBands(bands);
      const state = bands.some(b => b.open && b.state === 'firing') ? 'firing' : bands.some(b => b.open) ? 'pending' : '';
      p.badge.hidden = !state;
      // A badge whose open alerts are all silenced says so (.badge.silenced).
      const open = active.filter(a => a.labels.alertname === p.alert && p.include(a.labels));
      const silenced = open.length > 0 && open.every(a => a.silenced);
      p.badge.className = `badge state-${state}${silenced ? ' silenced' : ''}`;
      p.badge.textContent = `${p.alert} ${state}${silenced ? ' (silenced)' : ''}`;
    }
  }

  function onMessage(topic, data) {
    if (topic === 'alerts') {
      events.push(data);
      return drawBands();
    }
    const p = panels.find(p => `panel:${p.id}` === topic);
    if (p?.loaded) p.chart.push(data.t, data.metrics ?? [], data.values ?? []);
  }

  // resume back-fills each panel from its newest point after a reconnect.
  function resume() {
    const [from, to] = range.bounds();
    panels.forEach(p => fill(p, Math.max(from, p.chart.lastTime()), to));
    loadAlerts();
  }

  async function load() {
    let list;
    try {
      list = await api('/api/v1/dashboard/panels', {signal});
    } catch (e) {
      if (e.name !== 'AbortError') grid.replaceChildren(message(`Cannot load the panels: ${e.message}`, 'error'));
      return;
    }
    panels.push(...(list ?? []).map(card));
    layout(panels);
    if (!panels.length) grid.replaceChildren(message('No panels are configured.'));
    loadServices();
    loadAlerts();
    if (range.live) {
      status.textContent = 'Connecting…';
      live = new Live([...panels.map(p => `panel:${p.id}`), 'alerts'], {
        onMessage, onResume: resume,
        onStatus: s => { status.textContent = {live: 'Live', polling: 'Live, polled every 15 s'}[s] ?? 'Reconnecting…'; },
      });
    }
    const [from, to] = range.bounds();
    await Promise.all(panels.map(async p => {
      await fill(p, from, to);
      p.loaded = true;
      await p.chart.settled;
    }));
    if (!signal.aborted) ctx.timing('overviewDrawn', performance.now());
  }

  return {
    ready: load(),
    destroy() {
      abort.abort();
      live?.close();
      panels.forEach(p => p.chart.destroy());
    },
  };
}
