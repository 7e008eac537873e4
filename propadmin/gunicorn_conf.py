"""gunicorn settings for ``make serve`` (``gunicorn -c python:propadmin.gunicorn_conf app:app``).

Sized to the machine unless told otherwise. Every value can be set from the environment,
so one file serves a laptop, a single office server and each host of a larger deployment:

- ``PROPADMIN_BIND``: where to listen (default ``127.0.0.1:$PORT``, ``PORT`` 8000). Behind a
  reverse proxy on the same host keep loopback; a proxy on another host needs ``0.0.0.0:8000``
  and ``PROPADMIN_PROXY_FIX_X_FOR=1``.
- ``WEB_CONCURRENCY``: worker processes (default 2 per CPU core, plus one).
- ``PROPADMIN_WORKER_THREADS``: threads per worker (default 4). Requests mostly wait on
  the database, so a few threads per process serve more people for the same memory.

Each worker keeps at most ``threads + 1`` database connections, and opens up to
``DB_OVERFLOW`` more for a moment (mail sent right after a commit has its own session),
unless ``PROPADMIN_SQLALCHEMY_ENGINE_OPTIONS`` says otherwise. So one host uses up to
``workers × (threads + 1 + DB_OVERFLOW)`` PostgreSQL connections; all hosts together, plus
cron jobs, must stay under the server's ``max_connections`` (100 by default). The number is
printed when gunicorn starts.
"""

from __future__ import annotations

import json
import multiprocessing
import os

bind = os.environ.get("PROPADMIN_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("PROPADMIN_WORKER_THREADS") or 4)
worker_class = "gthread"
DB_OVERFLOW = 2
# Read by the app in each worker (create_app's PROPADMIN_* environment).
os.environ.setdefault(
    "PROPADMIN_SQLALCHEMY_ENGINE_OPTIONS",
    json.dumps({"pool_size": threads + 1, "max_overflow": DB_OVERFLOW}),
)
# A request that takes longer than this is stuck: the worker is replaced.
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak in any library cannot grow for weeks.
max_requests = 5000
max_requests_jitter = 500
# The app writes one structured line per request itself (propadmin/request_log.py);
# gunicorn's own access log would repeat it, with the query string.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("PROPADMIN_LOG_LEVEL", "info").lower()
# Proxy headers are the app's business (PROPADMIN_PROXY_FIX_X_FOR), not gunicorn's.
forwarded_allow_ips = ""
proc_name = "propadmin"


def when_ready(server) -> None:
    options = json.loads(os.environ["PROPADMIN_SQLALCHEMY_ENGINE_OPTIONS"])
    per_worker = options.get("pool_size", 5) + options.get("max_overflow", 10)
    server.log.info(
        "PropAdmin: %d workers x %d threads; up to %d database connections from this host"
        " (keep all hosts and cron jobs under the server's max_connections)",
        workers,
        threads,
        workers * per_worker,
    )
