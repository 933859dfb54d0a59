// Calls to the AtroZ API. Every answer is {"status","data"} or, with a 4xx or
// 5xx status, {"status":"error","errorType","error"}; api returns the data or
// throws an ApiError carrying the server's message.

// ApiError is thrown for an error answer or a failed request; status is 0
// when the server could not be reached.
export class ApiError extends Error {
  constructor(message, status, type = '', retryAfter = 0) {
    super(message);
    Object.assign(this, {status, type, retryAfter});
  }
}

let unauthorized = () => {};

// onUnauthorized sets what happens when a call answers 401 (other than a
// login attempt): the session is gone and the login page should show.
export const onUnauthorized = f => { unauthorized = f; };

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

// send makes one call of api.
async function send(path, {method = 'GET', json, form, signal, whole = false}) {
  const init = {method, signal, credentials: 'same-origin', headers: {Accept: 'application/json'}};
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
  const body = await res.json().catch(() => null);
  if (res.ok && body?.status !== 'error') return whole ? body : body?.data;
  if (res.status === 401 && path !== LOGIN) unauthorized();
  throw new ApiError(body?.error || `${res.status} ${res.statusText}`.trim(), res.status,
    body?.errorType, Number(res.headers.get('Retry-After')) || 0);
}

export const LOGIN = '/api/v1/auth/login';

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
  return series;
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
