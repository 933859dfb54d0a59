// The SLOs view: a card per SLO and service (GET /api/v1/slos), grouped by
// service, each with its objective, SLI over the last hour and over its
// window, the error budget left, when it runs out at the last hour's burn,
// and a chart of the burn rate over the page's range with the burn-rate
// alerts' thresholds. #/slos?slo=NAME&service=SERVICE brings one card into
// view, as the overview's budget strip links to it.
//
// The page is a header area (pageHeader) above the list (renderList), and
// every card is drawn by renderCard from one status alone.
import {api, queryRange} from './api.js';
import {Chart, formatValue} from './chart.js';
import {h, message, fmtNum, fmtTime, fmtAgo} from './dom.js';
import {durationKey, rangePicker, readRange} from './range.js';
import {sloAdmin} from './sloform.js';

const RANGES = ['1h', '6h', '24h', '7d', '30d', 'custom'];

// RATIO begins the recorded error ratio's name over a window (slo.RatioPrefix).
const RATIO = 'slo:sli_error:ratio_rate';

// STATES name an SLO's state: its card's and strip item's class is slo-STATE.
const STATES = {ok: 'OK', burning: 'Burning', exhausted: 'Exhausted', none: 'No events'};

// round10 keeps ten significant digits, as the rules do, so that the
// binary noise of a product of decimals is not shown: 14.4, not 14.400000000000002.
const round10 = v => Number(v.toPrecision(10));

// budgetOf is the share of events an objective (percent) allows to be bad.
export const budgetOf = objective => round10((100 - objective) / 100);

// thresholds are an SLO's burn-rate alert conditions as the API gives
// them from its rules (burn_alerts: urgency, long and short windows in
// seconds, factor, and whether it can fire at all), each with its label.
export function thresholds(st) {
  return (st.burn_alerts ?? []).map(b => ({
    alert: b.urgency, long: b.long_seconds, short: b.short_seconds, factor: b.factor, reachable: b.reachable,
    label: `${b.urgency} ${fmtNum(b.factor)}× ${durationKey(b.long_seconds)}`,
  }));
}

// stateOf is an SLO's state: exhausted once its budget is spent, burning
// while the last hour spends it faster than the window allows, none
// without events over the window, else ok.
export function stateOf(st) {
  if (st.budget_remaining == null) return 'none';
  if (st.budget_remaining <= 0) return 'exhausted';
  return st.burn_rate > 1 ? 'burning' : 'ok';
}

// fmtDuration shows seconds as the two largest units: "45 s", "12 min",
// "6 h 12 min", "22 d 12 h".
export function fmtDuration(s) {
  s = Math.abs(s);
  if (s < 60) return `${Math.round(s)} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const hours = Math.round(s / 3600);
  if (s < 86400) return min % 60 ? `${Math.floor(min / 60)} h ${min % 60} min` : `${min / 60} h`;
  return hours % 24 ? `${Math.floor(hours / 24)} d ${hours % 24} h` : `${hours / 24} d`;
}

const decimals = new Intl.NumberFormat(undefined, {maximumFractionDigits: 3});
const count = new Intl.NumberFormat(undefined, {maximumFractionDigits: 0});

// fmtSLI shows a good share as a percentage to three decimals, cut rather
// than rounded, so an SLI just short of its objective never shows as met:
// 0.99949 is "99.949 %", never "99.95 %".
export const fmtSLI = v => (v == null ? '–' : `${decimals.format(Math.floor(v * 1e5 + 1e-6) / 1e3)} %`);

// fmtBudget shows a share of the budget as a percentage: "44.4 %".
export const fmtBudget = v => (v == null ? '–' : `${fmtNum(v * 100)} %`);

// objectiveText is "99.9 % over 30 d".
export const objectiveText = st => `${decimals.format(st.objective)} % over ${fmtDuration(st.window_seconds)}`;

// sloLink is the SLOs page with st's card in view.
export const sloLink = st => `#/slos?${new URLSearchParams({slo: st.name, service: st.service})}`;

// byService groups statuses by service, in the API's order.
export function byService(list) {
  const out = new Map();
  for (const st of list) {
    if (!out.has(st.service)) out.set(st.service, []);
    out.get(st.service).push(st);
  }
  return out;
}

// budgetBar is a bar filled to the budget left (clamped to 0–100 %); the
// text beside it says the number, so the bar is hidden from screen readers.
export function budgetBar(st) {
  const bar = h('span', {class: 'budget-bar', 'aria-hidden': 'true'}, h('span'));
  bar.style.setProperty('--fill', `${Math.min(100, Math.max(0, (st.budget_remaining ?? 0) * 100))}%`);
  return bar;
}

// budgetItem is one SLO in the overview's budget strip: its name, budget
// left as a bar and a percentage, coloured by state, linking to its card.
export function budgetItem(st) {
  const state = stateOf(st);
  return h('li', {}, h('a', {
    class: `budget slo-${state}`, href: sloLink(st), 'data-slo': st.name, 'data-service': st.service,
    'aria-label': `${st.name}: ${fmtBudget(st.budget_remaining)} of the error budget left, ${STATES[state].toLowerCase()}`,
  }, h('span', {class: 'budget-name'}, st.name), budgetBar(st), h('span', {class: 'budget-value'}, fmtBudget(st.budget_remaining))));
}

// burnQuery is the PromQL of an SLO's burn rate over each alert's long
// window: the recorded error ratio over the budget, one series per window.
export function burnQuery(st) {
  const sel = `{slo=${JSON.stringify(st.name)}, service=${JSON.stringify(st.service)}}`;
  const parts = thresholds(st).map(({long}) => {
    const w = durationKey(long);
    return `label_replace(${RATIO}${w}${sel}, "window", "over ${w}", "", "")`;
  });
  return `sum by (window) (${parts.join(' or ')}) / ${budgetOf(st.objective)}`;
}

// emptyState tells how SLOs come to be declared.
function emptyState() {
  return h('div', {class: 'slo-empty'},
    h('h2', {}, 'No SLOs yet'),
    h('p', {}, 'The built-in SLOs appear for each service once it sends requests or beacons: availability (99 % of requests not answered 5xx), ',
      'latency (95 % within 500 ms) and frame rate (half of beacon seconds at 50 fps or more), each over 30 days. ',
      h('code', {}, 'SLO_DEFAULTS=false'), ' turns them off.'),
    h('p', {}, 'Declare your own in a YAML file named by ', h('code', {}, 'SLO_FILE'), ' (or ', h('code', {}, '-slo-file'), '), check it with ',
      h('code', {}, 'atroz slo check FILE'), ' and restart AtroZ:'),
    h('code', {class: 'snippet'}, 'slos:\n  - name: checkout-availability\n    service: checkout\n    objective: 99.9\n    window: 30d\n    indicator: availability'));
}

// figure is one figure of a card: a term, its value (with extra beside
// it) and a note under it.
const figure = (field, term, value, note, extra = null) =>
  h('div', {}, h('dt', {}, term), h('dd', {'data-field': field}, h('span', {class: 'value'}, value), extra && [' ', extra],
    note && h('span', {class: 'sub'}, note)));

const events = c => `${count.format(c.bad)} bad of ${count.format(c.all)}`;

// runsOut says when the budget runs out at the last hour's burn.
function runsOut(st, state) {
  if (state === 'exhausted') return 'Already spent';
  if (st.exhausted_in_seconds == null) return 'Not burning';
  return `In ${fmtDuration(st.exhausted_in_seconds)}`;
}

// figures are a card's numbers.
function figures(st, state) {
  const hour = st.last_hour, window = fmtDuration(st.window_seconds);
  const left = st.budget_remaining_seconds;
  return h('dl', {class: 'slo-figures'},
    figure('sli-hour', 'SLI, last hour', fmtSLI(hour.all > 0 ? 1 - hour.bad / hour.all : null), events(hour)),
    figure('sli', `SLI, ${window}`, fmtSLI(st.sli), events(st.events)),
    figure('budget', 'Error budget left', fmtBudget(st.budget_remaining),
      left == null ? null : left >= 0 ? `${fmtDuration(left)} of total outage` : `overspent by ${fmtDuration(left)}`, budgetBar(st)),
    figure('burn', 'Burn rate, last hour', formatValue(st.burn_rate, '×'), st.burn_rate == null ? 'no events in the hour' : null),
    figure('exhausted', 'Budget runs out', runsOut(st, state),
      st.exhausted_in_seconds == null ? null : fmtTime(Date.now() + st.exhausted_in_seconds * 1000)));
}

// thresholdList names the alert thresholds the chart draws, and those
// that cannot fire at this objective.
function thresholdList(list) {
  return h('ul', {class: 'thresholds', 'aria-label': 'Burn-rate alert thresholds'}, list.map(t => h('li', {'data-window': durationKey(t.long), 'data-factor': t.factor},
    `${t.alert === 'page' ? 'Page' : 'Ticket'}: ${fmtNum(t.factor)}× over ${fmtDuration(t.long)} and ${fmtDuration(t.short)}`,
    !t.reachable && h('span', {class: 'sub'}, ' (cannot fire: above a 100 % error ratio)'))));
}

// burnPanel is a card's burn-rate chart over range, with the thresholds of
// the alerts that can fire as labelled dashed lines.
function burnPanel(st, range, id) {
  const list = thresholds(st);
  const el = h('section', {class: 'burn', 'aria-labelledby': `${id}-burn`},
    h('header', {}, h('h4', {id: `${id}-burn`}, 'Burn rate')));
  const chart = new Chart(el, {
    unit: '×', range, query: burnQuery(st), label: `burn rate of ${st.name} for ${st.service}`,
    thresholds: list.filter(t => t.reachable).map(t => ({value: t.factor, label: t.label})),
    empty: () => `No burn rate recorded in this range: the SLO's rules record ${RATIO}… at each evaluation.`,
  });
  el.append(thresholdList(list));
  return {el, chart};
}

// renderCard draws one SLO's card from its status; it returns the card,
// its chart, and fill, which draws the chart from the query API.
export function renderCard(st, range, id) {
  const state = stateOf(st);
  const burn = burnPanel(st, range, id);
  const el = h('article', {class: `slo-card slo-${state}`, id, tabindex: -1, 'aria-labelledby': `${id}-title`,
    'data-slo': st.name, 'data-service': st.service, 'data-budget-state': state},
  h('header', {}, h('h3', {id: `${id}-title`}, st.name), h('span', {class: `badge slo-state slo-${state}`}, STATES[state])),
  h('p', {class: 'sub objective'}, `${objectiveText(st)} · ${st.indicator.replace('_', ' ')}`),
  figures(st, state), burn.el);
  const fill = async signal => {
    const [from, to] = range.bounds();
    try {
      burn.chart.merge(await queryRange(burn.chart.opts.query, from, to, signal));
    } catch (e) {
      if (e.name !== 'AbortError') burn.chart.error(e.message);
    }
  };
  return {el, chart: burn.chart, fill};
}

// renderList draws a section per service, a card per SLO.
function renderList(list, range) {
  const cards = [];
  const sections = [...byService(list)].map(([service, sts], i) => {
    const own = sts.map((st, j) => renderCard(st, range, `slo-${i}-${j}`));
    cards.push(...own);
    return h('section', {class: 'slo-service', 'aria-labelledby': `slo-svc-${i}`},
      h('h2', {id: `slo-svc-${i}`}, service), h('div', {class: 'slo-grid'}, own.map(c => c.el)));
  });
  return {sections, cards};
}

// pageHeader is the page's title, what it shows, the range and the count's
// time; a form to declare an SLO belongs here too.
function pageHeader(range, ctx, status) {
  return h('div', {class: 'slo-head'},
    h('h1', {tabindex: -1}, 'Service-level objectives'),
    message('Each SLO\'s error budget, counted exactly from the stored counters, and its burn rate: 1× spends the budget in exactly its window.'),
    h('div', {class: 'toolbar'},
      rangePicker(range, RANGES, p => ctx.go('slos', p), () => ctx.reload()),
      h('button', {type: 'button', class: 'btn', onclick: () => ctx.reload()}, 'Refresh'),
      status));
}

// focusCard brings the card params name into view and focuses it; it
// returns the card, or null when there is none.
function focusCard(root, params) {
  const name = params.get('slo'), service = params.get('service');
  const card = [...root.querySelectorAll('.slo-card')].find(c => c.dataset.slo === name && (service == null || c.dataset.service === service));
  card?.scrollIntoView({block: 'start'});
  card?.focus({preventScroll: true});
  return card ?? null;
}

export function render(root, params, ctx) {
  const range = readRange(params, '24h');
  const abort = new AbortController(), signal = abort.signal;
  const status = h('p', {class: 'status', role: 'status'});
  const list = h('div', {class: 'slo-list'}, message('Counting…'));
  let cards = [];
  const admin = sloAdmin(ctx, () => {
    cards.forEach(c => c.chart.destroy());
    return load();
  });
  root.append(pageHeader(range, ctx, status), admin.el, list);

  async function load() {
    let data;
    try {
      data = await api('/api/v1/slos', {signal});
    } catch (e) {
      if (e.name !== 'AbortError') list.replaceChildren(message(`Cannot load the SLOs: ${e.message}`, 'error'));
      return;
    }
    const slos = data?.slos ?? [];
    admin.update(data);
    if (!slos.length) return void list.replaceChildren(emptyState());
    status.textContent = data.computed_at ? `Counted ${fmtAgo(data.computed_at)}` : '';
    const drawn = renderList(slos, range);
    cards = drawn.cards;
    list.replaceChildren(...drawn.sections);
    admin.decorate(list);
    const target = params.has('slo') ? focusCard(root, params) : null;
    await Promise.all(cards.map(async c => {
      await c.fill(signal);
      await c.chart.settled;
    }));
    // The charts above it have grown since: bring it back, unless the
    // reader has moved on.
    if (target && document.activeElement === target) target.scrollIntoView({block: 'start'});
  }

  return {
    ready: load(),
    destroy() {
      abort.abort();
      cards.forEach(c => c.chart.destroy());
    },
  };
}
