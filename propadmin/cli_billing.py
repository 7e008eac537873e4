"""``flask --app app bills …``: generating bills and reminding payers.

Each command lives in a module of its own and adds itself to ``bills_cli``."""

from __future__ import annotations

from flask.cli import AppGroup

bills_cli = AppGroup("bills", help="Bills: generate them for a period, remind payers.")

# The modules that add commands to the group (imported for their side effect).
COMMAND_MODULES: tuple[str, ...] = ("propadmin.cli_bills_generate", "propadmin.cli_bills_remind")


def init_app(app) -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name)
    app.cli.add_command(bills_cli)
