"""A store's product page on an origin of its own (http://localhost:PORT, while the service is on
127.0.0.1): the snippet runs cross-origin, as on a real shop."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Fjord Optikk</title></head>
<body><header><h1>Fjord Optikk</h1></header>
<main><h2>{sku}</h2><p>Product page.</p>
<script src="{service}/static/tryon.js" data-merchant="{merchant}" data-sku="{sku}"></script>
<p style="height:1500px">More about the product.</p></main>
</body></html>"""


@contextmanager
def host_pages(service: str) -> Iterator[str]:
    """Serve /?merchant=M&sku=S&lang=L (a product page embedding `service`'s try-on); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            fields = {
                k: html.escape(query.get(k, d)) for k, d in (("merchant", "demo"), ("sku", "round"), ("lang", "en"))
            }
            body = PAGE.format(service=service, **fields).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
