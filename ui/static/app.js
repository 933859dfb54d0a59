// The dashboard's entry: the session, the header and the hash router.
// Routes are #/overview, #/alerts, #/slos, #/explore?q=...&range=..., #/admin
// (admins only) and #/login.
//
// window.__atroz.ready resolves when the current view has rendered for the
// first time (a new promise at each navigation; one that is overtaken
// follows the next). window.__atroz.timings.overviewDrawn is performance.now()
// when every overview panel was first drawn (or shown empty or failed).
import {api, apiToken, onRateLimited, onUnauthorized, resumeSession, stopSession} from './api.js';
import {h, message} from './dom.js';
import * as overview from './overview.js';
import * as alerts from './alerts.js';
import * as slos from './slos.js';
import * as explore from './explore.js';
import * as admin from './admin.js';
import * as login from './login.js';

const views = {overview, alerts, slos, explore, admin, login};
const titles = {overview: 'Overview', alerts: 'Alerts', slos: 'SLOs', explore: 'Explore', admin: 'Admin', login: 'Sign in'};
const main = document.getElementById('main');
const header = document.getElementById('top');
const atroz = window.__atroz = {ready: null, timings: {}, view: ''};

let session = null, current = null, seq = 0, settle = null;

// hint remembers whether this browser signed in, so that a first visit goes
// straight to the login page instead of asking the server and getting a
// 401. The session itself is the HttpOnly cookie; without storage the
// server is asked every time.
const HINT = 'atroz.signedIn';
const hint = {
  get() { try { return localStorage.getItem(HINT) !== null; } catch { return true; } },
  set(on) { try { if (on) localStorage.setItem(HINT, '1'); else localStorage.removeItem(HINT); } catch { /* see above */ } },
};

function parse() {
  const hash = location.hash.slice(1), i = hash.indexOf('?');
  const path = i < 0 ? hash : hash.slice(0, i);
  return {name: path.replace(/^\//, '') || 'overview', params: new URLSearchParams(i < 0 ? '' : hash.slice(i + 1))};
}

const hashOf = (name, params = {}) => {
  const qs = new URLSearchParams(params).toString();
  return `#/${name}${qs ? `?${qs}` : ''}`;
};

// go shows view name with params, adding a history entry unless replace.
function go(name, params, replace = false) {
  history[replace ? 'replaceState' : 'pushState'](null, '', hashOf(name, params));
  route();
}

// ctx is what views may do to the page.
const ctx = {
  get session() { return session; },
  go,
  reload: route,
  // replace and push change the URL without rendering again.
  replace: (name, params) => history.replaceState(null, '', hashOf(name, params)),
  push(name, params) {
    const hash = hashOf(name, params);
    if (hash !== location.hash) history.pushState(null, '', hash);
  },
  timing(name, ms) { atroz.timings[name] ??= ms; },
  async loggedIn(next) {
    session = await api('/api/v1/auth/me').catch(() => null);
    hint.set(session !== null);
    if (/^#\/(overview|alerts|slos|explore|admin)\b/.test(next ?? '')) {
      history.replaceState(null, '', next);
      route();
    } else {
      go('overview', {}, true);
    }
  },
};

// A 401 while signed in (or signed in when last seen) means the session
// expired or ended: the login says so and returns to the same view.
onUnauthorized(() => {
  const expired = session !== null || hint.get();
  session = null;
  hint.set(false);
  if (parse().name !== 'login') go('login', {next: location.hash, ...(expired && {expired: 1})}, true);
});

// notice is the one line that says calls are waiting out a rate limit.
const notice = h('p', {class: 'rate-notice', role: 'status', hidden: true});
document.body.append(notice);
onRateLimited(s => {
  notice.hidden = !s;
  notice.textContent = s ? `Rate limited, retrying in ${s} s` : '';
});

function renderHeader(name) {
  header.hidden = !session || name === 'login';
  if (header.hidden) return header.replaceChildren();
  const link = (view, text) => h('a', {href: `#/${view}`, 'aria-current': view === name ? 'page' : null}, text);
  const logout = h('button', {type: 'button', class: 'btn'}, 'Log out');
  logout.addEventListener('click', async () => {
    if (apiToken.get()) apiToken.set('');
    else await api('/api/v1/auth/logout', {method: 'POST'}).catch(() => {});
    stopSession();
    session = null;
    hint.set(false);
    go('login');
  });
  header.replaceChildren(
    h('span', {class: 'brand'}, 'AtroZ'),
    h('nav', {'aria-label': 'Views'}, link('overview', 'Overview'), link('alerts', 'Alerts'), link('slos', 'SLOs'), link('explore', 'Explore'),
      session.role === 'admin' && link('admin', 'Admin')),
    h('div', {class: 'user'}, session.token
      ? h('span', {}, `token ${session.token}`, ' ', h('span', {class: 'role'}, 'read-only'))
      : h('span', {}, session.user, ' ', h('span', {class: 'role'}, session.role)), logout));
}

async function route() {
  const n = ++seq, first = n === 1;
  let done;
  const ready = new Promise(r => { done = r; });
  settle?.(ready);
  settle = done;
  atroz.ready = ready;
  let {name, params} = parse();
  if (!views[name]) {
    history.replaceState(null, '', '#/overview');
    ({name, params} = parse());
  }
  if (name !== 'login' && !session) {
    if (!hint.get()) return go('login', location.hash.length > 2 ? {next: location.hash} : {}, true);
    try {
      session = await api('/api/v1/auth/me');
      resumeSession();
    } catch (e) {
      // A 401 has already sent the page to the login.
      if (n === seq && e.status !== 401) mount(n, null, e);
      return;
    }
  }
  if (n !== seq) return;
  if (name === 'login' && session) return go('overview', {}, true);
  await mount(n, name, null, params, first);
}

async function mount(n, name, error, params, first) {
  current?.destroy();
  current = null;
  renderHeader(name);
  main.replaceChildren();
  document.title = `${titles[name] ?? 'Error'} · AtroZ`;
  atroz.view = name ?? 'error';
  if (error) {
    main.append(h('h1', {}, 'AtroZ is not reachable'), message(error.message, 'error'),
      h('button', {type: 'button', class: 'btn', onclick: route}, 'Try again'));
  } else {
    try {
      current = views[name].render(main, params, ctx);
      // Move focus to the new view's heading unless the view took it.
      if (!first && !main.contains(document.activeElement)) main.querySelector('h1')?.focus();
      await current.ready;
    } catch (e) {
      main.append(message(`This view failed: ${e.message}`, 'error'));
    }
  }
  if (n === seq) settle?.();
}

addEventListener('hashchange', route);
route();
