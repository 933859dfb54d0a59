// The alerts view: active alerts, silences, the history of transitions and,
// for admins, the receivers. Admins can silence an alert, expire a silence
// and send a receiver a test notification. Values show in their rule's
// unit; on a narrow screen each table row stacks its cells, each under its
// column's name.
import {api} from './api.js';
import {h, table, message, fmtNum, fmtTime, fmtAgo, labelText} from './dom.js';
import {formatValue} from './chart.js';
import {Live} from './live.js';
import {rangePicker, rangeParams, readRange} from './range.js';

const STATES = ['pending', 'firing', 'resolved', 'inactive'];
const DURATIONS = [[3600, '1 hour'], [7200, '2 hours'], [14400, '4 hours'], [28800, '8 hours'], [86400, '1 day'], [604800, '7 days']];
const MAX_ROWS = 500;

const badge = (state, text = state) => h('span', {class: `badge state-${state}`}, text);
const when = t => h('time', {datetime: t, title: fmtTime(t)}, fmtAgo(t));

// UNITS maps the alert API's units to the charts' names for them.
const UNITS = {seconds: 's', ratio: 'ratio', bytes: 'bytes', fps: 'fps'};

// value shows an alert's value in its rule's unit: 0.85 seconds is
// "850 ms", 0.125 ratio "12.5%".
function value(v, unit = '') {
  if (v == null || v === '') return '–';
  const n = Number(v);
  if (!unit || UNITS[unit]) return formatValue(n, UNITS[unit] ?? '');
  return Number.isFinite(n) ? `${fmtNum(n)} ${unit}` : '–';
}

// otherLabels shows an alert's labels but its name.
const otherLabels = ({alertname, ...rest}) => (Object.keys(rest).length ? labelText(rest) : '');

// stacked is table() whose cells carry their column's name, which the
// style shows beside each cell when a narrow screen stacks the rows.
function stacked(caption, heads, items, row, rowClass = () => '') {
  const wrap = table(caption, heads, items, row);
  wrap.classList.add('stack');
  wrap.querySelectorAll('tbody tr').forEach((tr, i) => {
    const cls = rowClass(items[i]);
    if (cls) tr.className = cls;
    [...tr.cells].forEach((td, j) => td.setAttribute('data-label', heads[j]));
  });
  return wrap;
}

// stateCell shows an alert's state: silenced alerts say so, and a pending
// alert that has not fired says that too.
function stateCell(a) {
  return [badge(a.state), a.state === 'pending' && h('span', {class: 'sub-note'}, ' not fired yet'),
    a.silenced && [' ', badge('silenced', 'silenced')]];
}

// historyState shows a transition's state; a pending alert that cleared
// before firing is shown as never fired.
const historyState = e => (e.neverFired || e.state === 'inactive' ? badge('inactive', 'never fired') : badge(e.state));

// historySummary says what a transition was: a resolved one that it
// resolved and when, not the summary of the firing it ended.
function historySummary(e) {
  if (e.state === 'resolved') return h('span', {class: 'resolved-note'}, 'Resolved ', h('time', {datetime: e.time}, fmtTime(e.time)));
  if (e.neverFired || e.state === 'inactive') return 'Pending, cleared before it fired';
  return e.summary ?? '';
}

function matcherText(m) {
  const op = m.isEqual === false ? (m.isRegex ? '!~' : '!=') : (m.isRegex ? '=~' : '=');
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

function field(id, text, control) {
  control.id = id;
  return h('div', {class: 'field'}, h('label', {for: id}, text), control);
}

export function render(root, params, ctx) {
  const admin = ctx.session.role === 'admin';
  const abort = new AbortController(), signal = abort.signal;
  let range = readRange(params, '24h');
  const activeBox = h('div'), silenceBox = h('div'), historyBox = h('div'), receiverBox = h('div');
  const names = h('select', {}, h('option', {value: ''}, 'All alerts'));
  const states = h('select', {}, h('option', {value: ''}, 'All states'),
    STATES.map(s => h('option', {value: s}, s === 'inactive' ? 'never fired' : s)));
  states.value = params.get('state') || '';
  const wanted = params.get('alertname') || '';

  const filtersChanged = () => {
    ctx.replace('alerts', {...rangeParams(range), ...(names.value && {alertname: names.value}), ...(states.value && {state: states.value})});
    loadHistory();
  };
  names.addEventListener('change', filtersChanged);
  states.addEventListener('change', filtersChanged);
  const filters = h('div', {class: 'toolbar'}, field('h-name', 'Alert', names), field('h-state', 'State', states),
    rangePicker(range, ['1h', '6h', '24h', '7d', '30d', 'custom'], p => {
      range = readRange(new URLSearchParams(p), '24h');
      filtersChanged();
    }));
  root.append(h('h1', {tabindex: -1}, 'Alerts'),
    h('section', {'aria-labelledby': 'h-active'}, h('h2', {id: 'h-active'}, 'Active alerts'), activeBox),
    h('section', {'aria-labelledby': 'h-sil'}, h('h2', {id: 'h-sil', tabindex: -1}, 'Silences'), silenceBox),
    h('section', {'aria-labelledby': 'h-hist'}, h('h2', {id: 'h-hist'}, 'History'), filters, historyBox),
    admin && h('section', {'aria-labelledby': 'h-recv'}, h('h2', {id: 'h-recv'}, 'Receivers'), receiverBox));

  // show runs load and puts its result, or its error, in box.
  async function show(box, load) {
    try {
      box.replaceChildren(await load());
    } catch (e) {
      if (e.name !== 'AbortError') box.replaceChildren(message(e.message, 'error'));
    }
  }

  const loadActive = () => show(activeBox, async () => {
    const {alerts} = await api('/api/v1/alerts', {signal});
    if (!alerts.length) return message('No alert is pending or firing.');
    alerts.sort((a, b) => (a.state === b.state ? Date.parse(a.activeAt) - Date.parse(b.activeAt) : a.state === 'firing' ? -1 : 1));
    const heads = ['Alert', 'Labels', 'State', 'Value', 'Since', 'Summary', admin && 'Action'].filter(Boolean);
    return stacked('Pending and firing alerts', heads, alerts, a => [
      a.labels.alertname, otherLabels(a.labels), stateCell(a), value(a.value, a.unit), when(a.activeAt),
      a.annotations?.summary ?? '', admin && action(a),
    ].filter(c => c !== false), a => (a.silenced ? 'silenced' : ''));
  });

  // action is what an admin may do to an alert: silence it or, silenced,
  // expire the silences that mute it.
  function action(a) {
    if (!a.silenced) {
      return h('button', {type: 'button', class: 'btn', 'aria-label': `Silence ${labelText(a.labels)}`, onclick: () => silence(a)}, 'Silence');
    }
    return h('button', {type: 'button', class: 'btn', 'aria-label': `Expire the silence of ${labelText(a.labels)}`,
      onclick: () => expireAll(a.silencedBy ?? [])}, 'Expire silence');
  }

  const loadSilences = () => show(silenceBox, async () => {
    const list = await api('/api/v1/silences', {signal}) ?? [];
    if (!list.length) return message('No silences.');
    const now = Date.now();
    const heads = ['Matchers', 'Starts', 'Ends', 'Created by', 'Comment', 'State', admin && 'Action'].filter(Boolean);
    return stacked('Silences, newest first', heads, list, s => {
      const state = Date.parse(s.endsAt) <= now ? 'expired' : Date.parse(s.startsAt) > now ? 'pending' : 'active';
      return [s.matchers.map(matcherText).join(', '), fmtTime(s.startsAt), fmtTime(s.endsAt), s.createdBy, s.comment, state,
        admin && (state === 'expired' ? '' : h('button', {type: 'button', class: 'btn', onclick: () => expire(s)}, 'Expire')),
      ].filter(c => c !== false);
    });
  });

  const loadHistory = () => show(historyBox, async () => {
    const [from, to] = range.bounds();
    const q = new URLSearchParams({from: Math.floor(from), to: Math.ceil(to), ...(names.value && {alertname: names.value})});
    const events = (await api(`/api/v1/alerts/history?${q}`, {signal}) ?? [])
      .filter(e => !states.value || e.state === states.value).reverse();
    if (!events.length) return message('No transitions in this range.');
    const shown = events.slice(0, MAX_ROWS);
    return h('div', {}, stacked('Alert transitions, newest first', ['Time', 'Alert', 'State', 'Value', 'Labels', 'Summary', 'Silenced'],
      shown, e => [fmtTime(e.time), e.alertname, historyState(e), e.state === 'resolved' ? '–' : value(e.value, e.unit),
        otherLabels(e.labels ?? {}), historySummary(e), e.silenced ? 'yes' : 'no']),
    events.length > MAX_ROWS && message(`Showing the newest ${MAX_ROWS} of ${events.length} transitions.`));
  });

  const loadReceivers = () => show(receiverBox, async () => {
    const {receivers} = await api('/api/v1/admin/receivers', {signal});
    if (!receivers.length) return message('No receiver is configured: alerts are only recorded and logged.');
    return stacked('Notification receivers', ['Receiver', 'Test'], receivers, name => {
      const result = h('span', {class: 'test-result', role: 'status'});
      const button = h('button', {type: 'button', class: 'btn', 'aria-label': `Send a test notification to ${name}`}, 'Send test notification');
      button.addEventListener('click', () => testReceiver(name, button, result));
      return [name, h('span', {}, button, ' ', result)];
    });
  });

  // testReceiver sends a test notification through a receiver and shows
  // whether it was delivered or the receiver's error.
  async function testReceiver(name, button, result) {
    button.disabled = true;
    result.className = 'test-result';
    result.textContent = 'Sending…';
    try {
      const r = await api(`/api/v1/admin/receivers/${encodeURIComponent(name)}/test`, {method: 'POST'});
      result.textContent = r.delivered ? 'Delivered' : `Not delivered: ${r.error}`;
      result.classList.add(r.delivered ? 'ok' : 'error');
    } catch (e) {
      result.textContent = `Not sent: ${e.message}`;
      result.classList.add('error');
    } finally {
      button.disabled = false;
    }
  }

  async function loadNames() {
    const data = await api('/api/v1/rules', {signal}).catch(() => null);
    const rules = (data?.groups ?? []).flatMap(g => g.rules ?? []).filter(r => r.type !== 'recording');
    for (const n of new Set([...rules.map(r => r.name), wanted].filter(Boolean))) names.append(h('option', {value: n}, n));
    names.value = wanted;
  }

  // changed reloads what a silence changes; the buttons pressed are gone,
  // so focus moves to the silences' heading.
  async function changed() {
    await Promise.all([loadSilences(), loadActive()]);
    root.querySelector('#h-sil')?.focus();
  }

  const expire = s => expireAll([s.id]);

  async function expireAll(ids) {
    try {
      await Promise.all(ids.map(id => api(`/api/v1/silences/${encodeURIComponent(id)}`, {method: 'DELETE'})));
    } catch (e) {
      silenceBox.prepend(message(`Cannot expire the silence: ${e.message}`, 'error'));
      return;
    }
    changed();
  }

  function silence(alert) {
    const labels = Object.entries(alert.labels).sort(([a], [b]) => (a === 'alertname' ? -1 : b === 'alertname' ? 1 : a.localeCompare(b)));
    const checks = labels.map(([k, v]) => h('label', {class: 'check'}, h('input', {type: 'checkbox', checked: true}), ` ${k}=${JSON.stringify(v)}`));
    const duration = h('select', {}, DURATIONS.map(([s, text]) => h('option', {value: s}, text)));
    const comment = h('textarea', {rows: 3, maxlength: 1024, required: true});
    const error = h('p', {class: 'error', role: 'alert'});
    const dialog = h('dialog', {'aria-labelledby': 'sil-title'});
    const form = h('form', {},
      h('h2', {id: 'sil-title'}, `Silence ${alert.labels.alertname}`),
      h('fieldset', {}, h('legend', {}, 'Silence alerts with these labels'), checks),
      field('sil-duration', 'Duration', duration), field('sil-comment', 'Comment', comment), error,
      h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'btn', onclick: () => dialog.close()}, 'Cancel'),
        h('button', {type: 'submit', class: 'btn primary'}, 'Create silence')));
    form.addEventListener('submit', async e => {
      e.preventDefault();
      const matchers = labels.filter((_, i) => checks[i].firstChild.checked).map(([name, value]) => ({name, value, isRegex: false}));
      if (!matchers.length) return void (error.textContent = 'Choose at least one label.');
      const start = new Date();
      try {
        await api('/api/v1/silences', {method: 'POST', json: {
          matchers, startsAt: start.toISOString(), endsAt: new Date(+start + duration.value * 1000).toISOString(),
          createdBy: ctx.session.user, comment: comment.value,
        }});
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      dialog.close();
      changed();
    });
    dialog.addEventListener('close', () => dialog.remove());
    dialog.append(form);
    root.append(dialog);
    dialog.showModal();
  }

  let refresh = 0;
  const live = new Live(['alerts'], {
    onMessage: () => {
      clearTimeout(refresh);
      refresh = setTimeout(() => { loadActive(); loadHistory(); }, 500);
    },
    onResume: () => { loadActive(); loadHistory(); },
  });
  const tick = setInterval(loadActive, 30000);

  return {
    ready: loadNames().then(() => Promise.all([loadActive(), loadSilences(), loadHistory(), admin && loadReceivers()])),
    destroy() {
      abort.abort();
      live.close();
      clearTimeout(refresh);
      clearInterval(tick);
    },
  };
}
