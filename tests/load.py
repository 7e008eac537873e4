"""The load check by hand, bigger than the test's:

    .venv/bin/python -m tests.load [--rounds N] [--cashiers N] [--bills N]
                                   [--workers N] [--backend postgresql|sqlite]

A database with the demo estate of its own (removed at the end), gunicorn as ``make serve``
runs it, then the owners (``owner``, ``owner2``, ``tenant``) and the cashiers at once, as in
tests/test_load_faults.py; it prints what came back and checks the database against every
acknowledged write. Exits non-zero on any error, lost or duplicated write.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time

from .bench_serving import demo_database, served_env
from .load_kit import OWNERS, assert_nothing_lost, open_bills, run_load, snapshot
from .served import serving


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="visits per owner")
    parser.add_argument("--cashiers", type=int, default=2)
    parser.add_argument("--bills", type=int, default=5, help="bills the cashiers share")
    parser.add_argument("--workers", type=int, default=multiprocessing.cpu_count() * 2 + 1)
    parser.add_argument("--seconds", type=float, default=300, help="stop after this long")
    parser.add_argument("--backend", default="postgresql", choices=["postgresql", "sqlite"])
    args = parser.parse_args()
    with demo_database(args.backend) as (url, tmp):
        bills = open_bills(url, args.bills)
        before = snapshot(url)
        with serving(served_env(url, tmp), tmp, workers=args.workers) as (host,):
            start = time.monotonic()
            tally = run_load(
                host.url, owners=OWNERS, cashiers=args.cashiers, bills=bills,
                rounds=args.rounds, deadline=args.seconds,
            )  # fmt: skip
            took = time.monotonic() - start
        latencies = sorted(tally.latencies)
        print(
            f"{len(latencies)} requests in {took:.1f} s ({len(latencies) / took:.1f}/s) on"
            f" {args.backend}, gunicorn {args.workers} workers"
        )
        if latencies:
            p50, p99 = (
                latencies[min(int(len(latencies) * q), len(latencies) - 1)] for q in (0.5, 0.99)
            )
            print(f"latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
        print(f"answers {dict(sorted(tally.statuses.items()))}; errors {len(tally.errors)}")
        print(
            f"repairs reported {sum(map(len, tally.repairs.values()))}; payments recorded"
            f" {len(tally.payments)}, refused {len(tally.refused)} (raced or overpaid)"
        )
        for error in tally.errors[:10]:
            print("  error:", error)
        try:
            assert_nothing_lost(before, snapshot(url), tally)
        except AssertionError as exc:
            print(f"LOST OR DUPLICATED WRITE: {exc}")
            return 1
        print("database: every acknowledged write there once, bills add up")
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
