// Building elements and formatting what they show.

// h creates an element: h('button', {class: 'btn', onclick: f}, 'Save').
// Attributes named on... become listeners; true sets a boolean attribute and
// null, undefined or false leave it out. Children may be nested arrays; null
// and false children are skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  el.append(...children.flat(Infinity).filter(c => c != null && c !== false).map(c => (c instanceof Node ? c : String(c))));
  return el;
}

// table builds a table with a caption, column heads and one row per item;
// row(item) returns the cells, each a node or text.
export function table(caption, heads, items, row) {
  return h('div', {class: 'table-wrap'}, h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, heads.map(t => h('th', {scope: 'col'}, t)))),
    h('tbody', {}, items.map(it => h('tr', {}, row(it).map(c => h('td', {}, c)))))));
}

// message returns a paragraph for a status line: kind "error" is announced.
export const message = (text, kind = 'note') =>
  h('p', {class: kind, role: kind === 'error' ? 'alert' : null}, text);

const num = new Intl.NumberFormat(undefined, {maximumSignificantDigits: 3});

// fmtNum shows a number with three significant digits, or a dash.
export const fmtNum = v => (v == null || !Number.isFinite(v) ? '–' : num.format(v));

// fmtTime shows a time (ms, or a string Date can parse) in the local zone.
export const fmtTime = t => new Date(t).toLocaleString();

// fmtAgo shows how long ago t was: "45 s ago", "3 min ago", "2 h ago", "5 d ago".
export function fmtAgo(t) {
  const s = Math.max(0, (Date.now() - new Date(t)) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

// labelText shows labels as PromQL does: name{a="b", c="d"}.
export function labelText(metric = {}) {
  const {__name__: name = '', ...rest} = metric;
  const pairs = Object.keys(rest).sort().map(k => `${k}=${JSON.stringify(rest[k])}`);
  return pairs.length ? `${name}{${pairs.join(', ')}}` : name || '{}';
}
