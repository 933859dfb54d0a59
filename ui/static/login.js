// The login page. After signing in the user goes on to the view they asked
// for, passed as next; expired says the page came here because its session
// expired. A wall screen may use a read-only API token instead of a login.
import {api, apiToken, keepSession, LOGIN} from './api.js';
import {h} from './dom.js';

// tokenForm takes a read-only API token for a wall screen: it is checked
// with /api/v1/auth/me and kept only if its one scope is read.
function tokenForm(done) {
  const token = h('input', {id: 'api-token', name: 'token', type: 'password', autocomplete: 'off', required: true});
  const error = h('p', {class: 'error', role: 'alert', id: 'token-error'});
  const form = h('form', {class: 'api-token-form'},
    h('div', {class: 'field'}, h('label', {for: 'api-token'}, 'Read-only API token'), token), error,
    h('button', {type: 'submit', class: 'btn'}, 'Use token'));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    error.textContent = '';
    apiToken.set(token.value.trim());
    const me = await api('/api/v1/auth/me').catch(err => ({error: err}));
    const scopes = me.scopes ?? [];
    if (me.error || scopes.length !== 1 || scopes[0] !== 'read') {
      apiToken.set('');
      error.textContent = me.error
        ? (me.error.status === 401 ? 'This token is not valid.' : me.error.message)
        : 'Use a token whose only scope is read: a token kept in the browser should not change anything.';
      return;
    }
    done();
  });
  return h('details', {class: 'token-mode'},
    h('summary', {}, 'Use an API token (wall screens)'),
    h('p', {class: 'note'}, 'The token is kept in this tab only, until it closes. The page polls for new data instead of a live connection.'),
    form);
}

export function render(root, params, ctx) {
  let countdown = 0;
  const user = h('input', {id: 'user', name: 'username', autocomplete: 'username', required: true, autofocus: true});
  const pass = h('input', {id: 'pass', name: 'password', type: 'password', autocomplete: 'current-password', required: true});
  const error = h('p', {class: 'error', role: 'alert', id: 'login-error'});
  const submit = h('button', {type: 'submit', class: 'btn primary'}, 'Sign in');
  const form = h('form', {class: 'login', 'aria-labelledby': 'login-title'},
    h('h1', {id: 'login-title', tabindex: -1}, 'Sign in to AtroZ'),
    h('div', {class: 'field'}, h('label', {for: 'user'}, 'Username'), user),
    h('div', {class: 'field'}, h('label', {for: 'pass'}, 'Password'), pass),
    params.get('expired') && h('p', {class: 'session-note', role: 'status', id: 'session-note'},
      'Your session expired, sign in again. You will return to the same view.'),
    error, submit);

  // wait shows the rate limit's remaining seconds and re-enables the form after them.
  function wait(seconds) {
    clearInterval(countdown);
    submit.disabled = true;
    const tick = () => {
      if (seconds <= 0) {
        clearInterval(countdown);
        submit.disabled = false;
        error.textContent = '';
        return;
      }
      error.textContent = `too many attempts, try again in ${seconds--} s`;
    };
    tick();
    countdown = setInterval(tick, 1000);
  }

  async function signIn() {
    error.textContent = '';
    submit.disabled = true;
    try {
      const meta = {};
      const t = await api(LOGIN, {method: 'POST', json: {username: user.value, password: pass.value}, meta});
      apiToken.set('');
      keepSession(t?.expires, meta.date);
    } catch (err) {
      submit.disabled = false;
      if (err.status === 429) return wait(err.retryAfter || 60);
      error.textContent = err.status === 401 ? 'Wrong username or password.' : err.message;
      pass.select();
      return;
    }
    await ctx.loggedIn(params.get('next'));
  }

  form.addEventListener('submit', e => {
    e.preventDefault();
    signIn();
  });
  // form.submit() skips the submit event and would navigate with the
  // credentials in the URL. Detaching the form while its entry list is built
  // (the formdata event) cancels that navigation; then sign in as usual.
  form.addEventListener('formdata', () => {
    const parent = form.parentNode, next = form.nextSibling;
    form.remove();
    setTimeout(() => {
      parent.insertBefore(form, next);
      signIn();
    });
  });
  root.append(form, h('div', {class: 'login token-login'}, tokenForm(() => ctx.loggedIn(params.get('next')))));
  user.focus();
  return {ready: Promise.resolve(), destroy: () => clearInterval(countdown)};
}
