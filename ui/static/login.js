// The login page. After signing in the user goes on to the view they asked
// for, passed as next.
import {api, LOGIN} from './api.js';
import {h} from './dom.js';

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
      await api(LOGIN, {method: 'POST', json: {username: user.value, password: pass.value}});
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
  root.append(form);
  user.focus();
  return {ready: Promise.resolve(), destroy: () => clearInterval(countdown)};
}
