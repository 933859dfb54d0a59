// The admin view: dashboard users (users.js), and the API tokens that
// Grafana, promtool and pipelines use. It lists tokens, creates one (its
// secret shown once, with a copy button) and revokes one after a
// confirmation. Only admins reach it.
import {api} from './api.js';
import {h, table, message, fmtTime, fmtAgo} from './dom.js';
import {sourcesSection} from './sources.js';
import {usersSection} from './users.js';

const SCOPES = [
  ['read', 'read', 'queries, rules, alerts, metadata, federation, remote read'],
  ['ingest', 'ingest', 'request events, Prometheus text, remote write, /metrics'],
  ['admin', 'admin', 'tokens, silences, security status; implies read'],
];
const EXPIRIES = [['', 'Never'], [30, '30 days'], [90, '90 days'], [365, '1 year']];
const DAY = 86400000;

const when = t => (t ? h('time', {datetime: t, title: fmtTime(t)}, fmtAgo(t)) : 'never');
const until = t => (t ? h('time', {datetime: t}, fmtTime(t)) : 'never');

function field(id, text, control) {
  control.id = id;
  return h('div', {class: 'field'}, h('label', {for: id}, text), control);
}

export function render(root, params, ctx) {
  root.append(h('h1', {tabindex: -1}, 'Admin'));
  if (ctx.session.role !== 'admin') {
    root.append(message('This page is for admins.', 'error'));
    return {ready: Promise.resolve(), destroy() {}};
  }
  const abort = new AbortController(), signal = abort.signal;
  const listBox = h('div'), shown = h('div', {'aria-live': 'polite'});
  const users = usersSection(root, ctx.session.user, signal);
  root.append(users.section);
  root.append(h('section', {'aria-labelledby': 'h-tokens'},
    h('h2', {id: 'h-tokens', tabindex: -1}, 'API tokens'),
    message('A token is sent as "Authorization: Bearer <token>", or as the basic-auth password with any user name: how Grafana and promtool send a static credential. Give Grafana a read token.'),
    shown, createForm(), listBox));
  root.append(sourcesSection(root, signal).section);

  async function load() {
    try {
      const tokens = await api('/api/v1/admin/tokens', {signal}) ?? [];
      listBox.replaceChildren(tokens.length
        ? table('API tokens by name', ['Name', 'Scopes', 'Created', 'Last used', 'Expires', 'Action'], tokens, t => [
          t.name, t.scopes.join(', '), fmtTime(t.created), when(t.last_used), until(t.expires),
          h('button', {type: 'button', class: 'btn', 'aria-label': `Revoke ${t.name}`, onclick: () => confirmRevoke(t.name)}, 'Revoke'),
        ])
        : message('No API tokens.'));
    } catch (e) {
      if (e.name !== 'AbortError') listBox.replaceChildren(message(e.message, 'error'));
    }
  }

  function createForm() {
    const name = h('input', {type: 'text', required: true, maxlength: 64, autocomplete: 'off', spellcheck: 'false',
      pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}', title: 'letters, digits, _ . - starting with a letter or digit'});
    const checks = SCOPES.map(([value, text, what]) => h('label', {class: 'check'},
      h('input', {type: 'checkbox', name: 'scope', value, checked: value === 'read'}), ` ${text} `, h('span', {class: 'note'}, `(${what})`)));
    const expiry = h('select', {}, EXPIRIES.map(([days, text]) => h('option', {value: days}, text)));
    const error = h('p', {class: 'error', role: 'alert'});
    const form = h('form', {class: 'token-form'},
      h('h3', {}, 'New token'),
      field('token-name', 'Name', name),
      h('fieldset', {}, h('legend', {}, 'Scopes'), checks),
      field('token-expiry', 'Expires', expiry), error,
      h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'btn primary'}, 'Create token')));
    form.addEventListener('submit', async e => {
      e.preventDefault();
      const scopes = checks.map(c => c.firstChild).filter(c => c.checked).map(c => c.value);
      if (!scopes.length) return void (error.textContent = 'Choose at least one scope.');
      const json = {name: name.value, scopes};
      if (expiry.value) json.expires = new Date(Date.now() + expiry.value * DAY).toISOString().replace(/\.\d+Z$/, 'Z');
      let made;
      try {
        made = await api('/api/v1/admin/tokens', {method: 'POST', json});
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      error.textContent = '';
      form.reset();
      showSecret(made);
      load();
    });
    return form;
  }

  // showSecret shows a new token's secret, the only time it can be seen.
  function showSecret(made) {
    const secret = h('input', {id: 'token-secret', type: 'text', readonly: true, value: made.token, size: 50, 'aria-label': `Secret of ${made.name}`});
    const status = h('span', {class: 'note', role: 'status'});
    const copy = h('button', {type: 'button', class: 'btn'}, 'Copy');
    copy.addEventListener('click', async () => {
      secret.select();
      try {
        await navigator.clipboard.writeText(made.token);
      } catch {
        document.execCommand('copy'); // plain HTTP has no clipboard API; the selection is copied instead
      }
      status.textContent = 'Copied.';
    });
    shown.replaceChildren(h('div', {class: 'secret'},
      h('p', {}, `Token ${made.name} (${made.scopes.join(', ')}) created. Copy its secret now: it is stored only as a hash and will not be shown again.`),
      h('div', {class: 'toolbar'}, secret, copy, status)));
    secret.focus();
    secret.select();
  }

  function confirmRevoke(name) {
    const dialog = h('dialog', {'aria-labelledby': 'revoke-title'});
    const error = h('p', {class: 'error', role: 'alert'});
    const form = h('form', {},
      h('h2', {id: 'revoke-title'}, `Revoke ${name}?`),
      h('p', {}, 'Every request using this token is refused from the next one on. This cannot be undone.'), error,
      h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'btn', onclick: () => dialog.close()}, 'Cancel'),
        h('button', {type: 'submit', class: 'btn primary'}, 'Revoke')));
    form.addEventListener('submit', async e => {
      e.preventDefault();
      try {
        await api(`/api/v1/admin/tokens/${encodeURIComponent(name)}`, {method: 'DELETE'});
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      dialog.close();
      shown.replaceChildren(message(`Token ${name} revoked.`));
      await load();
      root.querySelector('#h-tokens')?.focus();
    });
    dialog.addEventListener('close', () => dialog.remove());
    dialog.append(form);
    root.append(dialog);
    dialog.showModal();
  }

  return {ready: Promise.all([users.ready, load()]), destroy() { abort.abort(); }};
}
