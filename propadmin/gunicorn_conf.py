"""gunicorn settings for ``make serve`` (``gunicorn -c python:propadmin.gunicorn_conf app:app``).

Sized to the machine unless told otherwise. Every value can be set from the environment,
so one file serves a laptop, a single office server and each host of a larger deployment:

- ``PROPADMIN_BIND``: where to listen (default ``127.0.0.1:$PORT``, ``PORT`` 8000). Behind a
  reverse proxy on the same host keep loopback; a proxy on another host needs ``0.0.0.0:8000``
  and ``PROPADMIN_PROXY_FIX_X_FOR=1``.
- ``WEB_CONCURRENCY``: worker processes (default 2 per CPU core, plus one).
- ``PROPADMIN_WORKER_THREADS``: threads per worker (default 4). Requests mostly wait on
  the database, so a few threads per process serve more people for the same memory.
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("PROPADMIN_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("PROPADMIN_WORKER_THREADS") or 4)
worker_class = "gthread"
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
