"""Entry point of the web service.

Production: `gunicorn --worker-class gthread --threads 8 -b 0.0.0.0:8000 'server:create_app()'`
(what scripts/serve.sh runs). Development: `python server.py`.
"""

from tryon.web import create_app

__all__ = ["create_app"]

if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=8000, debug=False)
