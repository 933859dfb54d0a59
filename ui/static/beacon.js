/* AtroZ frame-rate beacon: counts frames per second and long frames, posts them to AtroZ.
 * Include: <script src="https://atroz.example/beacon.js" data-service="shop" defer></script>
 * Options: data-endpoint, data-sample-rate (0..1), data-interval (s), data-consent="required". */
(() => {
  const w = window, d = document, n = navigator;
  const safe = f => (...a) => { try { return f(...a) } catch (e) {} };
  w.atroz = {consent() {}, flush() {}};
  let ok, ep, svc, fps = [], ms = [], long = 0, t0 = 0, last = 0, frames = 0, id = 0;
  const send = j => {
    try { if (n.sendBeacon(ep, new Blob([j], {type: 'text/plain'}))) return } catch (e) {}
    fetch(ep, {method: 'POST', body: j, keepalive: true, headers: {'Content-Type': 'text/plain'},
      credentials: 'omit', mode: 'no-cors'}).catch(() => {});
  };
  const flush = safe(() => {
    if (!ok || !fps.length) return;
    const j = JSON.stringify({service: svc, page: location.pathname, fps, long_frames: long,
      duration_ms: Math.round(ms.reduce((a, b) => a + b, 0)), ts: Date.now()});
    fps = []; ms = []; long = 0;
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
    if (ok && d.visibilityState != 'hidden') id = requestAnimationFrame(frame);
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
      if (!ok) fps = [], ms = [], long = 0;
      start();
    })};
    d.addEventListener('visibilitychange', safe(() => { if (d.visibilityState == 'hidden') flush(); start() }));
    w.addEventListener('pagehide', flush);
    setInterval(flush, (iv > 0 ? iv : 10) * 1e3);
    start();
  } catch (e) {}
})();
