// tryon embed loader. On a product page:
//   <script src="https://TRYON-HOST/static/tryon.js" data-merchant="SHOP" data-sku="SKU" async></script>
// adds a "Try it on" button after the script tag; the button opens the live try-on in a dialog
// (an iframe of https://TRYON-HOST/embed/SHOP/SKU; data-merchant defaults to the demo store). Events from the try-on arrive on `document` as
// CustomEvents: "tryon:product_tried", "tryon:snapshot_taken", "tryon:add_to_cart" (detail.sku; detail.product,
// the previous name, is kept for one release, as is the data-product attribute).
(function () {
  'use strict';
  const script = document.currentScript;
  if (!script) return;
  const origin = new URL(script.src, location.href).origin;
  const sku = script.dataset.sku || script.dataset.product;
  const merchant = script.dataset.merchant || 'demo';
  if (!sku) { console.warn('tryon.js: data-sku is missing'); return; }

  if (!document.getElementById('tryon-style')) {
    const style = document.createElement('style');
    style.id = 'tryon-style';
    style.textContent = [
      '.tryon-button{font:inherit;padding:.7em 1.2em;border-radius:999px;border:1px solid currentColor;background:transparent;cursor:pointer}',
      '.tryon-overlay{position:fixed;inset:0;z-index:2147483000;background:rgba(0,0,0,.55);display:flex;align-items:center;justify-content:center}',
      '.tryon-overlay iframe{width:min(960px,100vw);height:min(760px,100dvh);border:0;border-radius:16px;background:#fff}',
      '@media (max-width:600px){.tryon-overlay iframe{border-radius:0;width:100vw;height:100dvh}}',
    ].join('');
    document.head.appendChild(style);
  }

  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'tryon-button';
  button.textContent = script.dataset.label || 'Try it on';
  button.dataset.tryonSku = sku;
  script.insertAdjacentElement('afterend', button);

  let overlay = null;
  let frame = null;
  function open() {
    if (overlay) return;
    overlay = document.createElement('div');
    overlay.className = 'tryon-overlay';
    overlay.setAttribute('role', 'dialog');
    overlay.setAttribute('aria-label', 'Virtual try-on');
    frame = document.createElement('iframe');
    frame.src = `${origin}/embed/${encodeURIComponent(merchant)}/${encodeURIComponent(sku)}` +
      `?host=${encodeURIComponent(location.origin)}`;
    frame.allow = 'camera; fullscreen';
    frame.title = 'Virtual try-on';
    overlay.appendChild(frame);
    overlay.addEventListener('click', (event) => { if (event.target === overlay) close(); });
    document.body.appendChild(overlay);
  }
  function close() {
    if (overlay) { overlay.remove(); overlay = null; frame = null; }
  }
  button.addEventListener('click', open);
  document.addEventListener('keydown', (event) => { if (event.key === 'Escape') close(); });

  window.addEventListener('message', (event) => {
    const data = event.data;
    // Only this button's dialog: a page may carry several snippets.
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
    if (!data || data.source !== 'tryon') return;
    if (data.type === 'close') { close(); return; }
    document.dispatchEvent(new CustomEvent(`tryon:${data.type}`, { detail: { sku: data.sku, product: data.sku } }));
  });
})();
