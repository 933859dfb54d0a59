/* AtroZ beacon: counts frames per second and long frames, and takes each page view's Core Web
 * Vitals from web-vitals (served before this, as webVitals), and posts them to AtroZ.
 * Include: <script src="https://atroz.example/beacon.js" data-service="shop" defer></script>
 * Options: data-endpoint, data-sample-rate (0..1), data-interval (s), data-consent="required". */
(() => {
  const w = window, d = document, n = navigator;
  const safe = f => (...a) => { try { return f(...a) } catch (e) {} };
  w.atroz = {consent() {}, flush() {}};
  const keys = {LCP: 'lcp_ms', INP: 'inp_ms', CLS: 'cls', TTFB: 'ttfb_ms'};
  // seen: the page has been visible, so it may send; vit: the vitals that
  // became final since the last beacon; cur: CLS and INP as they grow, by
  // web-vitals id (one per page view), final at the first hide; done: the
  // ids taken, as web-vitals reports CLS and INP again at every hide.
  let ok, ep, svc, seen, fps = [], ms = [], vit = {}, cur = {}, done = {}, long = 0, t0 = 0, last = 0, frames = 0, id = 0;
  const send = j => {
    try { if (n.sendBeacon(ep, new Blob([j], {type: 'text/plain'}))) return } catch (e) {}
    fetch(ep, {method: 'POST', body: j, keepalive: true, headers: {'Content-Type': 'text/plain'},
      credentials: 'omit', mode: 'no-cors'}).catch(() => {});
  };
  const flush = safe(() => {
    const v = Object.keys(vit).length;
    if (!ok || !seen || !(fps.length || v)) return;
    const j = JSON.stringify({service: svc, page: location.pathname, fps, long_frames: long,
      duration_ms: Math.round(ms.reduce((a, b) => a + b, 0)), ...(v && {vitals: vit}), ts: Date.now()});
    fps = []; ms = []; vit = {}; long = 0;
    send(j);
  });
  // One second is counted from rAF timestamps; t0 = 0 starts a new second, so
  // time spent hidden or before consent is never measured.
  const frame = t => {
    id = requestAnimationFrame(frame);
    if (!t0) return void (t0 = last = t, frames = 0);
    if (t - last >= 50) long++;
    last = t; frames++;
    const e = t - t0;
    if (e < 1000) return;
    fps.push(Math.round(frames * 1e4 / e) / 10); ms.push(e);
    if (fps.length > 600) fps.shift(), ms.shift();
    t0 = t; frames = 0;
  };
  const start = safe(() => {
    cancelAnimationFrame(id); t0 = 0;
    if (d.visibilityState == 'visible') seen = true;
    if (ok && d.visibilityState != 'hidden') id = requestAnimationFrame(frame);
  });
  // A vital is kept, in ms (CLS unitless), while consent is given: LCP and
  // TTFB once final, CLS and INP at every change until the page hides.
  const vital = safe(m => {
    if (!ok || done[m.id]) return;
    const v = m.name == 'CLS' ? Math.round(m.value * 1e4) / 1e4 : Math.round(m.value);
    if (m.name == 'CLS' || m.name == 'INP') return void (cur[m.id] = [keys[m.name], v]);
    done[m.id] = 1; vit[keys[m.name]] = v;
  });
  // At a hide, the page view's CLS and INP are final: web-vitals listens on
  // window in the capture phase, so it has reported them before this runs.
  const hide = safe(() => {
    for (const i in cur) done[i] = 1, vit[cur[i][0]] = cur[i][1];
    cur = {}; flush();
  });
  try {
    const s = d.currentScript, g = k => s.getAttribute('data-' + k);
    const rate = parseFloat(g('sample-rate')), iv = parseFloat(g('interval'));
    svc = g('service');
    if (!svc || n.globalPrivacyControl === true || !(Math.random() < (rate >= 0 ? rate : 1))) return;
    ep = g('endpoint') || new URL('/api/v1/beacons', s.src).href;
    ok = g('consent') != 'required';
    w.atroz = {flush, consent: safe(b => {
      ok = b === true;
      if (!ok) fps = [], ms = [], vit = {}, cur = {}, long = 0;
      start();
    })};
    safe(() => { for (const k in keys) webVitals['on' + k](vital, {reportAllChanges: k == 'CLS' || k == 'INP'}) })();
    d.addEventListener('visibilitychange', safe(() => { if (d.visibilityState == 'hidden') hide(); start() }));
    w.addEventListener('pagehide', hide);
    setInterval(flush, (iv > 0 ? iv : 10) * 1e3);
    start();
  } catch (e) {}
})();
