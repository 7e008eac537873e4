"""The ``flask notices`` command group (``notices publish`` is scheduled from cron).
Each command lives in a module of its own and adds itself to the group."""

from flask.cli import AppGroup

notices_cli = AppGroup("notices", help="Notices: publish the scheduled ones whose time has come.")

COMMAND_MODULES: tuple[str, ...] = ("propadmin.cli_notices_publish",)


def init_app(app) -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name)
    app.cli.add_command(notices_cli)
