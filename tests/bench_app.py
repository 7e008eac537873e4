"""The app as ``make serve`` runs it, plus pages the benches set beside the real ones.

``gunicorn -c python:propadmin.gunicorn_conf tests.bench_app:app``. The production entry
point (app.py) has none of these pages:

- ``/bench/minimal`` answers ``ok`` through the same middleware, request hooks and logging
  as every page: the least a signed-in request costs in this app (the serving bench sets
  the owner portal beside it, the pages bench prints it first);
- ``/bench/hand/residents`` and ``/bench/hand/bills`` are the pages bench's hand-written
  pages (tests/bench_pages.py ``reference_views``: the same statements and template),
  served here behind the same sign-in and hooks, through the app's database engine: what
  the same page costs inside the app (the sign-in, and its statements through the app's
  engine and session). ``/bench/frozen`` below separates the sign-in from them. They
  read the bench's rows as the hand-written page does, without
  the admin's estate scope: a bench page, never served by the app;
- ``/bench/frozen/<name>`` answers with the bytes of an admin page the pages bench fetched
  just before (``instance/bench-frozen/<name>.html``), behind the same sign-in and hooks:
  what that page would cost if reading its rows and drawing it cost nothing.
"""

from pathlib import Path

from flask import Response, abort

from app import app  # the production entry point, as make serve loads it (gc.freeze() too)
from propadmin.extensions import db
from propadmin.permissions import public, requires


@app.get("/bench/minimal")
@public
def minimal():
    return "ok"


FROZEN = Path(app.instance_path) / "bench-frozen"
_frozen: dict[str, bytes] = {}  # read once per worker


@app.get("/bench/frozen/<name>")
@requires("residents.view")  # both of the pages bench's accounts hold it
def frozen(name: str):
    if not name.isalnum():
        abort(404)
    body = _frozen.get(name)
    if body is None:
        path = FROZEN / f"{name}.html"
        if not path.is_file():
            abort(404)
        body = _frozen[name] = path.read_bytes()
    return Response(body, mimetype="text/html")


def _hand_written_pages() -> None:
    from .bench_pages import reference_views

    with app.app_context():
        engine = db.engine
    residents, bills = reference_views(app, engine)
    app.add_url_rule(
        "/bench/hand/residents", "bench_hand_residents", requires("residents.view")(residents)
    )
    app.add_url_rule("/bench/hand/bills", "bench_hand_bills", requires("billing.view")(bills))


_hand_written_pages()
