// tryon embed loader. On a product page:
//   <script src="https://TRYON-HOST/static/tryon.js" data-merchant="SHOP" data-sku="SKU" async></script>
// adds a "Try it on" button ("Prøv på" in Norwegian: the words are static/i18n/<lang>.json, the
// language data-lang, else the page's lang, else the browser's) after the script tag, once the
// service says the product can be tried on this page (published, and this site allowed). The button
// opens the live try-on in a modal dialog of this page: an iframe of https://TRYON-HOST/embed/SHOP/SKU,
// with its own close button, Escape and the backdrop to close it, and a plain message when the
// try-on cannot load. data-merchant defaults to the demo store. Events from the try-on arrive on
// `document` as CustomEvents: "tryon:product_tried", "tryon:snapshot_taken", "tryon:add_to_cart"
// (detail.sku; detail.session, the try-on's token: GET TRYON-HOST/api/v1/sessions/fitting?merchant=SHOP&
// session=TOKEN lists the glasses that fit the shopper; detail.product, the previous name of sku, is
// kept for one release, as is data-product).
(function () {
  'use strict';
  const script = document.currentScript;
  if (!script) return;
  const origin = new URL(script.src, location.href).origin;
  const sku = script.dataset.sku || script.dataset.product;
  const merchant = script.dataset.merchant || 'demo';
  if (!sku) { console.warn('tryon.js: data-sku is missing'); return; }
  const READY_TIMEOUT_MS = 15000;  // the try-on page says it is up well within this
  const AFTER_LOAD_MS = 2000;      // a frame that loaded (an error page, a refusal) without saying so has failed
  const REASONS = {
    unknown_merchant: 'no such merchant: check data-merchant',
    unknown_product: 'no such product: check data-sku',
    unpublished: 'the product is not published yet: publish it in the dashboard',
    origin_not_allowed: `add ${location.origin} to the allowed sites in the dashboard`,
  };

  // The first language we have words for: the snippet's, the page's, then the browser's; else English.
  function language() {
    const tags = [script.dataset.lang, document.documentElement.lang, ...(navigator.languages || [navigator.language])];
    for (const tag of tags) {
      const code = String(tag || '').toLowerCase().split(/[-_]/)[0];
      if (code === 'nb' || code === 'no' || code === 'nn') return 'nb';
      if (code === 'en') return 'en';
    }
    return 'en';
  }
  const lang = language();

  // Shared by every snippet of the page: one download of the words per language.
  const shared = window.__tryonLoader || (window.__tryonLoader = { words: {} });
  const wordsKey = `${origin} ${lang}`;
  shared.words[wordsKey] = shared.words[wordsKey] || fetch(`${origin}/static/i18n/${lang}.json`).then((r) => r.json());
  const query = `merchant=${encodeURIComponent(merchant)}&sku=${encodeURIComponent(sku)}`;
  const check = fetch(`${origin}/api/v1/embeddable?${query}`, { credentials: 'omit' })
    .then((response) => response.json())
    .catch(() => ({ ok: false, reason: 'unreachable' }));

  if (!document.getElementById('tryon-style')) {
    const style = document.createElement('style');
    style.id = 'tryon-style';
    style.textContent = [
      '.tryon-button{font:inherit;padding:.7em 1.2em;border-radius:999px;border:1px solid currentColor;background:transparent;color:inherit;cursor:pointer}',
      '.tryon-overlay{position:fixed;inset:0;z-index:2147483000;background:rgba(0,0,0,.6);display:flex;align-items:center;justify-content:center}',
      '.tryon-dialog{position:relative;width:min(960px,100vw);height:min(760px,100dvh);border-radius:16px;background:#fff;overflow:hidden;box-shadow:0 20px 60px rgba(0,0,0,.4)}',
      '.tryon-dialog iframe{display:block;width:100%;height:100%;border:0}',
      '.tryon-close{position:absolute;top:8px;right:8px;width:44px;height:44px;border-radius:50%;border:2px solid #fff;background:rgba(0,0,0,.65);color:#fff;font:26px/1 system-ui,sans-serif;cursor:pointer}',
      '.tryon-close:focus-visible,.tryon-failure button:focus-visible{outline:3px solid #0a66d8;outline-offset:2px}',
      '.tryon-failure{position:absolute;inset:0;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:18px;padding:32px;text-align:center;font:17px/1.45 system-ui,sans-serif;color:#1d1d1f;background:#fff}',
      '.tryon-failure p{margin:0;max-width:28em}',
      '.tryon-failure button{padding:10px 22px;border-radius:10px;border:0;background:#1d1d1f;color:#fff;font:inherit;cursor:pointer}',
      '@media (max-width:600px){.tryon-overlay{align-items:flex-end}.tryon-dialog{width:100vw;height:calc(100dvh - 48px);border-radius:16px 16px 0 0}}',
    ].join('');
    document.head.appendChild(style);
  }

  Promise.all([check, shared.words[wordsKey]]).then(([answer, words]) => {
    if (!answer.ok) {
      console.warn(`tryon.js: no try-on button for ${merchant}/${sku} here: ${answer.reason}` +
        (REASONS[answer.reason] ? ` (${REASONS[answer.reason]})` : ''));
      return;
    }
    addButton(words);
  }, () => console.warn('tryon.js: the try-on service did not answer'));

  function addButton(words) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'tryon-button';
    button.textContent = script.dataset.label || words.try_on;
    button.dataset.tryonSku = sku;
    script.insertAdjacentElement('afterend', button);

    let dialog = null;  // {overlay, frame, close, ready, timers, inert, overflow}

    function open() {
      if (dialog) return;
      const overlay = document.createElement('div');
      overlay.className = 'tryon-overlay';
      const box = document.createElement('div');
      box.className = 'tryon-dialog';
      box.setAttribute('role', 'dialog');
      box.setAttribute('aria-modal', 'true');
      box.setAttribute('aria-label', words.dialog_label);
      const frame = document.createElement('iframe');
      frame.src = `${origin}/embed/${encodeURIComponent(merchant)}/${encodeURIComponent(sku)}` +
        `?host=${encodeURIComponent(location.origin)}&lang=${lang}`;
      frame.allow = 'camera; fullscreen';
      frame.title = words.dialog_label;
      const close = document.createElement('button');
      close.type = 'button';
      close.className = 'tryon-close';
      close.setAttribute('aria-label', words.close);
      close.textContent = '×';
      close.addEventListener('click', shut);
      box.append(frame, close);
      overlay.appendChild(box);
      overlay.addEventListener('click', (event) => { if (event.target === overlay) shut(); });
      // Modal: the rest of the page can be neither reached nor scrolled while the dialog is open.
      const inert = [...document.body.children].filter((element) => element !== overlay && !element.inert);
      document.body.appendChild(overlay);
      for (const element of inert) element.inert = true;
      dialog = { overlay, box, frame, close, ready: false, inert, overflow: document.documentElement.style.overflow, timers: [] };
      document.documentElement.style.overflow = 'hidden';
      dialog.timers.push(setTimeout(fail, READY_TIMEOUT_MS));
      frame.addEventListener('load', () => { if (dialog && !dialog.ready) dialog.timers.push(setTimeout(fail, AFTER_LOAD_MS)); });
      close.focus();
    }

    // The try-on did not come up (refused, unpublished meanwhile, offline): say so, in place of the frame.
    function fail() {
      if (!dialog || dialog.ready) return;
      dialog.frame.remove();
      const failure = document.createElement('div');
      failure.className = 'tryon-failure';
      failure.setAttribute('role', 'alert');
      const text = document.createElement('p');
      text.textContent = words.load_failed;
      const again = document.createElement('button');
      again.type = 'button';
      again.textContent = words.close;
      again.addEventListener('click', shut);
      failure.append(text, again);
      dialog.box.insertBefore(failure, dialog.close);
      again.focus();
    }

    function shut() {
      if (!dialog) return;
      const { overlay, inert, overflow, timers } = dialog;
      dialog = null;
      timers.forEach(clearTimeout);
      overlay.remove();
      for (const element of inert) element.inert = false;
      document.documentElement.style.overflow = overflow;
      button.focus();
    }

    button.addEventListener('click', open);
    document.addEventListener('keydown', (event) => {
      if (!dialog) return;
      if (event.key === 'Escape') { event.preventDefault(); shut(); return; }
      if (event.key !== 'Tab') return;
      // Focus stays in the dialog: from its last control back to its first, and the other way round.
      const stops = [...dialog.box.querySelectorAll('iframe, button')];
      const at = stops.indexOf(document.activeElement);
      const next = at < 0 ? 0 : (at + (event.shiftKey ? -1 : 1) + stops.length) % stops.length;
      event.preventDefault();
      stops[next].focus();
    });

    window.addEventListener('message', (event) => {
      const data = event.data;
      // Only this button's dialog: a page may carry several snippets.
      if (!dialog || event.origin !== origin || event.source !== dialog.frame.contentWindow) return;
      if (!data || data.source !== 'tryon') return;
      if (data.type === 'ready') {
        dialog.ready = true;
        dialog.timers.forEach(clearTimeout);
        dialog.frame.focus();
        return;
      }
      if (data.type === 'close') { shut(); return; }
      const detail = { sku: data.sku, product: data.sku, session: data.session };
      document.dispatchEvent(new CustomEvent(`tryon:${data.type}`, { detail: detail }));
    });
  }
})();
