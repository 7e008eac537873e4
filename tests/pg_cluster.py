"""A PostgreSQL cluster of the test's own, to stop and start at will.

The machine's PostgreSQL serves every other test, so a test that takes the database down
makes its own: ``initdb`` into a temporary folder (as the ``postgres`` user when we are
root: the server refuses to run as root), a free loopback port, a socket folder inside
the cluster's. ``private_cluster()`` stops it and removes the folder whatever happens.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from .helpers import free_port, unavailable

PG_TIMEOUT = 30  # seconds pg_ctl may take to start or stop the server


def _bin_dir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


class PrivateCluster:
    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None or not (bin_dir / "initdb").exists():
            unavailable("initdb and pg_ctl (PostgreSQL server binaries) are not installed")
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="propadmin-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/propadmin"

    def _run(self, *args: str) -> None:
        command = [*args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=PG_TIMEOUT + 15, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({done.returncode}): {done.stdout}{done.stderr}"
                f"\n{self.log.read_text() if self.log.exists() else ''}"
            )

    def create(self) -> PrivateCluster:
        self.sockets.mkdir(parents=True)
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        self.start()
        server = self.url.replace("/propadmin", "/postgres")
        engine = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE propadmin"))
        engine.dispose()
        return self

    def copy_from(self, url: str) -> None:
        """Fill the empty database with another server's database (``pg_dump | psql``)."""
        source = sa.engine.make_url(url)
        dump = subprocess.Popen(
            [str(self.bin / "pg_dump"), "--no-owner", "-h", source.host or "127.0.0.1",
             "-p", str(source.port or 5432), "-U", source.username or "postgres",
             source.database],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        load = subprocess.run(
            [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(self.port), "-U", "postgres", "-d", "propadmin"],
            stdin=dump.stdout, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        dump.stdout.close()
        if dump.wait(timeout=30) != 0 or load.returncode != 0:
            raise RuntimeError(f"copying {source.database} failed: {load.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-t", str(PG_TIMEOUT), "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode,
            "-t", str(PG_TIMEOUT), "-w", "stop",
        )  # fmt: skip

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def private_cluster():
    """A fresh, running cluster with an empty database ``propadmin``; removed at the end."""
    cluster = PrivateCluster()
    try:
        yield cluster.create()
    finally:
        cluster.remove()


def wait_until(check, timeout: float, step: float = 0.2) -> bool:
    """Call ``check()`` until it is true or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False
