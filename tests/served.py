"""PropAdmin served for real: gunicorn processes on loopback, as ``make serve`` runs them,
against a PostgreSQL database of their own (the demo estate, seeded) and the machine's
Redis. For the multi-host, load and fault tests and the load bench.

``Served`` is one gunicorn "host"; two of them on one database and one Redis are two hosts
of one deployment. The environment they get is the one an operator would set.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from .helpers import DEMO_PASSWORD, unavailable

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
FLASK = Path(sys.executable).with_name("flask")
REDIS_URL = os.environ.get("PROPADMIN_TEST_REDIS", "redis://127.0.0.1:6379/0")
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_available() -> None:
    """Redis is part of the multi-host suite: missing means failed, not skipped."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is not reachable: {exc}")


def limit_storage() -> str:
    """Where a benchmark's served app keeps its rate-limit counters: the Redis a deployment
    has (README, "Redis is not optional here"), or memory when this machine has none.
    In memory, each gunicorn worker counts alone, and every counted hit starts a timer
    thread (limits' MemoryStorage): a cost a deployment does not have."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError:
        return "memory://"
    return REDIS_URL


def deployment_env(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """What an operator sets on every host: one database, one Redis, the same keys.

    A key prefix of its own keeps each test's rate-limit counters apart in the shared Redis.
    """
    from .conftest import TEST_KEYS

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PROPADMIN_") or key.startswith("PROPADMIN_TEST")
    }
    env.update(
        PROPADMIN_SQLALCHEMY_DATABASE_URI=database_url,
        PROPADMIN_INSTANCE_PATH=str(instance),
        PROPADMIN_SECRET_KEY=TEST_KEYS["SECRET_KEY"],
        PROPADMIN_FIELD_ENCRYPTION_KEYS=json.dumps(TEST_KEYS["FIELD_ENCRYPTION_KEYS"]),
        PROPADMIN_BLIND_INDEX_KEY=TEST_KEYS["BLIND_INDEX_KEY"],
        PROPADMIN_RATELIMIT_STORAGE_URI=REDIS_URL,
        PROPADMIN_RATELIMIT_KEY_PREFIX=f"propadmin-test-{uuid.uuid4().hex[:8]}",
        PROPADMIN_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
        PROPADMIN_BASE_URL="https://estate.example.test",
        PROPADMIN_SESSION_COOKIE_SECURE="false",
        PROPADMIN_MAIL_SERVER="127.0.0.1",
        PROPADMIN_MAIL_PORT="1",  # nothing listens unless a test says where
        PROPADMIN_MAIL_DISPATCH="off",
    )
    env.update(extra)
    return env


@dataclass
class Served:
    """One gunicorn host. ``url`` is its base URL; ``log`` what it wrote (stdout and
    stderr: gunicorn's own lines and the app's request log). ``app_spec`` is the WSGI app
    gunicorn loads (``tests.bench_app:app`` for the bench)."""

    env: dict[str, str]
    workers: int = 2
    app_spec: str = "app:app"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log_path: Path) -> Served:
        self.log_path = log_path
        env = dict(
            self.env,
            PROPADMIN_BIND=f"127.0.0.1:{self.port}",
            WEB_CONCURRENCY=str(self.workers),
        )
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(GUNICORN), "-c", "python:propadmin.gunicorn_conf", self.app_spec],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                health = f"{self.url}/healthz"  # http on loopback, built here
                with urllib.request.urlopen(health, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"gunicorn did not answer /healthz in {START_TIMEOUT:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")


@contextmanager
def serving(
    env: dict[str, str],
    log_dir: Path,
    hosts: int = 1,
    workers: int = 2,
    app_spec: str = "app:app",
):
    """Start ``hosts`` gunicorn instances with the same environment; yield them."""
    started: list[Served] = []
    try:
        for n in range(hosts):
            host = Served(env, workers=workers, app_spec=app_spec)
            started.append(host.start(log_dir / f"host{n + 1}.log"))
        yield started
    finally:
        for host in started:
            host.stop()


def flask_command(env: dict[str, str], *args: str, timeout: float = 120):
    """``flask --app app ARGS`` in a process of its own, as cron on a host runs it."""
    return subprocess.Popen(
        [str(FLASK), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


# -- a PostgreSQL database with the demo estate, per test ------------------------------
@pytest.fixture(scope="session")
def pg_demo_template(tmp_path_factory):
    """A migrated PostgreSQL database with the demo estate, seeded once per run."""
    from propadmin.extensions import db
    from propadmin.services.demo import seed_demo

    from .conftest import _create_pg_database, _drop_pg_database, _make_app, _migrated

    try:
        url = _create_pg_database()
    except sa.exc.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable: {exc.orig}")
    try:
        _migrated(url, tmp_path_factory)
        app = _make_app(url, tmp_path_factory.mktemp("served-seed"))
        with app.app_context():
            db.session.info["actor_name"] = "cli"
            seed_demo(db.session, units=24, password=DEMO_PASSWORD)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        yield url
    finally:
        _drop_pg_database(url)


def read_with_demo_keys() -> None:
    """The test reads the served database through the models, which decrypt with the
    cipher the last ``create_app()`` of this process installed: in a long run, possibly
    another test's keys. Install the keys the demo was seeded and is served with."""
    from models import install_field_cipher
    from propadmin.crypto import FieldCrypto

    from .conftest import TEST_KEYS

    keys = TEST_KEYS["FIELD_ENCRYPTION_KEYS"]
    install_field_cipher(FieldCrypto(keys, TEST_KEYS["BLIND_INDEX_KEY"]))


@pytest.fixture
def pg_demo(pg_demo_template):
    """A PostgreSQL copy of the demo database that this test may commit to and serve."""
    from .conftest import _create_pg_database, _drop_pg_database

    read_with_demo_keys()
    url = _create_pg_database(template=sa.engine.make_url(pg_demo_template).database)
    try:
        yield url
    finally:
        _drop_pg_database(url)
