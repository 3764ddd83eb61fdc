// The try-on widget inside the embed iframe: camera -> WebSocket -> rendered frames, with a product
// switcher, a before/after split, snapshots, a photo fallback, and events for the host page.
(function () {
  'use strict';
  const body = document.body;
  const hostOrigin = body.dataset.hostOrigin || '*';
  const after = document.getElementById('after');
  const before = document.getElementById('before');
  const message = document.getElementById('message');
  const split = document.getElementById('split');
  const splitLabel = document.getElementById('split-label');
  const divider = document.getElementById('divider');
  const productsNav = document.getElementById('products');
  const snapshotButton = document.getElementById('snapshot');
  const compareButton = document.getElementById('compare');
  const MAX_IN_FLIGHT = 6;          // frames sent but not yet answered, at most
  const UPLOAD_WIDTHS = [640, 480, 360];  // smaller uploads when the uplink does not drain
  const JPEG_QUALITY = 0.75;
  const CLOSE_BUSY = 1013;         // at capacity (or too many sessions from this address): try later
  const CLOSE_IDLE = 4408;         // no frames for a while: the server let the session go

  const state = {
    sku: body.dataset.sku,
    merchant: body.dataset.merchant,
    session: body.dataset.session,  // this page view's try-on session token: the analytics count each event once
    socket: null,
    nextId: 1,
    sent: new Map(),       // id -> {at, canvas}: the frames in flight, kept to draw the replies over
    lastShownId: 0,
    rttMs: 0,              // measured round trip (smoothed): sizes the in-flight window
    squeeze: 0,            // steps down UPLOAD_WIDTHS beyond what the round trip calls for, while frames queue
    minRttMs: Infinity,    // the fastest reply seen: the link and server without a queue
    backlog: 0,            // replies in a row that queued behind earlier frames (or a busy uplink)
    drained: 0,            // replies in a row that did not
    retries: 0,
    retryAfterS: 0,        // the server's hint with a "busy" answer
    shown: false,          // a rendered frame is on the stage
    streaming: false,
    mirrored: true,  // live video is shown as a mirror; an uploaded photo as taken
    // Read by the end-to-end tests and handy when debugging.
    stats: { camera: 0, sent: 0, received: 0, dropped: 0, latencies: [], lastStatus: null, errors: [], closes: [] },
  };
  window.tryonWidget = state;

  const texts = {
    starting: 'Starting the camera…',
    denied: 'Camera access was denied. Allow the camera for this site in your browser settings, or use a photo instead.',
    noCamera: 'No camera was found. You can try the product on a photo instead.',
    insecure: 'The camera needs a secure (https) page. You can try the product on a photo instead.',
    noFace: "We can't see your face. Face the camera in good light.",
    tooSmall: 'Come a little closer to the camera.',
    connecting: 'Connecting…',
    lost: 'Connection lost. Reconnecting…',
    busy: 'Lots of shoppers are trying things on right now. We will try again in a moment…',
    idle: 'Paused. Tap the picture to carry on.',
  };

  function say(text) { message.textContent = text || ''; }

  function notifyHost(type, detail) {
    window.parent.postMessage(Object.assign({ source: 'tryon', type: type, sku: state.sku }, detail || {}), hostOrigin);
    if (type !== 'close') {  // the merchant's analytics: counts only, nothing about the shopper
      const event = { merchant: state.merchant, sku: state.sku, event: type, session: state.session };
      fetch('/api/v1/events', { method: 'POST', body: JSON.stringify(event), keepalive: true }).catch(() => {});
    }
  }

  // --- catalogue -------------------------------------------------------------------------------
  const productNames = new Map();
  async function loadProducts() {
    const response = await fetch(`/api/v1/products?merchant=${encodeURIComponent(state.merchant)}`);
    const { products } = await response.json();
    for (const product of products) productNames.set(product.sku, product.name);
    const current = products.find((p) => p.sku === state.sku);
    const family = current && current.kind === 'glasses' ? ['glasses'] : null;
    const shown = products.filter((p) => (family ? family.includes(p.kind) : p.kind !== 'glasses'));
    for (const product of shown) {
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.sku = product.sku;
      button.setAttribute('aria-pressed', String(product.sku === state.sku));
      if (product.swatch) {
        const swatch = document.createElement('span');
        swatch.className = 'swatch';
        swatch.style.background = product.swatch;
        button.appendChild(swatch);
      }
      button.appendChild(document.createTextNode(product.name));
      button.addEventListener('click', () => selectProduct(product.sku));
      productsNav.appendChild(button);
    }
  }

  function selectProduct(sku) {
    state.sku = sku;
    for (const button of productsNav.querySelectorAll('button')) {
      button.setAttribute('aria-pressed', String(button.dataset.sku === sku));
    }
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify({ type: 'products', products: [sku] }));
    }
    notifyHost('product_tried');
  }

  // --- camera and stream -------------------------------------------------------------------------
  async function startCamera() {
    if (!window.isSecureContext || !navigator.mediaDevices) { say(texts.insecure); return false; }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' }, audio: false,
      });
      before.srcObject = stream;
      await before.play();
      return true;
    } catch (error) {
      say(error && (error.name === 'NotAllowedError' || error.name === 'SecurityError') ? texts.denied : texts.noCamera);
      return false;
    }
  }

  function connect() {
    say(texts.connecting);
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const query = `merchant=${encodeURIComponent(state.merchant)}&products=${encodeURIComponent(state.sku)}`
      + `&partial=1&session=${encodeURIComponent(state.session)}`;
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/stream?${query}`);
    socket.binaryType = 'arraybuffer';
    state.socket = socket;
    state.sent.clear();
    socket.onmessage = (event) => (typeof event.data === 'string' ? onStatus(JSON.parse(event.data)) : onFrame(event.data));
    socket.onopen = () => { state.streaming = true; };
    socket.onclose = (event) => {
      state.streaming = false;
      state.stats.closes.push(event.code);
      if (state.socket !== socket) return;
      if (event.code === CLOSE_IDLE) {
        say(texts.idle);
        document.querySelector('.stage').addEventListener('click', () => { if (state.socket === socket) connect(); }, { once: true });
        return;
      }
      // Back off: 1.5 s, 3 s, 6 s ... up to 30 s (at least the server's hint when busy), with jitter so
      // shoppers turned away together do not come back together.
      const backoff = Math.max(Math.min(30000, 1500 * 2 ** state.retries), event.code === CLOSE_BUSY ? 1000 * state.retryAfterS : 0);
      state.retries += 1;
      say(event.code === CLOSE_BUSY ? texts.busy : texts.lost);
      setTimeout(() => { if (state.socket === socket) connect(); }, backoff * (0.75 + 0.5 * Math.random()));
    };
    socket.onerror = () => state.stats.errors.push('socket error');
  }

  function onStatus(status) {
    if (status.type === 'error') {
      state.stats.errors.push(status.code);
      if (status.retry_after_s) state.retryAfterS = status.retry_after_s;
      return;
    }
    if (status.type !== 'frame') return;
    state.stats.lastStatus = status;
    say(status.status === 'no_face' ? texts.noFace : status.status === 'face_too_small' ? texts.tooSmall : '');
    if (status.fit) showSize(status.fit);
  }

  const verdicts = { fits: 'This frame fits you', narrow: 'This frame may be narrow for you', wide: 'This frame may be wide for you' };
  function showSize(fit) {
    const panel = document.getElementById('size');
    if (!fit.advice) { panel.hidden = true; return; }
    panel.hidden = false;
    const verdict = document.getElementById('size-verdict');
    verdict.dataset.verdict = fit.advice.verdict;
    verdict.textContent = verdicts[fit.advice.verdict];
    document.getElementById('size-detail').textContent =
      `Frame ${Math.round(fit.advice.width_mm)} mm wide · your face ${Math.round(fit.face_width_mm)} mm ` +
      `(a frame of about ${Math.round(fit.ideal_glasses_width_mm)} mm suits you)`;
    const fitting = fit.fitting.map((sku) => productNames.get(sku) || sku);
    document.getElementById('size-fitting').textContent =
      fitting.length ? `Frames that fit you: ${fitting.join(', ')}` : 'No frame in this catalogue is close to your size.';
    document.getElementById('size-pd').textContent = `Your PD: ${Math.round(fit.pd_mm)} mm.`;
    document.getElementById('size-statement').textContent = fit.statement;
  }

  // Replies are the rectangle the products changed ([uint32 id][uint16 x, y, w, h][JPEG]), drawn over
  // this widget's own copy of the frame it sent; width 0: nothing drawn, the frame as it was.
  async function onFrame(buffer) {
    const view = new DataView(buffer);
    const id = view.getUint32(0);
    const entry = state.sent.get(id);
    for (const old of state.sent.keys()) {
      if (old > id) continue;
      if (old < id) state.stats.dropped += 1;  // overtaken: its reply will never be shown
      state.sent.delete(old);
    }
    if (!entry || id <= state.lastShownId) return;
    const rect = [view.getUint16(4), view.getUint16(6), view.getUint16(8), view.getUint16(10)];
    const patch = rect[2] ? await createImageBitmap(new Blob([buffer.slice(12)], { type: 'image/jpeg' })) : null;
    if (id <= state.lastShownId) return;  // a newer frame was drawn while this one decoded
    state.lastShownId = id;
    state.stats.received += 1;
    state.retries = 0;
    const latency = performance.now() - entry.at;
    state.rttMs = state.rttMs ? 0.8 * state.rttMs + 0.2 * latency : latency;
    state.minRttMs = Math.min(state.minRttMs, latency);
    adaptUpload(latency > state.minRttMs + 50 || state.socket.bufferedAmount > 0);
    state.stats.latencies.push(latency);
    if (state.stats.latencies.length > 300) state.stats.latencies.shift();
    after.width = entry.canvas.width;
    after.height = entry.canvas.height;
    const context = after.getContext('2d');
    context.drawImage(entry.canvas, 0, 0);
    if (patch) context.drawImage(patch, rect[0] * entry.scale, rect[1] * entry.scale, rect[2] * entry.scale, rect[3] * entry.scale);
    state.shown = true;
    snapshotButton.disabled = false;
  }

  // Enough frames in flight to cover the round trip at the camera's rate, never more than the uplink drains.
  function inFlightLimit() {
    const frameMs = 1000 / 30;
    return Math.max(2, Math.min(MAX_IN_FLIGHT, Math.ceil((state.rttMs || 2 * frameMs) / frameMs) + 1));
  }

  // Frames queueing somewhere (replies slower than the fastest seen, or data still waiting to leave):
  // send smaller ones; after a long calm stretch, try larger again.
  function adaptUpload(queued) {
    if (queued) { state.backlog += 1; state.drained = 0; } else { state.drained += 1; state.backlog = 0; }
    if (state.backlog >= 10 && state.squeeze < UPLOAD_WIDTHS.length - 1) { state.squeeze += 1; state.backlog = 0; }
    if (state.drained >= 300 && state.squeeze > 0) { state.squeeze -= 1; state.drained = 0; }
  }

  // A long round trip is a mobile or distant link: smaller uploads take less of it (and of the
  // server); the face stays large enough to track (the landmark model sees a 256 px crop).
  function uploadWidth() {
    const forLink = state.minRttMs <= 80 ? 0 : state.minRttMs <= 130 ? 1 : 2;
    return UPLOAD_WIDTHS[Math.min(UPLOAD_WIDTHS.length - 1, forLink + state.squeeze)];
  }

  // Called once per new camera frame: at most one frame is sent per frame the camera produces.
  function onCameraFrame() {
    state.stats.camera += 1;
    const socket = state.socket;
    if (!before.videoWidth) return;
    if (!state.shown) showCamera();  // the shopper's own picture at once, until the try-on's arrives
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > 0 || state.sent.size >= inFlightLimit()) return;  // drop, never queue
    const scale = Math.min(1, uploadWidth() / before.videoWidth);
    // The shopper keeps seeing the camera's full picture: the reply's rectangle (in upload pixels) is
    // scaled up onto the full-resolution copy; only the upload shrinks when the link is slow.
    const kept = document.createElement('canvas');
    kept.width = Math.min(before.videoWidth, UPLOAD_WIDTHS[0]);
    kept.height = Math.round(before.videoHeight * (kept.width / before.videoWidth));
    kept.getContext('2d').drawImage(before, 0, 0, kept.width, kept.height);
    let upload = kept;
    if (scale * before.videoWidth < kept.width) {
      upload = document.createElement('canvas');
      upload.width = Math.round(before.videoWidth * scale);
      upload.height = Math.round(before.videoHeight * scale);
      upload.getContext('2d').drawImage(kept, 0, 0, upload.width, upload.height);
    }
    const id = state.nextId++;
    state.sent.set(id, { at: performance.now(), canvas: kept, scale: kept.width / upload.width });
    upload.toBlob(async (blob) => {
      if (!blob || socket.readyState !== WebSocket.OPEN) { state.sent.delete(id); return; }
      const jpeg = new Uint8Array(await blob.arrayBuffer());
      const message = new Uint8Array(jpeg.length + 4);
      new DataView(message.buffer).setUint32(0, id);
      message.set(jpeg, 4);
      socket.send(message);
      state.stats.sent += 1;
    }, 'image/jpeg', JPEG_QUALITY);
  }

  function showCamera() {
    after.width = before.videoWidth;
    after.height = before.videoHeight;
    after.getContext('2d').drawImage(before, 0, 0);
  }

  // New camera frames: requestVideoFrameCallback where the browser has it, else the video's clock.
  function followCamera() {
    if (before.requestVideoFrameCallback) {
      const next = () => { onCameraFrame(); if (before.srcObject) before.requestVideoFrameCallback(next); };
      before.requestVideoFrameCallback(next);
      return;
    }
    let lastTime = -1;
    const poll = () => {
      if (!before.srcObject) return;
      if (before.currentTime !== lastTime) { lastTime = before.currentTime; onCameraFrame(); }
      requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  }

  // --- before / after, snapshot, cart, photo ---------------------------------------------------
  function setSplit(value) {
    split.value = String(value);
    // The view is mirrored, so the screen's left part is the video's right part.
    before.style.clipPath = `inset(0 0 0 ${100 - value}%)`;
    divider.style.left = `${value}%`;
  }
  split.addEventListener('input', () => setSplit(Number(split.value)));
  compareButton.addEventListener('click', () => {
    const on = compareButton.getAttribute('aria-pressed') !== 'true';
    compareButton.setAttribute('aria-pressed', String(on));
    splitLabel.hidden = !on;
    divider.hidden = !on;
    setSplit(on ? 50 : 0);
  });

  snapshotButton.addEventListener('click', () => {
    if (!state.shown) return;
    const canvas = document.createElement('canvas');
    canvas.width = after.width;
    canvas.height = after.height;
    const context = canvas.getContext('2d');
    if (state.mirrored) {  // the snapshot looks like what the shopper saw
      context.translate(canvas.width, 0);
      context.scale(-1, 1);
    }
    context.drawImage(after, 0, 0);
    canvas.toBlob((blob) => {
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `tryon-${state.sku}.jpg`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
      notifyHost('snapshot_taken');
    }, 'image/jpeg', 0.92);
  });

  document.getElementById('cart').addEventListener('click', () => notifyHost('add_to_cart'));
  document.getElementById('close').addEventListener('click', () => notifyHost('close'));

  document.getElementById('photo').addEventListener('change', async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const form = new FormData();
    form.append('photo', file);
    form.append('sku', state.sku);
    form.append('merchant', state.merchant);
    say('Rendering your photo…');
    const response = await fetch('/api/v1/render', { method: 'POST', body: form });
    if (!response.ok) { say((await response.json()).error.message); return; }
    if (state.socket) { const socket = state.socket; state.socket = null; socket.close(); }
    before.srcObject = null;
    state.mirrored = false;
    document.getElementById('view').style.transform = 'none';
    const bitmap = await createImageBitmap(await response.blob());
    after.width = bitmap.width;
    after.height = bitmap.height;
    after.getContext('2d').drawImage(bitmap, 0, 0);
    state.shown = true;
    snapshotButton.disabled = false;
    say(response.headers.get('X-Faces') === '0' ? 'No face found in this photo.' : '');
  });

  // --- start -------------------------------------------------------------------------------------
  loadProducts();
  notifyHost('product_tried');
  say(texts.starting);
  startCamera().then((ok) => { if (ok) { connect(); followCamera(); } });
})();
