"""The ``flask repairs`` and ``flask facilities`` command groups (both scheduled from cron).
Each command lives in a module of its own and adds itself to its group."""

from flask.cli import AppGroup

repairs_cli = AppGroup("repairs", help="Repair jobs: escalate urgent ones nobody answered.")
facilities_cli = AppGroup("facilities", help="Facilities: the daily digest to the admins.")

COMMAND_MODULES: tuple[str, ...] = (
    "propadmin.cli_repairs_escalate",
    "propadmin.cli_facilities_digest",
)


def init_app(app) -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name)
    app.cli.add_command(repairs_cli)
    app.cli.add_command(facilities_cli)
