// The merchant dashboard: sign in with an API key, manage products, calibrate glasses, preview
// makeup shades live, publish, copy the embed snippet, set embed origins, read the analytics.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  let key = sessionStorage.getItem('tryon-key') || '';
  let merchant = null;
  let calibrating = null;  // {sku, width, height, centres}

  async function api(method, path, body) {
    const options = { method, headers: { Authorization: `Bearer ${key}` } };
    if (body instanceof FormData) options.body = body;
    else if (body !== undefined) { options.body = JSON.stringify(body); options.headers['Content-Type'] = 'application/json'; }
    const response = await fetch(`/api/v1/merchant${path}`, options);
    if (!response.ok) {
      const error = await response.json().catch(() => ({ error: { message: response.statusText } }));
      throw new Error(error.error.message);
    }
    return response;
  }
  const json = async (method, path, body) => (await api(method, path, body)).json();

  async function signIn() {
    try {
      merchant = await json('GET', '/me');
    } catch (error) {
      $('login-error').textContent = error.message;
      return;
    }
    sessionStorage.setItem('tryon-key', key);
    $('login').hidden = true;
    $('app').hidden = false;
    $('who').textContent = `${merchant.name} (${merchant.slug})`;
    $('origins').value = merchant.origins.join('\n');
    await refresh();
  }

  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    key = $('key').value.trim();
    signIn();
  });

  async function refresh() {
    const { products } = await json('GET', '/products');
    const body = $('products').querySelector('tbody');
    body.textContent = '';
    for (const product of products) {
      const row = body.insertRow();
      row.dataset.sku = product.sku;
      row.insertCell().textContent = product.sku;
      row.insertCell().textContent = product.name;
      row.insertCell().textContent = product.kind;
      const publish = document.createElement('input');
      publish.type = 'checkbox';
      publish.checked = product.published;
      publish.className = 'publish';
      publish.setAttribute('aria-label', `Publish ${product.sku}`);
      publish.addEventListener('change', async () => {
        await json('PATCH', `/products/${encodeURIComponent(product.sku)}`, { published: publish.checked });
      });
      row.insertCell().appendChild(publish);
      const actions = row.insertCell();
      actions.appendChild(button('Preview', () => select(product)));
      if (product.kind === 'glasses') actions.appendChild(button('Calibrate', () => calibrate(product.sku)));
      actions.appendChild(button('Delete', async () => {
        if (!confirm(`Delete ${product.sku}?`)) return;
        await api('DELETE', `/products/${encodeURIComponent(product.sku)}`);
        refresh();
      }));
    }
    const usage = (await json('GET', '/analytics')).products;
    const analytics = $('analytics').querySelector('tbody');
    analytics.textContent = '';
    for (const [sku, counts] of Object.entries(usage)) {
      const row = analytics.insertRow();
      for (const value of [sku, counts.session, counts.product_tried, counts.snapshot_taken, counts.add_to_cart]) {
        row.insertCell().textContent = value;
      }
    }
  }

  function button(label, onClick) {
    const element = document.createElement('button');
    element.type = 'button';
    element.textContent = label;
    element.addEventListener('click', onClick);
    return element;
  }

  async function showImage(element, response) {
    if (element.src) URL.revokeObjectURL(element.src);
    element.src = URL.createObjectURL(await response.blob());
  }

  async function select(product) {
    $('selected').hidden = false;
    $('selected-title').textContent = `${product.name} (${product.sku})`;
    $('snippet').value = `<script src="${location.origin}/static/tryon.js" data-merchant="${merchant.slug}" ` +
      `data-sku="${product.sku}"></` + 'script>';
    await showImage($('preview'), await api('GET', `/products/${encodeURIComponent(product.sku)}/preview`));
  }

  $('copy-snippet').addEventListener('click', async () => {
    $('snippet').select();
    try { await navigator.clipboard.writeText($('snippet').value); } catch (error) { document.execCommand('copy'); }
  });

  // --- glasses upload and lens calibration ---------------------------------------------------------
  $('glasses-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.target;
    const data = new FormData();
    data.append('sku', form.sku.value);
    data.append('name', form.name.value);
    data.append('kind', 'glasses');
    data.append('spec', JSON.stringify({
      width_mm: Number(form.width_mm.value), lens_tint: form.lens_tint.value,
      lens_opacity: Number(form.lens_opacity.value),
    }));
    data.append('front', form.front.files[0]);
    if (form.temple.files[0]) data.append('temple', form.temple.files[0]);
    $('glasses-error').textContent = '';
    try {
      const product = await json('POST', '/products', data);
      await refresh();
      await calibrate(product.sku);
    } catch (error) {
      $('glasses-error').textContent = error.message;
    }
  });

  async function calibrate(sku) {
    const info = await json('GET', `/products/${encodeURIComponent(sku)}/calibration`);
    const centres = info.lens_centres_px || info.detected || [[info.width * 0.3, info.height / 2], [info.width * 0.7, info.height / 2]];
    calibrating = { sku, width: info.width, height: info.height, centres: centres.map((c) => c.slice()) };
    $('calibration').hidden = false;
    await showImage($('calibrate-image'), await api('GET', `/products/${encodeURIComponent(sku)}/images/front.png`));
    placeMarkers();
  }

  function placeMarkers() {
    const image = $('calibrate-image');
    for (const marker of document.querySelectorAll('.marker')) {
      const [x, y] = calibrating.centres[Number(marker.dataset.index)];
      marker.style.left = `${(x / calibrating.width) * image.clientWidth}px`;
      marker.style.top = `${(y / calibrating.height) * image.clientHeight}px`;
    }
  }
  $('calibrate-image').addEventListener('load', placeMarkers);

  for (const marker of document.querySelectorAll('.marker')) {
    marker.addEventListener('pointerdown', (event) => {
      marker.setPointerCapture(event.pointerId);
      const move = (moveEvent) => {
        const box = $('calibrate-image').getBoundingClientRect();
        const x = Math.min(Math.max(moveEvent.clientX - box.left, 0), box.width);
        const y = Math.min(Math.max(moveEvent.clientY - box.top, 0), box.height);
        calibrating.centres[Number(marker.dataset.index)] = [x / box.width * calibrating.width, y / box.height * calibrating.height];
        placeMarkers();
      };
      const up = () => { marker.removeEventListener('pointermove', move); marker.removeEventListener('pointerup', up); };
      marker.addEventListener('pointermove', move);
      marker.addEventListener('pointerup', up);
    });
  }

  $('save-calibration').addEventListener('click', async () => {
    const centres = calibrating.centres.map(([x, y]) => [Math.round(x * 10) / 10, Math.round(y * 10) / 10]);
    const product = await json('PATCH', `/products/${encodeURIComponent(calibrating.sku)}`, { spec: { lens_centres_px: centres } });
    await select(product);
  });

  // --- makeup shades with a live preview -----------------------------------------------------------
  function makeupSpec(form) {
    const kind = form.kind.value;
    const spec = { opacity: Number(form.opacity.value) };
    if (kind === 'eyeshadow') spec.colours = [form.colour.value];
    else spec.colour = form.colour.value;
    if (kind === 'lipstick') spec.finish = form.finish.value;
    if (kind === 'eyeshadow') spec.finish = form.finish.value === 'shimmer' ? 'shimmer' : 'matte';
    if (kind === 'foundation') { spec.coverage = spec.opacity; delete spec.opacity; }
    return { kind, spec };
  }

  let previewTimer = null;
  $('makeup-form').addEventListener('input', () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(async () => {
      try {
        await showImage($('makeup-preview'), await api('POST', '/preview', makeupSpec($('makeup-form'))));
        $('makeup-error').textContent = '';
      } catch (error) {
        $('makeup-error').textContent = error.message;
      }
    }, 250);
  });

  $('makeup-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.target;
    const { kind, spec } = makeupSpec(form);
    try {
      const product = await json('POST', '/products', { sku: form.sku.value, name: form.name.value, kind, spec });
      $('makeup-error').textContent = '';
      await refresh();
      await select(product);
    } catch (error) {
      $('makeup-error').textContent = error.message;
    }
  });

  $('origins-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const origins = $('origins').value.split('\n').map((line) => line.trim()).filter(Boolean);
    try {
      const saved = await json('PUT', '/origins', { origins });
      $('origins').value = saved.origins.join('\n');
      $('origins-error').textContent = '';
    } catch (error) {
      $('origins-error').textContent = error.message;
    }
  });

  if (key) signIn();
})();
