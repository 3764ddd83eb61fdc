// The merchant dashboard: sign in with an API key, manage products, calibrate glasses, preview
// makeup shades live, publish, copy the embed snippet, set embed origins, rotate and revoke API keys,
// read the analytics, sign out.
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
      // The key stopped working while signed in (revoked, perhaps from elsewhere): back to the sign-in form.
      if (response.status === 401 && merchant) signOut(`You were signed out: ${error.error.message}.`);
      throw new Error(error.error.message);
    }
    return response;
  }
  const json = async (method, path, body) => (await api(method, path, body)).json();

  async function signIn() {
    try {
      merchant = await json('GET', '/me');
    } catch (error) {
      if (merchant) signOut();
      else sessionStorage.removeItem('tryon-key');
      $('login-notice').hidden = true;
      $('login-error').textContent = error.message;
      return;
    }
    sessionStorage.setItem('tryon-key', key);
    $('login').hidden = true;
    $('login-error').textContent = '';
    $('login-notice').hidden = true;
    $('app').hidden = false;
    $('sign-out').hidden = false;
    $('who').textContent = `${merchant.name} (${merchant.slug})`;
    $('origins').value = merchant.origins.join('\n');
    await Promise.all([refresh(), refreshKeys()]);
  }

  // Forget the key and go back to the sign-in form, with `notice` saying why when it was not asked for.
  function signOut(notice = '') {
    key = '';
    merchant = null;
    sessionStorage.removeItem('tryon-key');
    $('key').value = '';
    $('login-error').textContent = '';
    $('login-notice').textContent = notice;
    $('login-notice').hidden = !notice;
    $('login').hidden = false;
    $('app').hidden = true;
    $('sign-out').hidden = true;
    $('who').textContent = '';
    $('new-key-value').value = '';
    $('new-key-box').hidden = true;
    $('keys-error').textContent = '';
    $('selected').hidden = true;
    $('calibration').hidden = true;
    $('preview').hidden = true;
  }

  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    key = $('key').value.trim();
    signIn();
  });

  $('sign-out').addEventListener('click', () => signOut());

  let products = [];
  async function refresh() {
    ({ products } = await json('GET', '/products'));
    $('products').hidden = !products.length;
    $('products-empty').hidden = Boolean(products.length);
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
        const status = $('publish-status');
        try {
          await json('PATCH', `/products/${encodeURIComponent(product.sku)}`, { published: publish.checked });
          product.published = publish.checked;
          status.textContent = publish.checked
            ? `${product.name} is published: shoppers on your allowed sites can try it on.`
            : `${product.name} is unpublished: shoppers no longer see its try-on button.`;
          status.classList.remove('error');
        } catch (error) {
          publish.checked = !publish.checked;
          status.textContent = `Could not change ${product.name}: ${error.message}.`;
          status.classList.add('error');
        }
        refreshChecklist();
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
    $('analytics').hidden = !Object.keys(usage).length;
    $('analytics-empty').hidden = Boolean(Object.keys(usage).length);
    const analytics = $('analytics').querySelector('tbody');
    analytics.textContent = '';
    for (const [sku, counts] of Object.entries(usage)) {
      const row = analytics.insertRow();
      for (const value of [sku, counts.session, counts.product_tried, counts.snapshot_taken, counts.add_to_cart]) {
        row.insertCell().textContent = value;
      }
    }
    await refreshChecklist();
  }

  // What is still missing before shoppers see the try-on: a published product, an allowed site, and
  // the snippet seen on a page (the service notes where its loader last ran).
  const NOT_SEEN = $('check-snippet-text').textContent;
  async function refreshChecklist() {
    const { last_seen: seen } = await json('GET', '/embedding');
    const origins = $('origins').value.split('\n').map((line) => line.trim()).filter(Boolean);
    const mark = (id, done) => {
      $(id).classList.toggle('done', done);
      $(id).querySelector('.state').textContent = done ? '✓' : '';
      $(id).querySelector('.state').setAttribute('role', 'img');
      $(id).querySelector('.state').setAttribute('aria-label', done ? 'done' : 'to do');
    };
    mark('check-published', products.some((product) => product.published));
    mark('check-origin', origins.length > 0);
    mark('check-snippet', Boolean(seen && seen.allowed));
    $('check-snippet-text').textContent = !seen
      ? NOT_SEEN
      : seen.allowed
        ? `Seen on ${seen.origin} (${localTime(seen.seen_at)}).`
        : `Seen on ${seen.origin} (${localTime(seen.seen_at)}), but that site is not allowed, so it shows no button: add it below.`;
    const live = [...$('checklist').querySelectorAll('li')].every((item) => item.classList.contains('done'));
    $('checklist').classList.toggle('complete', live);
    $('check-live').hidden = !live;
    $('check-live').textContent = live ? `Your try-on is live on ${seen.origin}.` : '';
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
    element.hidden = false;
  }

  // Sliders say their value as a percentage beside them.
  for (const slider of document.querySelectorAll('.range input')) {
    const readout = slider.nextElementSibling;
    const show = () => { readout.textContent = `${Math.round(Number(slider.value) * 100)}%`; };
    slider.addEventListener('input', show);
    show();
  }

  async function select(product) {
    $('selected').hidden = false;
    $('selected-title').textContent = `${product.name} (${product.sku})`;
    $('snippet').value = `<script src="${location.origin}/static/tryon.js" data-merchant="${merchant.slug}" ` +
      `data-sku="${product.sku}"></` + 'script>';
    await showImage($('preview'), await api('GET', `/products/${encodeURIComponent(product.sku)}/preview`));
  }

  // Copy a text field's value to the clipboard; the button that asked says so for a moment.
  async function copyField(field, trigger) {
    field.select();
    try { await navigator.clipboard.writeText(field.value); } catch (error) { document.execCommand('copy'); }
    const label = trigger.dataset.label || (trigger.dataset.label = trigger.textContent);
    trigger.textContent = 'Copied';
    setTimeout(() => { trigger.textContent = label; }, 1500);
  }

  $('copy-snippet').addEventListener('click', (event) => copyField($('snippet'), event.currentTarget));

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
        $('makeup-hint').hidden = true;
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
      $('origins-status').textContent = saved.origins.length
        ? `Saved. The try-on may be embedded on ${saved.origins.join(', ')}.`
        : 'Saved. No site may embed the try-on now.';
      await refreshChecklist();
    } catch (error) {
      $('origins-status').textContent = '';
      $('origins-error').textContent = `Not saved: ${error.message}. Write each site as https://www.example.no, one per line.`;
    }
  });

  // --- API keys: list, issue a new one (shown once), switch to it, revoke -----------------------------
  // Server times are UTC; those without an offset (SQLite keeps none) are read as UTC, shown in local time.
  function localTime(iso) {
    if (!iso) return 'never';
    const utc = /(Z|[+-]\d\d:?\d\d)$/i.test(iso) ? iso : `${iso}Z`;
    const date = new Date(utc.replace(/(\.\d{3})\d+/, '$1'));
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  async function refreshKeys() {
    let keys;
    try {
      ({ keys } = await json('GET', '/keys'));
    } catch (error) {
      $('keys-error').textContent = error.message;
      return;
    }
    const lastUsed = keys.some((info) => 'last_used' in info);
    $('keys').querySelector('th.last-used').hidden = !lastUsed;
    const body = $('keys').querySelector('tbody');
    body.textContent = '';
    for (const info of keys) {
      const current = !info.revoked && key.startsWith(info.prefix);
      const row = body.insertRow();
      row.dataset.prefix = info.prefix;
      row.classList.toggle('revoked', Boolean(info.revoked));
      row.classList.toggle('current', current);
      const cell = (name) => Object.assign(row.insertCell(), { className: name });
      const name = cell('key');
      const prefix = document.createElement('code');
      prefix.textContent = `${info.prefix}…`;
      name.appendChild(prefix);
      if (current) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = 'this key';
        badge.title = 'The key this dashboard is signed in with';
        name.append(' ', badge);
      }
      const created = cell('created');
      created.textContent = localTime(info.created_at);
      created.title = info.created_at || '';
      if (lastUsed) cell('last-used').textContent = localTime(info.last_used);
      cell('status').textContent = info.revoked ? 'revoked' : 'active';
      const actions = cell('actions');
      if (!info.revoked) actions.appendChild(button('Revoke', () => confirmRevoke(row, info, current)));
    }
  }

  // The confirm step, in a row under the key's: revoking the key in use also signs out.
  function confirmRevoke(row, info, current) {
    for (const open of $('keys').querySelectorAll('tr.confirm')) open.remove();
    const confirmRow = row.parentNode.insertRow(row.sectionRowIndex + 1);
    confirmRow.className = 'confirm';
    const cell = confirmRow.insertCell();
    cell.colSpan = $('keys').tHead.rows[0].cells.length;
    const message = document.createElement('p');
    message.textContent = current
      ? `Revoke ${info.prefix}…? It is the key you are signed in with: it stops working at once and you will be signed out.`
      : `Revoke ${info.prefix}…? It stops working at once, wherever it is used.`;
    const revoke = button(current ? 'Revoke and sign out' : 'Revoke key', async () => {
      revoke.disabled = true;
      try {
        await api('DELETE', `/keys/${encodeURIComponent(info.prefix)}`);
      } catch (error) {
        $('keys-error').textContent = error.message;
        await refreshKeys();  // it may have been revoked elsewhere meanwhile
        return;
      }
      if (current) {
        signOut(`You revoked the key you were signed in with (${info.prefix}…), so you are signed out.`);
        return;
      }
      $('keys-error').textContent = '';
      await refreshKeys();
    });
    revoke.className = 'danger';
    cell.append(message, revoke, button('Cancel', () => confirmRow.remove()));
  }

  $('new-key').addEventListener('click', async (event) => {
    const trigger = event.currentTarget;
    trigger.disabled = true;
    try {
      const issued = await json('POST', '/keys');
      $('keys-error').textContent = '';
      $('new-key-value').value = issued.key;
      $('new-key-box').hidden = false;
      $('use-new-key').hidden = false;
      $('new-key-value').select();
    } catch (error) {
      $('keys-error').textContent = error.message;
    } finally {
      trigger.disabled = false;
    }
    await refreshKeys();
  });

  $('copy-key').addEventListener('click', (event) => copyField($('new-key-value'), event.currentTarget));

  // Sign in again with the new key (it stays shown, to be copied), so that the old one can be revoked.
  $('use-new-key').addEventListener('click', async () => {
    $('use-new-key').hidden = true;
    key = $('new-key-value').value;
    await signIn();
  });

  if (key) signIn();
})();
