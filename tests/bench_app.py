"""The app as ``make serve`` runs it, plus one trivial page for the serving bench.

``gunicorn -c python:propadmin.gunicorn_conf tests.bench_app:app``: ``/bench/minimal``
answers ``ok`` through the same middleware, request hooks and logging as every page, so
the bench can set the owner portal beside the least a request costs in this app. The
production entry point (app.py) has no such page.
"""

from app import app  # the production entry point, as make serve loads it (gc.freeze() too)
from propadmin.permissions import public


@app.get("/bench/minimal")
@public
def minimal():
    return "ok"
