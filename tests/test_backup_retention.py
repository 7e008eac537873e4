"""Scheduled backups into a directory: timestamped files, the newest per day and per ISO
week kept, nothing else in the directory touched, and one backup at a time per database
even when two hosts run the cron job at once."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from propadmin.services.backup_format import is_our_backup, timestamped_name
from propadmin.services.backup_retention import prune

from .served import deployment_env, flask_command

pytestmark = pytest.mark.committed


@pytest.fixture
def one_backup(app, runner, tmp_path):
    """A real backup file of the (empty) test database, to copy under other names."""
    result = runner.invoke(args=["backup", "create", str(tmp_path / "one.zip")])
    assert result.exit_code == 0, result.output
    return tmp_path / "one.zip"


def _stamped(folder, one_backup, *times: str) -> dict[str, str]:
    """Copies of ``one_backup`` named for each ``YYYY-mm-dd HH:MM`` (UTC); name by time."""
    names = {}
    for when in times:
        made = datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        names[when] = timestamped_name(made)
        shutil.copyfile(one_backup, folder / names[when])
    return names


def test_retention_keeps_the_newest_per_day_and_per_week(one_backup, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    names = _stamped(
        folder,
        one_backup,
        "2026-11-29 02:00",  # Sunday, ISO week 48
        "2026-11-29 01:00",  # the same day, older
        "2026-11-28 02:00",
        "2026-11-27 02:00",
        "2026-11-26 02:00",  # fourth day: past --keep-daily 3, and not its week's newest
        "2026-11-20 02:00",  # week 47's newest
        "2026-11-19 02:00",
        "2026-11-10 02:00",  # week 46: past --keep-weekly 2
    )
    (folder / "notes.txt").write_text("the office's own file")
    (folder / timestamped_name(datetime(2020, 1, 1, tzinfo=UTC))).write_text("not a backup")

    kept, deleted = prune(folder, keep_daily=3, keep_weekly=2)

    assert [p.name for p in kept] == [
        names[t] for t in ("2026-11-29 02:00", "2026-11-28 02:00", "2026-11-27 02:00")
    ] + [names["2026-11-20 02:00"]]
    assert sorted(p.name for p in deleted) == sorted(
        names[t]
        for t in ("2026-11-29 01:00", "2026-11-26 02:00", "2026-11-19 02:00", "2026-11-10 02:00")
    )
    left = {p.name for p in folder.iterdir()}
    assert left == {p.name for p in kept} | {"notes.txt", "propadmin-backup-20200101T000000Z.zip"}


def test_scheduled_backup_writes_a_timestamped_file_and_prunes(one_backup, runner, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    names = _stamped(folder, one_backup, "2020-03-02 02:00", "2020-03-01 02:00")
    result = runner.invoke(
        args=["backup", "create", str(folder), "--keep-daily", "2", "--keep-weekly", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "Retention: kept 2 backup(s), deleted 1." in result.output
    left = sorted(p.name for p in folder.iterdir())
    assert len(left) == 2 and names["2020-03-02 02:00"] in left
    new = next(name for name in left if name not in names.values())
    assert new.startswith("propadmin-backup-") and is_our_backup(folder / new)


def test_retention_options_need_a_directory(app, runner, tmp_path):
    result = runner.invoke(args=["backup", "create", str(tmp_path / "x.zip"), "--keep-daily", "7"])
    assert result.exit_code != 0
    assert "is not a directory" in result.output and "x.zip" in result.output
    assert not (tmp_path / "x.zip").exists()


def test_a_backup_never_overwrites_a_file(app, one_backup, runner):
    before = one_backup.read_bytes()
    result = runner.invoke(args=["backup", "create", str(one_backup)])
    assert result.exit_code != 0
    assert f"{one_backup} already exists" in result.output
    assert one_backup.read_bytes() == before


def test_a_second_backup_while_one_runs_says_so(app, runner, tmp_path):
    from propadmin.extensions import db
    from propadmin.services.backup_engines import backup_lock

    folder = tmp_path / "backups"
    folder.mkdir()
    with app.app_context(), backup_lock(db.engine) as locked:
        assert locked
        scheduled = runner.invoke(args=["backup", "create", str(folder)])
        named = runner.invoke(args=["backup", "create", str(tmp_path / "asked.zip")])
    assert scheduled.exit_code == 0
    assert "Another backup of this database is running" in scheduled.output
    assert list(folder.iterdir()) == []
    assert named.exit_code != 0 and "asked.zip was not written" in named.output


def test_two_hosts_running_the_scheduled_backup_at_once(app, tmp_path):
    from propadmin.extensions import db

    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)
    env = deployment_env(url, tmp_path / "instance", PROPADMIN_RATELIMIT_STORAGE_URI="memory://")
    folder = tmp_path / "backups"
    folder.mkdir()
    args = ("backup", "create", str(folder), "--keep-daily", "1")
    hosts = [flask_command(env, *args) for _ in range(2)]
    outputs = [host.communicate(timeout=120)[0] for host in hosts]
    assert [host.returncode for host in hosts] == [0, 0], outputs
    for output in outputs:
        assert "Backup written" in output or "Another backup" in output, output
    left = list(folder.iterdir())
    assert len(left) == 1 and is_our_backup(left[0]), outputs  # one day: one kept
