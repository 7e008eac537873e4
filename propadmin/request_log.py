"""One JSON line per request on the ``propadmin.request`` logger (stderr by default, which
gunicorn and systemd keep), for operators following a request across several hosts:

    {"time": "2026-11-29T04:05:06.789Z", "request_id": "…", "method": "GET",
     "path": "/portal/bills/12", "endpoint": "portal.bill", "query_params": 0,
     "status": 200, "duration_ms": 12.3, "user_id": 7, "remote_addr": "203.0.113.9"}

What it never holds: the query string (searches by mobile or ID-card number, ``next``
addresses), any form field, and the value of a path argument that is not a number —
``/reset-password/<token>`` and ``/activate/<token>`` are logged as their rule. A path no
route matched has its long segments (a mangled link's token, a number) blanked.

Static files and ``/healthz`` are logged only when they fail: a page pulls a dozen static
files and a load balancer checks health every few seconds, and neither carries a person's
action; the proxy's own access log has them.

``X-Request-ID`` from the proxy is kept when it is well-formed (nginx's ``$request_id``),
otherwise one is made; either way it is sent back in the response's ``X-Request-ID``.
``PROPADMIN_REQUEST_LOG=false`` turns the log off.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, request, request_started
from flask_login import user_logged_out
from sqlalchemy import inspect

logger = logging.getLogger("propadmin.request")

HEADER = "X-Request-ID"
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
_RULE_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)>]*\))?:)?(\w+)>")
_NUMERIC_CONVERTERS = {"int", "float"}
# A segment of an unmatched path that could be a secret: long, or holding 7 digits or
# more however they are spaced (a mobile number has 11, an ID-card number 18).
_LONG_SEGMENT = 24
_DIGITS_IN_A_NUMBER = 7
_QUIET_ENDPOINTS = {"healthz"}


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (as logging's last resort does),
    so a handler made once per process survives tests that swap the stream."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr


def _request_id() -> str:
    given = request.headers.get(HEADER, "")
    return given if _WELL_FORMED_ID.fullmatch(given) else uuid.uuid4().hex


def _harmless(segment: str) -> str:
    digits = sum(ch.isdigit() for ch in segment)
    suspect = len(segment) >= _LONG_SEGMENT or digits >= _DIGITS_IN_A_NUMBER
    return "<redacted>" if suspect else segment


def logged_path() -> str:
    """The request's path with the value of every non-numeric route argument replaced
    by its name, e.g. ``/reset-password/<token>``."""
    rule = request.url_rule
    if rule is None:
        return "/".join(_harmless(segment) for segment in request.path.split("/"))
    values = request.view_args or {}

    def argument(match: re.Match) -> str:
        converter, name = match.group(1) or "default", match.group(2)
        if converter in _NUMERIC_CONVERTERS and name in values:
            return str(values[name])
        return f"<{name}>"

    return request.script_root + _RULE_ARGUMENT.sub(argument, rule.rule)


def _user_id():
    # Only the user this request already loaded: the log never adds a query, and a
    # request that failed before loading anyone (the database down) logs null.
    user = g.get("_login_user")
    if user is not None and user.is_authenticated:
        return _primary_key(user)
    return g.get("signed_out_user_id")


def _primary_key(user):
    # From the identity map: ``user.id`` on a row expired by the request's commit would
    # load it again (a query per request, and an error with the database gone).
    identity = inspect(user).identity
    return identity[0] if identity else None


def _signed_out(sender, user, **extra) -> None:
    # The sign-out request is logged under the account it ended (if it was signed in:
    # a sign-out posted by a visitor ends no account).
    if user is not None and user.is_authenticated:
        g.signed_out_user_id = _primary_key(user)


def _is_quiet() -> bool:
    endpoint = request.endpoint or ""
    return endpoint in _QUIET_ENDPOINTS or endpoint == "static" or endpoint.endswith(".static")


def _start(sender, **extra) -> None:
    g.request_started = time.perf_counter()
    g.request_id = _request_id()


def _log(response):
    if "request_id" not in g:  # a request that never reached dispatch
        g.request_id = _request_id()
    response.headers[HEADER] = g.request_id
    if _is_quiet() and response.status_code < 400:
        return response
    started = g.get("request_started")
    duration = (time.perf_counter() - started) * 1000 if started else None
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "request_id": g.request_id,
        "method": request.method,
        "path": logged_path(),
        "endpoint": request.endpoint,
        "query_params": len(request.args),
        "status": response.status_code,
        "duration_ms": round(duration, 1) if duration is not None else None,
        "user_id": _user_id(),
        "remote_addr": request.remote_addr,
    }
    logger.info(json.dumps(line, ensure_ascii=False))
    return response


def init_app(app: Flask) -> None:
    if str(app.config.get("REQUEST_LOG", True)).lower() in ("false", "off", "0", "no"):
        return
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        # Not through "propadmin" (the app's logger and its "[time] LEVEL in module:"
        # handler) nor the root logger: the line stays one JSON object.
        logger.propagate = False
    request_started.connect(_start, app)
    user_logged_out.connect(_signed_out, app)
    app.after_request(_log)
