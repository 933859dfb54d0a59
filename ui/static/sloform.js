// The SLOs page's admin controls: a "New SLO" button that opens a form
// (name, service, optional routes, indicator, objective, window and, for
// latency, a threshold chosen among the duration histogram's bounds), and
// Edit and Delete on the cards of the SLOs created in the dashboard; the
// SLOs of SLO_FILE and the built-in ones change only in the file. A field
// the server refuses (400 "objective: ...") shows its reason under that
// field. Viewers get none of it.
import {api} from './api.js';
import {h} from './dom.js';

const BASE = '/api/v1/admin/slos';
const path = name => `${BASE}/${encodeURIComponent(name)}`;

const INDICATORS = [
  ['availability', 'Availability: requests not answered 5xx'],
  ['latency', 'Latency: requests answered within a threshold'],
  ['frame_rate', 'Frame rate: beacon seconds over 50 fps'],
];

// FIELDS are the form's fields, as the API names them.
const FIELDS = ['name', 'service', 'routes', 'indicator', 'objective', 'window', 'threshold'];

// fieldOf reads the field a refusal names ("threshold: 300ms is not ..."),
// or '' when it names none of the form's.
export function fieldOf(message) {
  const m = /^(\w+): /.exec(message);
  return m && FIELDS.includes(m[1]) ? m[1] : '';
}

// sloAdmin returns the page's admin controls: el goes under the page's
// header; update(data) takes each GET /api/v1/slos answer, and
// decorate(list) adds Edit and Delete to the drawn cards of dashboard SLOs.
// changed() is called after every change, to load the page's SLOs again.
export function sloAdmin(ctx, changed) {
  if (ctx.session?.role !== 'admin') return {el: document.createDocumentFragment(), update() {}, decorate() {}};
  let thresholds = [], own = new Map();
  const status = h('p', {class: 'note', role: 'status', id: 'slo-admin-status'});
  const el = h('div', {class: 'slo-admin'},
    h('div', {class: 'actions'}, h('button', {type: 'button', class: 'btn primary', id: 'slo-new', onclick: () => openForm(null)}, 'New SLO')),
    status);

  const done = async text => {
    status.textContent = text;
    await changed();
  };

  function openForm(def) {
    const form = sloForm(def, thresholds, async body => {
      if (def) await api(path(def.name), {method: 'PUT', json: body});
      else await api(BASE, {method: 'POST', json: body});
      return `SLO ${body.name} ${def ? 'saved' : 'created'}.`;
    }, done);
    el.append(form);
    form.showModal();
  }

  function confirmDelete(def) {
    const d = h('dialog', {'aria-labelledby': 'slo-delete-title', id: 'slo-delete'});
    const error = h('p', {class: 'error', role: 'alert'});
    const form = h('form', {novalidate: true}, h('h2', {id: 'slo-delete-title'}, `Delete SLO ${def.name}?`),
      h('p', {}, `Its rules stop at once and its alerts resolve. This cannot be undone.`), error,
      h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'btn', onclick: () => d.close()}, 'Cancel'),
        h('button', {type: 'submit', class: 'btn primary'}, 'Delete')));
    form.addEventListener('submit', async e => {
      e.preventDefault();
      try {
        await api(path(def.name), {method: 'DELETE'});
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      d.close();
      await done(`SLO ${def.name} deleted.`);
    });
    d.addEventListener('close', () => d.remove());
    d.append(form);
    el.append(d);
    d.showModal();
  }

  return {
    el,
    update(data) {
      thresholds = data?.latency_thresholds ?? [];
      own = new Map((data?.definitions ?? []).filter(d => d.origin === 'dashboard').map(d => [d.name, d]));
    },
    decorate(list) {
      for (const card of list.querySelectorAll('.slo-card')) {
        const def = own.get(card.dataset.slo);
        if (!def) continue;
        card.append(h('div', {class: 'actions slo-card-actions'},
          h('button', {type: 'button', class: 'btn', 'aria-label': `Edit SLO ${def.name}`, onclick: () => openForm(def)}, 'Edit'),
          h('button', {type: 'button', class: 'btn', 'aria-label': `Delete SLO ${def.name}`, onclick: () => confirmDelete(def)}, 'Delete')));
      }
    },
  };
}

// field wraps a control with its label and the line its error shows in.
function field(name, text, control, hint = '') {
  const id = `slo-${name}`;
  Object.assign(control, {id, name});
  control.setAttribute('aria-describedby', `${id}-error`);
  return h('div', {class: 'field', 'data-field': name}, h('label', {for: id}, text), control,
    hint && h('span', {class: 'sub'}, hint), h('p', {class: 'error', id: `${id}-error`, role: 'alert'}));
}

// sloForm is the modal form of a new SLO, or of def's replacement; send(body)
// stores it and returns the status line, which done shows.
function sloForm(def, thresholds, send, done) {
  const c = {
    name: h('input', {type: 'text', required: true, maxlength: 64, autocomplete: 'off', spellcheck: 'false',
      pattern: '[A-Za-z0-9_\\-]+', title: "letters, digits, '-' and '_'", readonly: def != null}),
    service: h('input', {type: 'text', required: true, autocomplete: 'off', spellcheck: 'false'}),
    routes: h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: '/api/pay, /api/cart/:id'}),
    indicator: h('select', {}, INDICATORS.map(([v, text]) => h('option', {value: v}, text))),
    objective: h('input', {type: 'number', required: true, min: 0, max: 100, step: 'any', inputmode: 'decimal', placeholder: '99.9'}),
    window: h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: '30d'}),
    threshold: h('select', {}, thresholds.map(t => h('option', {value: t}, t))),
  };
  if (def) {
    Object.assign(c.name, {value: def.name});
    Object.assign(c.service, {value: def.service});
    c.routes.value = (def.routes ?? []).join(', ');
    c.indicator.value = def.indicator;
    c.objective.value = def.objective;
    c.window.value = def.window;
    if (def.threshold) c.threshold.value = def.threshold;
  } else if (thresholds.includes('500ms')) {
    c.threshold.value = '500ms';
  }
  const thresholdField = field('threshold', 'Latency threshold', c.threshold, 'a bound of the request-duration histogram');
  const showThreshold = () => { thresholdField.hidden = c.indicator.value !== 'latency'; };
  c.indicator.addEventListener('change', showThreshold);
  showThreshold();
  const title = def ? `Edit SLO ${def.name}` : 'New SLO';
  const d = h('dialog', {'aria-labelledby': 'slo-form-title', id: 'slo-form'});
  const error = h('p', {class: 'error', role: 'alert'});
  const form = h('form', {novalidate: true}, h('h2', {id: 'slo-form-title'}, title),
    field('name', 'Name', c.name), field('service', 'Service', c.service),
    field('routes', 'Routes (optional, comma-separated)', c.routes),
    field('indicator', 'Indicator', c.indicator), field('objective', 'Objective (%)', c.objective),
    field('window', 'Window', c.window, 'from 1d to 400d; 30d if empty'), thresholdField, error,
    h('div', {class: 'actions'},
      h('button', {type: 'button', class: 'btn', onclick: () => d.close()}, 'Cancel'),
      h('button', {type: 'submit', class: 'btn primary'}, def ? 'Save' : 'Create SLO')));

  const clear = () => {
    error.textContent = '';
    for (const [name, control] of Object.entries(c)) {
      control.removeAttribute('aria-invalid');
      form.querySelector(`#slo-${name}-error`).textContent = '';
    }
  };
  const show = message => {
    const name = fieldOf(message);
    if (!name) return void (error.textContent = message);
    c[name].setAttribute('aria-invalid', 'true');
    form.querySelector(`#slo-${name}-error`).textContent = message.slice(name.length + 2);
    c[name].focus();
  };

  form.addEventListener('submit', async e => {
    e.preventDefault();
    clear();
    let text;
    try {
      text = await send(bodyOf(c));
    } catch (err) {
      show(err.message);
      return;
    }
    d.close();
    await done(text);
  });
  d.addEventListener('close', () => d.remove());
  d.append(form);
  return d;
}

// bodyOf is the API's body from the form's controls: what is left empty
// is left out, for the server to default or refuse.
function bodyOf(c) {
  const body = {name: c.name.value.trim(), service: c.service.value.trim(), indicator: c.indicator.value};
  const routes = c.routes.value.split(',').map(r => r.trim()).filter(Boolean);
  if (routes.length) body.routes = routes;
  // A number the browser cannot read is sent as it was typed, so the
  // server names the field.
  const objective = c.objective.value.trim();
  if (objective !== '') body.objective = Number.isFinite(Number(objective)) ? Number(objective) : objective;
  if (c.window.value.trim()) body.window = c.window.value.trim();
  if (c.indicator.value === 'latency') body.threshold = c.threshold.value;
  return body;
}
