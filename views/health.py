"""``GET /healthz`` for the load balancer and monitoring: 200 ``{"status": "ok"}`` when the
database answers, 503 otherwise. No sign-in, and no details (no driver error, no host
name): the page is open to anyone who can reach the app."""

from __future__ import annotations

import logging

from flask import jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from propadmin.extensions import db, limiter
from propadmin.permissions import public

log = logging.getLogger(__name__)


@public
@limiter.exempt  # probed every few seconds by every balancer
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        db.session.rollback()
        log.warning("health check: the database does not answer", exc_info=True)
        response = jsonify(status="unavailable")
        response.status_code = 503
    else:
        response = jsonify(status="ok")
    response.headers["Cache-Control"] = "no-store"
    return response
