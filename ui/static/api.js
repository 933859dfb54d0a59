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

// api fetches path with the session cookie. json is sent as a JSON body,
// form as a URL-encoded one. An aborted call rejects with the AbortError.
export async function api(path, {method = 'GET', json, form, signal} = {}) {
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
  if (res.ok && body?.status !== 'error') return body?.data;
  if (res.status === 401 && path !== LOGIN) unauthorized();
  throw new ApiError(body?.error || `${res.status} ${res.statusText}`.trim(), res.status,
    body?.errorType, Number(res.headers.get('Retry-After')) || 0);
}

export const LOGIN = '/api/v1/auth/login';

// stepFor is the query_range step (seconds) giving about 300 points.
export const stepFor = (start, end) => Math.max(1, Math.round((end - start) / 300));

// widenRates makes each rate()'s window at least one step, so a long range
// averages over all of its time instead of sampling a few minutes per point,
// and the server reads it from the rollup tiers. rate is per second whatever
// its window, so the chart's meaning does not change.
export const widenRates = (query, step) =>
  query.replace(/\brate\(([^[()]*)\[(\d+)m\]\)/g, (all, sel, min) => (step > min * 60 ? `rate(${sel}[${step}s])` : all));

// queryRange evaluates query from start to end (unix seconds) and returns
// its series as [{metric, values: [[t, "v"], ...]}].
export async function queryRange(query, start, end, signal) {
  // The end is not rounded up: a point after now would hide live points.
  start = Math.floor(start);
  end = Math.round(end * 1000) / 1000;
  const form = {query, start, end, step: stepFor(start, end)};
  return seriesOf(await api('/api/v1/query_range', {method: 'POST', form, signal}));
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
