// Live keeps a WebSocket to /ws subscribed to topics, and reconnects with
// backoff when it closes. A page signed in with an API token polls instead:
// a browser cannot give a WebSocket an Authorization header, and putting the
// token in the URL would write it into access logs.
import {api, apiToken, onSessionRenewed} from './api.js';

const MIN_DELAY = 1000, MAX_DELAY = 30000;

// POLL is how often (ms) a page using an API token asks again for what a
// WebSocket would have pushed, through onResume.
export const POLL = 15000;

// Live calls onMessage(topic, data) for each push, onStatus("live",
// "reconnecting" or, with an API token, "polling") when the connection
// changes, and onResume() once a reconnected socket is subscribed again, so
// the caller can back-fill the gap; with an API token, onResume every POLL
// ms instead. When the login is renewed, the socket is replaced by one on
// the new token before the server would close it at the old one's expiry.
export class Live {
  #ws = null;
  #retiring = null; // the socket a renewal replaced, closed once its successor is subscribed
  #unrenewed = () => {};
  #timer = 0;
  #delay = MIN_DELAY;
  #lost = false;
  #closed = false;

  constructor(topics, {onMessage, onStatus = () => {}, onResume = () => {}}) {
    Object.assign(this, {topics, onMessage, onStatus, onResume});
    if (apiToken.get()) {
      this.#timer = setInterval(() => this.onResume(), POLL);
      this.onStatus('polling');
    } else {
      this.#connect();
      this.#unrenewed = onSessionRenewed(() => this.#swap());
    }
  }

  close() {
    this.#closed = true;
    this.#unrenewed();
    this.#retiring?.close();
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    // Closing a socket that is still connecting makes the browser log an
    // error; let it open first.
    if (this.#ws?.readyState === WebSocket.CONNECTING) this.#ws.addEventListener('open', e => e.target.close());
    else this.#ws?.close();
  }

  #connect() {
    const ws = this.#ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      ws.send(JSON.stringify({subscribe: this.topics}));
    });
    ws.addEventListener('message', e => {
      if (ws !== this.#ws) return; // a replaced socket's last pushes
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      if (m.subscribed) return this.#subscribed();
      if (m.topic) this.onMessage(m.topic, m.data);
    });
    ws.addEventListener('close', e => {
      if (this.#closed || ws !== this.#ws) return;
      // A refused upgrade or 1008 (policy: session expired) may mean the
      // session is gone; asking the server sends the page to the login if so.
      if (!opened || e.code === 1008) api('/api/v1/auth/me').catch(() => {});
      this.#lost = true;
      this.onStatus('reconnecting');
      this.#timer = setTimeout(() => this.#connect(), this.#delay * (0.5 + Math.random() / 2));
      this.#delay = Math.min(this.#delay * 2, MAX_DELAY);
    });
  }

  // #swap opens a socket on the renewed login beside the open one, which
  // keeps the old token and would be closed at its expiry; the old socket
  // closes once the new one is subscribed, and onResume back-fills the
  // moment between, so a renewal never shows "Reconnecting".
  #swap() {
    const old = this.#ws;
    if (this.#closed || this.#retiring || old?.readyState !== WebSocket.OPEN) return;
    this.#retiring = old;
    this.#lost = true;
    this.#connect();
  }

  #subscribed() {
    this.#retiring?.close();
    this.#retiring = null;
    this.#delay = MIN_DELAY;
    this.onStatus('live');
    if (this.#lost) {
      this.#lost = false;
      this.onResume();
    }
  }
}
