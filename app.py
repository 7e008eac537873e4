import gc

from propadmin import create_app

app = create_app()

# Everything loaded so far (Flask, Flask-Admin, SQLAlchemy's mappers, the views and their
# forms: a few hundred thousand objects) lives as long as the process. Frozen, Python's full
# garbage collections no longer walk it: each took about 140 ms and ran every ~100 admin
# pages, stalling that worker's requests (tests/bench_pages.py).
gc.freeze()
