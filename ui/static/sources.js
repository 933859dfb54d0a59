// The admin page's Data sources section: every source whose freshness
// AtroZ keeps (host, import, remote_write, requests:<service>,
// beacons:<service>), whether StaleData watches it, and a Retire button
// that forgets one that will not report again, so its StaleData resolves
// at once instead of after a day of silence.
import {api} from './api.js';
import {h, table, message, fmtTime, fmtAgo} from './dom.js';

const path = name => `/api/v1/admin/sources/${encodeURIComponent(name)}`;
const ago = t => h('time', {datetime: t, title: fmtTime(t)}, fmtAgo(t));

// sourcesSection returns the section and its first load; root is where
// the confirmation opens.
export function sourcesSection(root, signal) {
  const listBox = h('div'), status = h('div', {'aria-live': 'polite'});
  const section = h('section', {'aria-labelledby': 'h-sources', id: 'sources'},
    h('h2', {id: 'h-sources', tabindex: -1}, 'Data sources'),
    message('StaleData watches a source once it has reported in 5 distinct minutes of the last hour, spread over at least 10: a single event, a short load or a dashboard left open never fires. A watched source is forgotten after a day of silence; retire one that will not report again and its alert resolves at the next evaluation. The dashboard\'s own beacon is never watched.'),
    status, listBox);

  async function load() {
    try {
      const sources = await api('/api/v1/sources', {signal}) ?? [];
      listBox.replaceChildren(sources.length
        ? table('Data sources by name', ['Source', 'Watched', 'Newest data', 'Last report', 'Action'], sources, s => [
          s.source, s.watched ? 'yes' : 'not yet steady', ago(s.newest), ago(s.lastReport),
          h('button', {type: 'button', class: 'btn', 'aria-label': `Retire ${s.source}`, onclick: () => confirmRetire(s.source)}, 'Retire'),
        ])
        : message('No data sources yet.'));
    } catch (e) {
      if (e.name !== 'AbortError') listBox.replaceChildren(message(e.message, 'error'));
    }
  }

  function confirmRetire(name) {
    const dialog = h('dialog', {'aria-labelledby': 'retire-title'});
    const error = h('p', {class: 'error', role: 'alert'});
    const form = h('form', {},
      h('h2', {id: 'retire-title'}, `Retire ${name}?`),
      h('p', {}, 'Its freshness series ends and its StaleData alert resolves. Its data stays. Should it report again, it is watched again once steady.'), error,
      h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'btn', onclick: () => dialog.close()}, 'Cancel'),
        h('button', {type: 'submit', class: 'btn primary'}, 'Retire')));
    form.addEventListener('submit', async e => {
      e.preventDefault();
      try {
        await api(path(name), {method: 'DELETE'});
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      dialog.close();
      status.replaceChildren(message(`Source ${name} retired.`));
      await load();
      section.querySelector('#h-sources')?.focus();
    });
    dialog.addEventListener('close', () => dialog.remove());
    dialog.append(form);
    root.append(dialog);
    dialog.showModal();
  }

  return {section, ready: load()};
}
