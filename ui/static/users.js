// The admin page's Users section: dashboard users and their roles, managed
// while the server runs. It lists them, adds one, resets a password, changes
// a role and removes one after a confirmation. Each change ends the user's
// sessions; the server refuses to remove or demote the last admin or the
// admin's own user, and says why.
import {api} from './api.js';
import {h, table, message, fmtTime} from './dom.js';

const ROLES = [['viewer', 'viewer (reads dashboards, queries, alerts)'], ['admin', 'admin (also users, tokens, silences)']];
const MIN_PASSWORD = 12;
const path = name => `/api/v1/admin/users/${encodeURIComponent(name)}`;

function field(id, text, control) {
  control.id = id;
  return h('div', {class: 'field'}, h('label', {for: id}, text), control);
}

const passwordInput = () => h('input', {type: 'password', required: true, minlength: MIN_PASSWORD, maxlength: 72, autocomplete: 'new-password'});
const roleSelect = (value = 'viewer') => h('select', {}, ROLES.map(([v, text]) => h('option', {value: v, selected: v === value}, text)));

// usersSection returns the section and its first load; self is the
// signed-in admin's name, root where dialogs open.
export function usersSection(root, self, signal) {
  const listBox = h('div'), status = h('div', {'aria-live': 'polite'});
  const section = h('section', {'aria-labelledby': 'h-users', id: 'users'},
    h('h2', {id: 'h-users', tabindex: -1}, 'Users'),
    message(`Who may sign in to the dashboard. Passwords have ${MIN_PASSWORD} to 72 bytes. A new password, a new role or a removal ends that user's sessions at once.`),
    status, addForm(), listBox);

  async function load() {
    try {
      const users = await api('/api/v1/admin/users', {signal}) ?? [];
      listBox.replaceChildren(table('Users by name', ['Name', 'Role', 'Created', 'Actions'], users, u => [
        u.name, u.role, fmtTime(u.created),
        h('div', {class: 'actions'},
          h('button', {type: 'button', class: 'btn', 'aria-label': `Reset password of ${u.name}`, onclick: () => resetPassword(u.name)}, 'Reset password'),
          h('button', {type: 'button', class: 'btn', 'aria-label': `Change role of ${u.name}`, onclick: () => changeRole(u)}, 'Change role'),
          u.name !== self && h('button', {type: 'button', class: 'btn', 'aria-label': `Remove ${u.name}`, onclick: () => confirmRemove(u.name)}, 'Remove')),
      ]));
    } catch (e) {
      if (e.name !== 'AbortError') listBox.replaceChildren(message(e.message, 'error'));
    }
  }

  const done = async text => {
    status.replaceChildren(message(text));
    await load();
    section.querySelector('#h-users')?.focus();
  };

  function addForm() {
    const name = h('input', {type: 'text', required: true, maxlength: 64, autocomplete: 'off', spellcheck: 'false',
      pattern: '[A-Za-z0-9][A-Za-z0-9_.@\\-]{0,63}', title: 'letters, digits, _ . @ - starting with a letter or digit'});
    const role = roleSelect(), password = passwordInput();
    const error = h('p', {class: 'error', role: 'alert'});
    const form = h('form', {class: 'user-form', novalidate: true},
      h('h3', {}, 'New user'),
      field('user-name', 'Name', name), field('user-role', 'Role', role), field('user-password', 'Password', password), error,
      h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'btn primary'}, 'Add user')));
    form.addEventListener('submit', async e => {
      e.preventDefault();
      try {
        await api('/api/v1/admin/users', {method: 'POST', json: {name: name.value, role: role.value, password: password.value}});
      } catch (err) {
        error.textContent = err.message; // the server's words: which field, and why
        return;
      }
      const added = name.value;
      error.textContent = '';
      form.reset();
      await done(`User ${added} added.`);
    });
    return form;
  }

  // dialog opens a modal form titled title; submit(error) returns the
  // status line, or throws to show the server's error in the dialog.
  function dialog(id, title, body, button, submit) {
    const d = h('dialog', {'aria-labelledby': id});
    const error = h('p', {class: 'error', role: 'alert'});
    const form = h('form', {novalidate: true}, h('h2', {id}, title), body, error,
      h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'btn', onclick: () => d.close()}, 'Cancel'),
        h('button', {type: 'submit', class: 'btn primary'}, button)));
    form.addEventListener('submit', async e => {
      e.preventDefault();
      let text;
      try {
        text = await submit();
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      d.close();
      await done(text);
    });
    d.addEventListener('close', () => d.remove());
    d.append(form);
    root.append(d);
    d.showModal();
  }

  function resetPassword(name) {
    const password = passwordInput();
    const own = name === self ? ' This is your own user: you will sign in again.' : '';
    dialog('reset-title', `Reset the password of ${name}`,
      [h('p', {}, `${name}'s sessions end at once.${own}`), field('reset-password', 'New password', password)],
      'Set password', async () => {
        await api(`${path(name)}/password`, {method: 'PUT', json: {password: password.value}});
        return `Password of ${name} changed; its sessions ended.`;
      });
  }

  function changeRole(u) {
    const role = roleSelect(u.role === 'admin' ? 'viewer' : 'admin');
    dialog('role-title', `Change the role of ${u.name}`,
      [h('p', {}, `${u.name} is ${u.role}; its sessions end at once.`), field('role-select', 'New role', role)],
      'Change role', async () => {
        await api(`${path(u.name)}/role`, {method: 'PUT', json: {role: role.value}});
        return `${u.name} is now ${role.value}; its sessions ended.`;
      });
  }

  function confirmRemove(name) {
    dialog('remove-title', `Remove ${name}?`,
      h('p', {}, `${name} can no longer sign in, and every session of ${name} ends at once. This cannot be undone.`),
      'Remove', async () => {
        await api(path(name), {method: 'DELETE'});
        return `User ${name} removed.`;
      });
  }

  return {section, ready: load()};
}
