"""Gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

- The access log goes to stdout with feed secrets redacted (directory/accesslog.py).
- Gunicorn refuses to start with more than one worker while the limiter
  counts in memory (RATELIMIT_STORAGE_URI=memory://): each worker would
  count wrong passwords on its own, so 5 allowed tries would become 5 per worker.
- Each worker compiles every template and freezes what it holds once the app
  is loaded (`directory.warm_up`), so garbage collection never walks the
  loaded app in the middle of a request.
"""

import os

from config import check_rate_limit_storage
from directory.operations.access_log import RedactingLogger

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
timeout = 120
accesslog = "-"
logger_class = RedactingLogger


def on_starting(server):
    """Before any worker starts: refuse a limiter that workers cannot share."""
    try:
        check_rate_limit_storage(
            os.environ.get("RATELIMIT_STORAGE_URI", "memory://"), server.cfg.workers
        )
    except RuntimeError as error:
        server.log.critical("Refusing to start: %s", error)
        raise SystemExit(3) from None


def post_worker_init(worker):
    """In each worker, once it has loaded the app and before its first request."""
    from directory import warm_up

    app = worker.wsgi
    if hasattr(app, "jinja_env"):  # our Flask app, not some other WSGI callable
        frozen = warm_up(app)
        worker.log.info("Worker ready: templates compiled, %d objects frozen", frozen)
