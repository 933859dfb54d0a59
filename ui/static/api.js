// Calls to the AtroZ API. Every answer is {"status","data"} or, with a 4xx or
// 5xx status, {"status":"error","errorType","error"}; api returns the data or
// throws an ApiError carrying the server's message. This module also keeps
// the session: it renews a login before it expires, or sends a wall
// screen's read-only API token with every call.

// ApiError is thrown for an error answer or a failed request; status is 0
// when the server could not be reached.
export class ApiError extends Error {
  constructor(message, status, type = '', retryAfter = 0) {
    super(message);
    Object.assign(this, {status, type, retryAfter});
  }
}

let unauthorized = () => {};

// onUnauthorized sets what happens when a call or a renewal answers 401
// (other than a login attempt): the session is gone and the login page
// should show.
export const onUnauthorized = f => {
  unauthorized = () => {
    stopSession();
    f();
  };
};

// RETRIES is how many times a call answered 429 is sent again, each after
// the Retry-After the server asked (at most MAX_WAIT seconds) and up to a
// second more at random, so that calls refused together do not all come
// back in the same instant. The server refuses before doing anything, so
// any call may be sent again.
export const RETRIES = 4;
const MAX_WAIT = 60;

let limited = () => {};
const waiting = new Set(); // the times (ms) at which waiting calls retry
let ticker = 0;

// onRateLimited sets what shows that calls wait out a rate limit: f gets
// the whole seconds until the last of them retries, each second while any
// waits, then 0.
export const onRateLimited = f => { limited = f; };

function tick() {
  const until = Math.max(0, ...waiting);
  limited(until ? Math.max(1, Math.ceil((until - Date.now()) / 1000)) : 0);
  if (!until) {
    clearInterval(ticker);
    ticker = 0;
  } else if (!ticker) {
    ticker = setInterval(tick, 1000);
  }
}

// backoff waits before a call's next try, rejecting with the AbortError if
// signal aborts meanwhile.
function backoff(retryAfter, signal) {
  const ms = Math.min(Math.max(retryAfter, 1), MAX_WAIT) * 1000 + 250 + Math.random() * 1000;
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const done = () => {
      waiting.delete(until);
      signal?.removeEventListener('abort', abort);
      tick();
    };
    const abort = () => {
      clearTimeout(timer);
      done();
      reject(new DOMException('the call was aborted', 'AbortError'));
    };
    const timer = setTimeout(() => { done(); resolve(); }, ms);
    signal?.addEventListener('abort', abort, {once: true});
    waiting.add(until);
    tick();
  });
}

// api fetches path with the session cookie. json is sent as a JSON body,
// form as a URL-encoded one. An aborted call rejects with the AbortError.
// It returns the answer's data, or with whole the answer itself (data and
// warnings). A call answered 429 waits and is sent again, RETRIES times at
// most; a login is not, so that its limit shows at once.
export async function api(path, options = {}) {
  for (let tries = 1; ; tries++) {
    try {
      return await send(path, options);
    } catch (e) {
      if (e.status !== 429 || path === LOGIN || tries > RETRIES) throw e;
      await backoff(e.retryAfter, options.signal);
    }
  }
}

// send makes one call of api; meta, when given, gets the answer's Date
// header as meta.date.
async function send(path, {method = 'GET', json, form, signal, whole = false, meta}) {
  const init = {method, signal, credentials: 'same-origin', headers: {Accept: 'application/json'}};
  const token = apiToken.get();
  if (token && path !== LOGIN) init.headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['Content-Type'] = 'application/json';
  } else if (form) {
    init.body = new URLSearchParams(form);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(`cannot reach the server: ${e.message}`, 0);
  }
  if (meta) meta.date = res.headers.get('Date');
  const body = await res.json().catch(() => null);
  if (res.ok && body?.status !== 'error') return whole ? body : body?.data;
  if (res.status === 401 && path !== LOGIN) unauthorized();
  throw new ApiError(body?.error || `${res.status} ${res.statusText}`.trim(), res.status,
    body?.errorType, Number(res.headers.get('Retry-After')) || 0);
}

export const LOGIN = '/api/v1/auth/login';

// REFRESH renews a login's token: the server answers a new one (in the
// HttpOnly cookie) and its expires, or 401 once the login is older than its
// refresh cap (24 h by default) or its session has ended.
export const REFRESH = '/api/v1/auth/refresh';

// A login's token lives 30 minutes by default. While a page is open it is
// renewed a quarter of its lifetime before it expires (five minutes at
// most, which a hidden tab's throttled timers still meet; five seconds at
// least, and never before half its lifetime), so that an open wall screen stays signed in until
// the refresh cap; then the server's 401 sends the page to the login.
// What a renewal learnt is kept in localStorage under SESSION: when the
// token expires, on this browser's clock, and its lifetime. It holds times
// only, never the token, which stays in the HttpOnly cookie. Kept there, a
// reload need not renew at once, and tabs share one schedule: a tab whose
// timer fires after another tab renewed waits for the new expiry instead.
const SESSION = 'atroz.session';
const RENEW_LEAD_MAX = 300000, RENEW_LEAD_MIN = 5000;
let renewTimer = 0;

const readSession = () => {
  try { return JSON.parse(localStorage.getItem(SESSION)); } catch { return null; }
};
const writeSession = v => {
  try {
    if (v) localStorage.setItem(SESSION, JSON.stringify(v));
    else localStorage.removeItem(SESSION);
  } catch { /* without storage each page schedules on its own */ }
};

// renewAt is when a token expiring at expiresAt (ms) after lifetime ms is renewed.
const renewAt = ({expiresAt, lifetime}) =>
  expiresAt - Math.min(RENEW_LEAD_MAX, Math.max(RENEW_LEAD_MIN, lifetime / 4), lifetime / 2);

// keepSession records a token's expiry as the server answered it: expires
// (an ISO time) and the answer's Date header, which put it on this
// browser's clock whatever that clock's skew; then schedules its renewal.
export function keepSession(expires, date) {
  const now = Date.now(), left = Date.parse(expires) - (Date.parse(date) || now);
  if (!(left > 0)) return;
  writeSession({expiresAt: now + left, lifetime: left});
  scheduleRenewal();
}

// resumeSession schedules the renewal of a session found on loading the
// page: from the stored expiry, or at once when none is known.
export function resumeSession() {
  if (apiToken.get()) return;
  const s = readSession();
  if (!s || !(s.expiresAt > Date.now())) {
    renew();
    return;
  }
  scheduleRenewal();
}

// stopSession forgets the session's schedule: after a logout or a 401.
export function stopSession() {
  clearTimeout(renewTimer);
  renewTimer = 0;
  writeSession(null);
}

function scheduleRenewal() {
  clearTimeout(renewTimer);
  const s = readSession();
  if (!s) return;
  renewTimer = setTimeout(dueRenewal, Math.max(0, renewAt(s) - Date.now()));
}

// dueRenewal renews, unless another tab already did.
function dueRenewal() {
  const s = readSession();
  if (s && renewAt(s) - Date.now() > 1000) scheduleRenewal();
  else renew();
}

// renew asks for a new token. A 401 ends the session; a failure to reach
// the server, a 429 or a 5xx is tried again while the token still lives.
async function renew() {
  const meta = {};
  try {
    const t = await send(REFRESH, {method: 'POST', meta});
    keepSession(t.expires, meta.date);
    window.dispatchEvent(new Event(RENEWED));
  } catch (e) {
    if (e.status === 401) return; // send has called unauthorized
    const s = readSession(), left = (s?.expiresAt ?? 0) - Date.now();
    if (left <= 0) return;
    clearTimeout(renewTimer);
    renewTimer = setTimeout(renew, Math.min(left / 2, Math.max(e.retryAfter * 1000, 5000)));
  }
}

const RENEWED = 'atroz:session-renewed';

// onSessionRenewed calls f whenever this page, or another tab of the
// browser (they share the cookie), renewed the login, so that a WebSocket
// opened on the old token can be replaced before the server closes it at
// that token's expiry. It returns the function that stops the calls.
export function onSessionRenewed(f) {
  const elsewhere = e => { if (e.key === SESSION && e.newValue) f(); };
  window.addEventListener(RENEWED, f);
  window.addEventListener('storage', elsewhere);
  return () => {
    window.removeEventListener(RENEWED, f);
    window.removeEventListener('storage', elsewhere);
  };
}

// apiToken is a wall screen's read-only API token, used instead of a login.
// It lives in sessionStorage: a bearer secret that script can read is kept
// no longer than the tab that was given it (not in localStorage, where it
// would outlive the browser on disk and reach every tab), and the login
// page takes only a token with the read scope alone, so what such a page
// holds can read and nothing else. A screen that restarts asks for it again.
const TOKEN = 'atroz.apiToken';
export const apiToken = {
  get() { try { return sessionStorage.getItem(TOKEN) || ''; } catch { return ''; } },
  set(v) {
    try {
      if (v) sessionStorage.setItem(TOKEN, v);
      else sessionStorage.removeItem(TOKEN);
    } catch { /* without storage a token cannot be kept */ }
  },
};

// stepFor is the query_range step (seconds) giving about 300 points.
export const stepFor = (start, end) => Math.max(1, Math.round((end - start) / 300));

// widenRates makes each rate()'s window at least one step, so a long range
// averages over all of its time instead of sampling a few minutes per point,
// and the server can read it from the rollup tiers when asked. rate is per
// second whatever its window, so the chart's meaning does not change.
export const widenRates = (query, step) =>
  query.replace(/\brate\(([^[()]*)\[(\d+)m\]\)/g, (all, sel, min) => (step > min * 60 ? `rate(${sel}[${step}s])` : all));

// ROLLUPS_FROM is the shortest range (seconds) whose charts let the server
// read rollups (max_source_resolution=auto): shorter ones are always exact.
export const ROLLUPS_FROM = 86400;

// queryRange evaluates query from start to end (unix seconds) and returns
// its series as [{metric, values: [[t, "v"], ...]}]. A range of a day or
// more asks for rollups where the step allows them, with its start on the
// step's grid, where rollup windows are exact (a shorter one ends its grid
// at its end, so the newest samples show); the list's resolution then
// names the tier that served it ("1-hour resolution"), or is empty.
export async function queryRange(query, start, end, signal) {
  const step = stepFor(start, end);
  const rollups = end - start >= ROLLUPS_FROM;
  // The end is not rounded up: a point after now would hide live points.
  end = Math.round(end * 1000) / 1000;
  // A shorter range counts its steps back from the end, so its last point
  // is the end itself and the newest samples show; a grid from the start
  // could end up to a step earlier, before them.
  start = rollups ? Math.floor(start / step) * step : Math.round((end - Math.ceil((end - start) / step) * step) * 1000) / 1000;
  const form = {query, start, end, step};
  if (rollups) form.max_source_resolution = 'auto';
  const body = await api('/api/v1/query_range', {method: 'POST', form, signal, whole: true});
  const series = seriesOf(body?.data);
  series.resolution = resolutionOf(body?.warnings);
  series.notes = notesOf(body);
  return series;
}

// notesOf lists an answer's warnings and infos other than the rollup note
// resolutionOf reads, as [{level: 'warning' | 'info', text}]: the engine's
// (rate() of a name that is not a counter's), a backend's own, and that a
// query backend evaluated the query.
export function notesOf(body) {
  const warnings = (body?.warnings ?? []).filter(w => !resolutionOf([w]));
  return [...warnings.map(text => ({level: 'warning', text})), ...(body?.infos ?? []).map(text => ({level: 'info', text}))];
}

// resolutionOf reads from an answer's warnings which rollup tier served it.
export function resolutionOf(warnings) {
  for (const w of warnings ?? []) {
    const m = /(1-minute|1-hour) rollup/.exec(w);
    if (m) return `${m[1]} resolution`;
  }
  return '';
}

// seriesOf turns a matrix, vector or scalar result into a list of series.
export function seriesOf(data) {
  switch (data?.resultType) {
    case 'matrix': return data.result ?? [];
    case 'vector': return (data.result ?? []).map(r => ({metric: r.metric, values: [r.value]}));
    case 'scalar': return [{metric: {}, values: [data.result]}];
    default: return [];
  }
}
