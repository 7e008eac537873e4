"""Which scheduled backups to keep (grandfather-father-son), and pruning the rest.

Only files named like ours (``propadmin-backup-YYYYmmddTHHMMSSZ[-N].zip``) whose manifest
can be read are considered; anything else in the directory is never touched. Times are
the UTC times in the names.

- ``keep_daily=N``: for each of the N most recent days that have backups, the newest of
  that day.
- ``keep_weekly=M``: for each of the M most recent ISO weeks that have backups, the newest
  of that week.
- The newest backup is always kept.

Days and weeks without backups do not count, so backups that stopped for a while are not
all deleted by the next run. Pruning tolerates another host deleting the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .backup_format import is_our_backup, name_time


@dataclass(frozen=True)
class Found:
    path: Path
    made: datetime


def scheduled_backups(folder: Path) -> list[Found]:
    """Our backups in ``folder``, newest first."""
    found = []
    for path in folder.iterdir():
        made = name_time(path.name)
        if made is not None and is_our_backup(path):
            found.append(Found(path, made))
    return sorted(found, key=lambda f: (f.made, f.path.name), reverse=True)


def to_keep(backups: list[Found], keep_daily: int, keep_weekly: int) -> set[Path]:
    """The paths to keep of ``backups`` (newest first)."""
    keep: set[Path] = set()
    if backups:
        keep.add(backups[0].path)
    for count, period in (
        (keep_daily, lambda d: d.date()),
        (keep_weekly, lambda d: d.isocalendar()[:2]),
    ):
        seen: list = []
        for backup in backups:
            key = period(backup.made)
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.append(key)
            keep.add(backup.path)
    return keep


def prune(folder: Path, keep_daily: int, keep_weekly: int) -> tuple[list[Path], list[Path]]:
    """Delete our backups in ``folder`` that the policy does not keep.
    Returns (kept, deleted), newest first."""
    backups = scheduled_backups(folder)
    keep = to_keep(backups, keep_daily, keep_weekly)
    kept, deleted = [], []
    for backup in backups:
        if backup.path in keep:
            kept.append(backup.path)
            continue
        try:
            backup.path.unlink()
        except FileNotFoundError:
            pass  # another host pruned it first
        deleted.append(backup.path)
    return kept, deleted
