// The try-on widget inside the embed iframe: camera -> WebSocket -> rendered frames, framed on the
// shopper's face; a product picker by kind with combinations, a before/after split, snapshots, a
// photo mode, the size guide, and events for the host page. Every word comes from the page's message
// catalogue (static/i18n/<lang>.json, put in the page by the server).
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const hostOrigin = body.dataset.hostOrigin || '*';
  const embedded = window.parent !== window;
  const words = JSON.parse($('messages').textContent);
  const stage = $('stage');
  const view = $('view');
  const after = $('after');
  const before = $('before');
  const split = $('split');
  const divider = $('divider');
  const snapshotButton = $('snapshot');
  const compareButton = $('compare');
  const MAX_IN_FLIGHT = 6;          // frames sent but not yet answered, at most
  const UPLOAD_WIDTHS = [640, 480, 360];  // smaller uploads when the uplink does not drain
  const KEPT_WIDTH = 1280;          // the widget's own copy of a frame (what snapshots are made of)
  const JPEG_QUALITY = 0.75;
  const CLOSE_BUSY = 1013;         // at capacity (or too many sessions from this address): try later
  const CLOSE_IDLE = 4408;         // no frames for a while: the server let the session go
  const HOST_EVENTS = new Set(['product_tried', 'snapshot_taken', 'add_to_cart']);  // counted by the analytics
  // The picker's groups, by the products' kinds; one product of each kind is worn at a time, and a
  // look (a set of makeup products) takes the place of single makeup products.
  const GROUPS = [
    ['glasses', ['glasses']],
    ['lips', ['lipstick', 'lip_liner']],
    ['eyes', ['eyeshadow', 'eyeliner', 'brow']],
    ['face', ['foundation', 'blush', 'highlighter', 'contour']],
    ['looks', ['look']],
  ];
  const groupOf = (kind) => (GROUPS.find(([, kinds]) => kinds.includes(kind)) || GROUPS[1])[0];

  const state = {
    sku: body.dataset.sku,  // the product last chosen: what "add to cart" and the events name
    worn: new Map([['initial', body.dataset.sku]]),  // kind -> SKU being tried on (kind unknown until the catalogue loads)
    merchant: body.dataset.merchant,
    session: body.dataset.session,  // this page view's try-on session token: the analytics count each event once
    catalogue: new Map(),  // SKU -> {sku, kind, name, swatch | image}
    mode: 'camera',        // or 'photo'
    photo: null,           // the shopper's photo in photo mode
    photoRequest: 0,       // the latest photo render asked for (older answers are dropped)
    cameraRun: 0,          // the camera loop running now (older loops stop)
    socket: null,
    nextId: 1,
    sent: new Map(),       // id -> {at, canvas, scale}: the frames in flight, kept to draw the replies over
    lastShownId: 0,
    rttMs: 0,              // measured round trip (smoothed): sizes the in-flight window
    squeeze: 0,            // steps down UPLOAD_WIDTHS beyond what the round trip calls for, while frames queue
    minRttMs: Infinity,    // the fastest reply seen: the link and server without a queue
    backlog: 0,            // replies in a row that queued behind earlier frames (or a busy uplink)
    drained: 0,            // replies in a row that did not
    retries: 0,
    retryAfterS: 0,        // the server's hint with a "busy" answer
    shown: false,          // a rendered frame (or the photo) is on the stage
    streaming: false,
    mirrored: true,        // live video is shown as a mirror; an uploaded photo as taken
    eyes: null,            // the last eye positions from the server (normalised), to frame the face
    faceless: 0,           // statuses in a row without a face
    framing: null,         // {scale, x, y}: where the frame is drawn on the stage now
    // Read by the end-to-end tests and handy when debugging.
    stats: { camera: 0, sent: 0, received: 0, dropped: 0, photos: 0, latencies: [], lastStatus: null, errors: [], closes: [] },
  };
  window.tryonWidget = state;

  function t(key, values) {
    return (words[key] || key).replace(/\{(\w+)\}/g, (_, name) => (values && name in values ? values[name] : ''));
  }

  // --- messages: a hint over the picture, a notice that blocks it (with what to do), a short toast ----
  function hint(text) { $('hint').textContent = text || ''; }

  function notice(text, actions) {
    $('notice').hidden = !text;
    $('message').textContent = text || '';
    const row = $('notice-actions');
    row.textContent = '';
    for (const [label, run] of actions || []) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = t(label);
      button.addEventListener('click', run);
      row.appendChild(button);
    }
    if (text) { $('loading').hidden = true; hint(''); }
  }

  function toast(text) {
    const element = $('toast');
    element.textContent = text;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { element.textContent = ''; }, 2500);
  }

  function notifyHost(type) {
    // session: this try-on's token, for the store to ask which glasses fit (GET /api/v1/sessions/fitting)
    if (embedded) window.parent.postMessage({ source: 'tryon', type: type, sku: state.sku, session: state.session }, hostOrigin);
    if (HOST_EVENTS.has(type)) {  // the merchant's analytics: counts only, nothing about the shopper
      const event = { merchant: state.merchant, sku: state.sku, event: type, session: state.session };
      fetch('/api/v1/events', { method: 'POST', body: JSON.stringify(event), keepalive: true }).catch(() => {});
    }
  }

  // --- catalogue and picker ------------------------------------------------------------------------
  async function loadProducts() {
    const response = await fetch(`/api/v1/products?merchant=${encodeURIComponent(state.merchant)}`);
    const { products } = await response.json();
    for (const product of products) state.catalogue.set(product.sku, product);
    const first = state.catalogue.get(state.sku);
    state.worn = new Map(first ? [[first.kind, first.sku]] : []);
    buildPicker(products, first ? groupOf(first.kind) : 'glasses');
  }

  function buildPicker(products, openGroup) {
    const tabs = $('groups');
    const groups = GROUPS.filter(([, kinds]) => products.some((p) => kinds.includes(p.kind)));
    if (!groups.some(([name]) => name === openGroup) && groups.length) openGroup = groups[0][0];
    for (const [name, kinds] of groups) {
      const tab = document.createElement('button');
      tab.type = 'button';
      tab.id = `tab-${name}`;
      tab.setAttribute('role', 'tab');
      tab.setAttribute('aria-controls', `panel-${name}`);
      tab.dataset.group = name;
      tab.textContent = t(`group_${name}`);
      tab.addEventListener('click', () => openTab(name));
      tabs.appendChild(tab);
      const panel = document.createElement('div');
      panel.id = `panel-${name}`;
      panel.className = 'choices';
      panel.setAttribute('role', 'tabpanel');
      panel.setAttribute('aria-labelledby', tab.id);
      for (const product of products.filter((p) => kinds.includes(p.kind))) panel.appendChild(chip(product));
      $('products').appendChild(panel);
    }
    tabs.addEventListener('keydown', (event) => {
      const all = [...tabs.children];
      const at = all.indexOf(document.activeElement);
      const step = { ArrowRight: 1, ArrowLeft: -1, Home: -at, End: all.length - 1 - at }[event.key];
      if (at < 0 || step === undefined) return;
      event.preventDefault();
      const next = all[(at + step + all.length) % all.length];
      openTab(next.dataset.group);
      next.focus();
    });
    markWorn();
    openTab(openGroup);
  }

  function chip(product) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'chip';
    button.dataset.sku = product.sku;
    const mark = document.createElement('span');
    mark.setAttribute('aria-hidden', 'true');
    if (product.image) {
      mark.className = 'thumb';
      const picture = document.createElement('img');
      picture.src = product.image;
      picture.alt = '';
      mark.appendChild(picture);
    } else {
      mark.className = product.kind === 'look' ? 'swatch look' : 'swatch';
      if (product.swatch) mark.style.background = product.swatch;
    }
    button.append(mark, document.createTextNode(product.name));
    button.addEventListener('click', () => toggle(product.sku));
    return button;
  }

  $('shade-try').addEventListener('click', (event) => toggle(event.currentTarget.dataset.sku));

  function openTab(name) {
    for (const tab of $('groups').children) {
      const open = tab.dataset.group === name;
      tab.setAttribute('aria-selected', String(open));
      tab.tabIndex = open ? 0 : -1;
      $(tab.getAttribute('aria-controls')).hidden = !open;
    }
    revealWorn($(`panel-${name}`));
  }

  // The chosen chip in view, inside its own row (never scrolling the page around the widget).
  function revealWorn(panel) {
    const worn = panel && panel.querySelector('[aria-pressed="true"]');
    if (worn) panel.scrollLeft = worn.offsetLeft - panel.offsetLeft - (panel.clientWidth - worn.offsetWidth) / 2;
  }

  function markWorn() {
    const skus = new Set(state.worn.values());
    for (const button of document.querySelectorAll('.chip')) button.setAttribute('aria-pressed', String(skus.has(button.dataset.sku)));
    for (const tab of $('groups').children) {
      const [, kinds] = GROUPS.find(([name]) => name === tab.dataset.group);
      tab.classList.toggle('wearing', [...state.worn.keys()].some((kind) => kinds.includes(kind)));
    }
  }

  // Put a product on (in place of one of its kind; a look in place of single makeup products, and
  // the other way round), or take it off again; the last product is never taken off.
  function toggle(sku) {
    const product = state.catalogue.get(sku);
    if (state.worn.get(product.kind) === sku) {
      if (state.worn.size === 1) return;
      state.worn.delete(product.kind);
      state.sku = [...state.worn.values()].pop();
    } else {
      const makeup = (kind) => kind !== 'glasses' && kind !== 'look';
      for (const kind of [...state.worn.keys()]) {
        if (product.kind === 'look' ? makeup(kind) : kind === 'look' && makeup(product.kind)) state.worn.delete(kind);
      }
      state.worn.set(product.kind, sku);
      state.sku = sku;
      notifyHost('product_tried');
    }
    markWorn();
    sendProducts();
    if (state.mode === 'photo') renderPhoto();
  }

  const wornSkus = () => [...state.worn.values()];

  function sendProducts() {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify({ type: 'products', products: wornSkus() }));
    }
  }

  // --- framing: the whole face on the stage, whatever the stage's shape ------------------------------
  // The face's box from the eyes (in eye distances: a face is about 2.2 wide, eyes to chin about 2):
  // the picture is drawn as large as fills the stage ("cover") unless that would cut into the box;
  // then smaller, down to the whole frame ("contain"). Without eyes: the whole frame.
  const FACE_BOX = { left: 1.55, right: 1.55, up: 1.8, down: 2.45 };

  function targetFraming(width, height) {
    const fw = after.width, fh = after.height;
    const cover = Math.max(width / fw, height / fh), contain = Math.min(width / fw, height / fh);
    if (!state.eyes) return { scale: contain, x: (width - fw * contain) / 2, y: (height - fh * contain) / 2 };
    const [[ax, ay], [bx, by]] = state.eyes.map(([x, y]) => [(state.mirrored ? 1 - x : x) * fw, y * fh]);
    const d = Math.hypot(bx - ax, by - ay);
    const boxWidth = (FACE_BOX.left + FACE_BOX.right) * d, boxHeight = (FACE_BOX.up + FACE_BOX.down) * d;
    const scale = Math.min(cover, Math.max(contain, Math.min(width / boxWidth, height / boxHeight)));
    const centreX = (ax + bx) / 2, centreY = (ay + by) / 2 + ((FACE_BOX.down - FACE_BOX.up) / 2) * d;
    const place = (size, shown, centre) => (shown <= size ? (size - shown) / 2 : Math.min(0, Math.max(size - shown, size / 2 - centre * scale)));
    return { scale, x: place(width, fw * scale, centreX), y: place(height, fh * scale, centreY) };
  }

  // Eased towards the target on every picture, so the framing follows the face without jitter.
  function applyFraming(immediate) {
    if (!after.width) return;
    const target = targetFraming(stage.clientWidth, stage.clientHeight);
    const now = state.framing;
    const ease = immediate || !now || Math.abs(now.scale - target.scale) / target.scale > 0.5 ? 1 : 0.2;
    state.framing = now
      ? { scale: now.scale + ease * (target.scale - now.scale), x: now.x + ease * (target.x - now.x), y: now.y + ease * (target.y - now.y) }
      : target;
    const { scale, x, y } = state.framing;
    view.style.width = `${after.width * scale}px`;
    view.style.height = `${after.height * scale}px`;
    view.style.transform = `translate(${x}px, ${y}px)${state.mirrored ? ' scaleX(-1)' : ''}`;
    if (!divider.hidden) setSplit(Number(split.value));
  }
  window.addEventListener('resize', () => {
    applyFraming(true);
    revealWorn(document.querySelector('.choices:not([hidden])'));
  });

  // --- camera and stream -------------------------------------------------------------------------
  async function startCamera() {
    if (!window.isSecureContext || !navigator.mediaDevices) { notice(t('insecure'), [['use_photo', choosePhoto]]); return false; }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: 'user' }, audio: false,
      });
      if (state.mode !== 'camera') { stream.getTracks().forEach((track) => track.stop()); return false; }
      before.srcObject = stream;
      await before.play();
      return true;
    } catch (error) {
      const name = error && error.name;
      if (name === 'NotAllowedError' || name === 'SecurityError') notice(t('denied'), [['use_photo', choosePhoto], ['retry', startLive]]);
      else if (name === 'NotReadableError' || name === 'AbortError') notice(t('camera_in_use'), [['retry', startLive], ['use_photo', choosePhoto]]);
      else notice(t('no_camera'), [['use_photo', choosePhoto]]);
      return false;
    }
  }

  function stopCamera() {
    if (state.socket) { const socket = state.socket; state.socket = null; socket.close(); }
    if (before.srcObject) before.srcObject.getTracks().forEach((track) => track.stop());
    before.srcObject = null;
    state.cameraRun += 1;
  }

  async function startLive() {
    notice(null);
    state.mode = 'camera';
    state.mirrored = true;
    state.shown = false;
    state.framing = null;
    $('loading').hidden = false;
    hint(t('starting'));
    if (await startCamera()) { connect(); followCamera(); }
  }

  function connect() {
    hint(t('connecting'));
    for (const [kind, calibration] of Object.entries(calibrations)) {  // a new session has none
      calibration.asked = false;
      showCalibration(kind, null);
    }
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const query = `merchant=${encodeURIComponent(state.merchant)}&products=${encodeURIComponent(wornSkus().join(','))}`
      + `&partial=1&session=${encodeURIComponent(state.session)}`;
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/stream?${query}`);
    socket.binaryType = 'arraybuffer';
    state.socket = socket;
    state.sent.clear();
    socket.onmessage = (event) => (typeof event.data === 'string' ? onStatus(JSON.parse(event.data)) : onFrame(event.data));
    socket.onopen = () => { state.streaming = true; sendProducts(); };
    socket.onclose = (event) => {
      state.streaming = false;
      state.stats.closes.push(event.code);
      if (state.socket !== socket) return;
      if (event.code === CLOSE_IDLE) {
        notice(t('idle'), [['continue', () => { notice(null); connect(); }]]);
        return;
      }
      // Back off: 1.5 s, 3 s, 6 s ... up to 30 s (at least the server's hint when busy), with jitter so
      // shoppers turned away together do not come back together.
      const backoff = Math.max(Math.min(30000, 1500 * 2 ** state.retries), event.code === CLOSE_BUSY ? 1000 * state.retryAfterS : 0);
      state.retries += 1;
      hint(t(event.code === CLOSE_BUSY ? 'busy' : 'lost'));
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
    if (status.type !== 'frame' || state.mode !== 'camera') return;
    state.stats.lastStatus = status;
    if (status.eyes && status.eyes.length === 2) { state.eyes = status.eyes; state.faceless = 0; }
    else if (++state.faceless > 20) state.eyes = null;  // gone for a while: show the whole picture again
    showSize(status.fit);
    showShade(status.shade);
    const holding = [showCalibration('card', status.card), showCalibration('white_card', status.white_card)].find(Boolean);
    const problem = status.status === 'no_face' ? t('no_face')
      : status.status === 'face_too_small' ? t('too_small')
        : status.faces > 1 ? t('two_faces') : '';
    hint(problem || holding || '');
    $('hint').classList.toggle('below', !problem && Boolean(holding));  // the card goes on the forehead
  }

  // Calibrations: the shopper holds a card flat on the forehead, a bank card for the PD or a plain
  // white one for the light (the shade then matched in it); the service finds it frame after frame
  // and says what to change until five readings agree (nothing of the frames is kept). While it
  // looks, what to do is also shown over the picture: a shopper holding a card cannot scroll.
  const calibrations = {
    card: { button: 'card-measure', hint: 'card-hint', message: 'measure_with_card', state: '', asked: false,
      measured: (status) => t('card_measured', { pd: Math.round(status.pd_mm) }) },
    white_card: { button: 'white-card-measure', hint: 'white-card-hint', message: 'calibrate_with_white_card', state: '', asked: false,
      measured: () => t('white_card_measured') },
  };
  for (const [kind, calibration] of Object.entries(calibrations)) {
    $(calibration.button).addEventListener('click', () => {
      if (state.socket && state.socket.readyState === WebSocket.OPEN) {
        state.socket.send(JSON.stringify({ type: calibration.message }));
        showCalibration(kind, { state: 'looking' });
        calibration.asked = true;  // the frames already in flight still say there is none
      }
    });
  }
  const CARD_UPLOAD_WIDTH = 1280;
  // Shows a calibration's state (null: none, as after a reconnect or once the face was lost, when the
  // service forgets it); returns what to do while it looks, else ''.
  function showCalibration(kind, status) {
    const calibration = calibrations[kind];
    if (!status && calibration.asked) return calibration.state === 'looking' ? $(calibration.hint).textContent : '';
    if (status) calibration.asked = false;
    const now = status ? status.state : '';
    const text = now === 'measured' ? calibration.measured(status)
      : now === 'gave_up' ? t(`${kind}_gave_up`)
        : now === 'looking' ? t(status.code && status.code !== 'not_found' ? `${kind}_${status.code}` : `${kind}_hold`) : '';
    calibration.state = now;
    if ($(calibration.hint).textContent !== text) $(calibration.hint).textContent = text;
    $(calibration.button).hidden = now === 'looking' || now === 'measured' && kind === 'white_card';
    return now === 'looking' ? text : '';
  }

  // The foundation that matches the shopper (the service reads it on the bare camera frames), offered
  // while the face products are open.
  function showShade(shade) {
    const line = $('shade');
    const faceOpen = $('tab-face') && $('tab-face').getAttribute('aria-selected') === 'true';
    line.hidden = !(shade && faceOpen && state.catalogue.has(shade.sku));
    if (line.hidden) return;
    const words = shade.method === 'white_card' ? 'shade_match_white_card' : 'shade_match';
    $('shade-text').textContent = t(words, { name: shade.name, undertone: t(`undertone_${shade.undertone}`) });
    const button = $('shade-try');
    button.dataset.sku = shade.sku;
    button.hidden = state.worn.get('foundation') === shade.sku;
  }

  function showSize(fit) {
    if (fit) markFitting(fit.fitting || []);
    const panel = $('size');
    panel.hidden = !(fit && fit.advice);
    if (panel.hidden) return;
    const verdict = $('size-verdict');
    verdict.dataset.verdict = fit.advice.verdict;
    verdict.textContent = t(`size_${fit.advice.verdict}`);
    $('size-detail').textContent = t('size_detail', {
      frame: Math.round(fit.advice.width_mm), face: Math.round(fit.face_width_mm), ideal: Math.round(fit.ideal_glasses_width_mm),
    });
    const fitting = fit.fitting.map((sku) => (state.catalogue.get(sku) || { name: sku }).name);
    $('size-fitting').textContent = fitting.length ? t('size_fitting', { names: fitting.join(', ') }) : t('size_none');
    $('size-pd').textContent = t('size_pd', { pd: Math.round(fit.pd_mm) });
    $('size-statement').textContent = fit.method === 'card'
      ? t('size_statement_card', { accuracy: fit.accuracy_mm })
      : t('size_statement', { accuracy: Math.round(Math.max(1, fit.accuracy_mm || 3)) });
  }

  // The glasses that fit the measured face: marked, and first in their row in the service's order (best first).
  let shownFitting = '';
  function markFitting(fitting) {
    if (fitting.join(',') === shownFitting) return;
    shownFitting = fitting.join(',');
    for (const button of document.querySelectorAll('.chip')) {
      const fits = fitting.includes(button.dataset.sku);
      button.classList.toggle('fits', fits);
      button.title = fits ? t('fits_you') : '';
    }
    const panel = $('panel-glasses');
    if (!panel) return;
    for (const sku of [...fitting].reverse()) {
      const button = panel.querySelector(`.chip[data-sku="${CSS.escape(sku)}"]`);
      if (button) panel.prepend(button);
    }
    revealWorn(panel);
  }

  // Replies are the rectangle the products changed ([uint32 id][uint16 x, y, w, h][JPEG]), drawn over
  // this widget's own copy of the frame it sent; width 0: nothing drawn, the frame as it was.
  async function onFrame(buffer) {
    const data = new DataView(buffer);
    const id = data.getUint32(0);
    const entry = state.sent.get(id);
    for (const old of state.sent.keys()) {
      if (old > id) continue;
      if (old < id) state.stats.dropped += 1;  // overtaken: its reply will never be shown
      state.sent.delete(old);
    }
    if (!entry || id <= state.lastShownId || state.mode !== 'camera') return;
    const rect = [data.getUint16(4), data.getUint16(6), data.getUint16(8), data.getUint16(10)];
    const patch = rect[2] ? await createImageBitmap(new Blob([buffer.slice(12)], { type: 'image/jpeg' })) : null;
    if (id <= state.lastShownId || state.mode !== 'camera') return;  // a newer frame was drawn while this one decoded
    state.lastShownId = id;
    state.stats.received += 1;
    state.retries = 0;
    const latency = performance.now() - entry.at;
    state.rttMs = state.rttMs ? 0.8 * state.rttMs + 0.2 * latency : latency;
    state.minRttMs = Math.min(state.minRttMs, latency);
    adaptUpload(latency > state.minRttMs + 50 || state.socket.bufferedAmount > 0);
    state.stats.latencies.push(latency);
    if (state.stats.latencies.length > 300) state.stats.latencies.shift();
    draw(entry.canvas);
    if (patch) after.getContext('2d').drawImage(patch, rect[0] * entry.scale, rect[1] * entry.scale, rect[2] * entry.scale, rect[3] * entry.scale);
    state.shown = true;
  }

  // A picture on the stage (a camera frame, a reply's base, the photo), framed on the face.
  function draw(source) {
    if (after.width !== source.width || after.height !== source.height) {
      after.width = source.width;
      after.height = source.height;
    }
    after.getContext('2d').drawImage(source, 0, 0);
    $('loading').hidden = true;
    snapshotButton.disabled = false;
    applyFraming(false);
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
  // server); the face stays large enough to track (the landmark model sees a 256 px crop). The
  // fastest reply seen holds the server's own 10-20 ms and the upload's time on the link: a 60 ms
  // 4G link shows 78 ms or more and gets the smallest frames, a 20 ms broadband link about 40.
  function uploadWidth() {
    if (Object.values(calibrations).some((c) => c.state === 'looking')) return CARD_UPLOAD_WIDTH;  // a card's edges need the detail
    const forLink = state.minRttMs <= 55 ? 0 : state.minRttMs <= 70 ? 1 : 2;
    return UPLOAD_WIDTHS[Math.min(UPLOAD_WIDTHS.length - 1, forLink + state.squeeze)];
  }

  // Called once per new camera frame: at most one frame is sent per frame the camera produces.
  function onCameraFrame() {
    state.stats.camera += 1;
    const socket = state.socket;
    if (!before.videoWidth) return;
    const kept = document.createElement('canvas');
    kept.width = Math.min(before.videoWidth, KEPT_WIDTH);
    kept.height = Math.round(before.videoHeight * (kept.width / before.videoWidth));
    kept.getContext('2d').drawImage(before, 0, 0, kept.width, kept.height);
    if (!state.shown) draw(kept);  // the shopper's own picture at once, until the try-on's arrives
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > 0 || state.sent.size >= inFlightLimit()) return;  // drop, never queue
    // The shopper keeps seeing the camera's full picture: the reply's rectangle (in upload pixels) is
    // scaled up onto the full-resolution copy; only the upload shrinks when the link is slow.
    let upload = kept;
    const width = Math.min(kept.width, uploadWidth());
    if (width < kept.width) {
      upload = document.createElement('canvas');
      upload.width = width;
      upload.height = Math.round(kept.height * (width / kept.width));
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

  // New camera frames: requestVideoFrameCallback where the browser has it, else the video's clock.
  function followCamera() {
    const run = ++state.cameraRun;
    const live = () => run === state.cameraRun && before.srcObject;
    if (before.requestVideoFrameCallback) {
      const next = () => { if (!live()) return; onCameraFrame(); before.requestVideoFrameCallback(next); };
      before.requestVideoFrameCallback(next);
      return;
    }
    let lastTime = -1;
    const poll = () => {
      if (!live()) return;
      if (before.currentTime !== lastTime) { lastTime = before.currentTime; onCameraFrame(); }
      requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  }

  // --- before / after -----------------------------------------------------------------------------
  // The divider sits at `value`% of the stage; the camera picture shows left of it, the try-on right.
  function setSplit(value) {
    split.value = String(value);
    divider.style.left = `${value}%`;
    const frame = state.framing;
    if (!frame) return;
    const width = after.width * frame.scale;
    const at = (value / 100) * stage.clientWidth - frame.x;  // the divider in the drawn picture's pixels
    const shown = Math.min(100, Math.max(0, (100 * at) / width));
    // Mirrored, the picture's screen-left part is the video's right part.
    before.style.clipPath = state.mirrored ? `inset(0 0 0 ${100 - shown}%)` : `inset(0 ${100 - shown}% 0 0)`;
  }
  split.addEventListener('input', () => setSplit(Number(split.value)));

  function setCompare(on) {
    compareButton.setAttribute('aria-pressed', String(on));
    split.hidden = !on;
    divider.hidden = !on;
    before.style.visibility = on ? 'visible' : 'hidden';
    if (on) setSplit(50);
  }
  compareButton.addEventListener('click', () => setCompare(compareButton.getAttribute('aria-pressed') !== 'true'));

  // --- snapshot and cart ---------------------------------------------------------------------------
  snapshotButton.addEventListener('click', () => {
    if (!after.width) return;
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
      toast(t('snapshot_saved'));
      notifyHost('snapshot_taken');
    }, 'image/jpeg', 0.92);
  });

  $('cart').addEventListener('click', () => {
    const product = state.catalogue.get(state.sku);
    toast(t('added_to_cart', { name: product ? product.name : state.sku }));
    notifyHost('add_to_cart');
  });

  // --- photo mode: the chosen products on the shopper's photo, following every change -------------
  function choosePhoto() { $('photo').click(); }
  $('photo-button').addEventListener('click', choosePhoto);
  $('camera-button').addEventListener('click', () => {
    state.photo = null;
    state.photoRequest += 1;
    $('camera-button').hidden = true;
    $('photo-button').hidden = false;
    compareButton.hidden = false;
    startLive();
  });

  $('photo').addEventListener('change', (event) => {
    const file = event.target.files[0];
    event.target.value = '';
    if (!file) return;
    stopCamera();
    setCompare(false);
    state.mode = 'photo';
    state.photo = file;
    state.mirrored = false;
    state.eyes = null;
    state.framing = null;
    $('size').hidden = true;
    compareButton.hidden = true;
    $('photo-button').hidden = true;
    $('camera-button').hidden = false;
    notice(null);
    renderPhoto();
  });

  async function renderPhoto() {
    const asked = ++state.photoRequest;
    const form = new FormData();
    form.append('photo', state.photo);
    for (const sku of wornSkus()) form.append('sku', sku);
    form.append('merchant', state.merchant);
    hint(t('rendering_photo'));
    let bitmap = null;
    let faces = '0';
    try {
      const response = await fetch('/api/v1/render', { method: 'POST', body: form });
      if (response.ok) {
        faces = response.headers.get('X-Faces');
        bitmap = await createImageBitmap(await response.blob());
      }
    } catch (error) { bitmap = null; }
    if (asked !== state.photoRequest) return;  // a newer choice is on its way
    if (!bitmap) { notice(t('photo_failed'), [['use_photo', choosePhoto], ['use_camera', () => $('camera-button').click()]]); return; }
    state.shown = true;
    draw(bitmap);
    state.stats.photos += 1;
    hint(faces === '0' ? t('photo_no_face') : '');
  }

  // --- keyboard and host ---------------------------------------------------------------------------
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && embedded) notifyHost('close');  // the host's dialog closes
  });

  // --- start -------------------------------------------------------------------------------------
  notifyHost('ready');
  loadProducts();
  notifyHost('product_tried');
  startLive();
})();
