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
  const MAX_IN_FLIGHT = 2;          // frames sent but not yet answered: hides the round trip
  const CAPTURE_WIDTH = 640;
  const JPEG_QUALITY = 0.75;

  const state = {
    sku: body.dataset.sku,
    merchant: body.dataset.merchant,
    socket: null,
    nextId: 1,
    sentAt: new Map(),
    lastShownId: 0,
    lastBlob: null,
    lastUrl: null,
    streaming: false,
    mirrored: true,  // live video is shown as a mirror; an uploaded photo as taken
    // Read by the end-to-end tests and handy when debugging.
    stats: { sent: 0, received: 0, dropped: 0, latencies: [], lastStatus: null, errors: [] },
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
  };

  function say(text) { message.textContent = text || ''; }

  function notifyHost(type, detail) {
    window.parent.postMessage(Object.assign({ source: 'tryon', type: type, sku: state.sku }, detail || {}), hostOrigin);
    if (type !== 'close') {  // the merchant's analytics: counts only, nothing about the shopper
      const event = { merchant: state.merchant, sku: state.sku, event: type };
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
    const query = `merchant=${encodeURIComponent(state.merchant)}&products=${encodeURIComponent(state.sku)}`;
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/stream?${query}`);
    socket.binaryType = 'arraybuffer';
    state.socket = socket;
    state.sentAt.clear();
    socket.onmessage = (event) => (typeof event.data === 'string' ? onStatus(JSON.parse(event.data)) : onFrame(event.data));
    socket.onopen = () => { state.streaming = true; };
    socket.onclose = () => {
      state.streaming = false;
      if (state.socket === socket) { say(texts.lost); setTimeout(connect, 1500); }
    };
    socket.onerror = () => state.stats.errors.push('socket error');
  }

  function onStatus(status) {
    if (status.type === 'error') { state.stats.errors.push(status.code); return; }
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

  function onFrame(buffer) {
    const id = new DataView(buffer).getUint32(0);
    const sent = state.sentAt.get(id);
    state.sentAt.delete(id);
    for (const old of state.sentAt.keys()) if (old < id) { state.sentAt.delete(old); state.stats.dropped += 1; }
    if (id <= state.lastShownId) return;  // an older frame overtaken by a newer one
    state.lastShownId = id;
    state.stats.received += 1;
    if (sent !== undefined) {
      state.stats.latencies.push(performance.now() - sent);
      if (state.stats.latencies.length > 300) state.stats.latencies.shift();
    }
    state.lastBlob = new Blob([buffer.slice(4)], { type: 'image/jpeg' });
    const url = URL.createObjectURL(state.lastBlob);
    after.src = url;
    if (state.lastUrl) URL.revokeObjectURL(state.lastUrl);
    state.lastUrl = url;
    snapshotButton.disabled = false;
  }

  const capture = document.createElement('canvas');
  function pump() {
    const socket = state.socket;
    if (socket && socket.readyState === WebSocket.OPEN && before.videoWidth && state.sentAt.size < MAX_IN_FLIGHT) {
      const scale = Math.min(1, CAPTURE_WIDTH / before.videoWidth);
      capture.width = Math.round(before.videoWidth * scale);
      capture.height = Math.round(before.videoHeight * scale);
      capture.getContext('2d').drawImage(before, 0, 0, capture.width, capture.height);
      const id = state.nextId++;
      state.sentAt.set(id, performance.now());
      capture.toBlob(async (blob) => {
        if (!blob || socket.readyState !== WebSocket.OPEN) { state.sentAt.delete(id); return; }
        const jpeg = new Uint8Array(await blob.arrayBuffer());
        const message = new Uint8Array(jpeg.length + 4);
        new DataView(message.buffer).setUint32(0, id);
        message.set(jpeg, 4);
        socket.send(message);
        state.stats.sent += 1;
      }, 'image/jpeg', JPEG_QUALITY);
    }
    requestAnimationFrame(pump);  // capture follows the display; frames never queue up
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

  snapshotButton.addEventListener('click', async () => {
    if (!state.lastBlob) return;
    const bitmap = await createImageBitmap(state.lastBlob);
    const canvas = document.createElement('canvas');
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const context = canvas.getContext('2d');
    if (state.mirrored) {  // the snapshot looks like what the shopper saw
      context.translate(canvas.width, 0);
      context.scale(-1, 1);
    }
    context.drawImage(bitmap, 0, 0);
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
    state.lastBlob = await response.blob();
    after.src = URL.createObjectURL(state.lastBlob);
    snapshotButton.disabled = false;
    say(response.headers.get('X-Faces') === '0' ? 'No face found in this photo.' : '');
  });

  // --- start -------------------------------------------------------------------------------------
  loadProducts();
  notifyHost('product_tried');
  say(texts.starting);
  startCamera().then((ok) => { if (ok) { connect(); requestAnimationFrame(pump); } });
})();
