"""Gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

- The access log goes to stdout with feed secrets redacted (directory/accesslog.py).
- Gunicorn refuses to start with more than one worker while the limiter
  counts in memory (RATELIMIT_STORAGE_URI=memory://): each worker would
  count wrong passwords on its own, so 5 allowed tries would become 5 per worker.
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
