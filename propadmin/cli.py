"""Command line: ``flask --app app <command>``."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from models import Estate

from .extensions import db
from .mail import send_pending
from .services import ServiceError
from .services.accounts import create_user
from .services.demo import ESTATE_NAME, seed_demo


def _as_cli_actor() -> None:
    db.session.info["actor_name"] = "cli"


def _fail(message: str) -> None:
    db.session.rollback()
    raise click.ClickException(message)


def _print_logins(password: str | None) -> None:
    port = os.environ.get("PORT", "5000")  # what `make run` serves on
    click.echo(f"Demo sign-ins (http://127.0.0.1:{port}/login):")
    for username, role in (
        ("admin", "物业管理员 admin"),
        ("finance", "财务人员 finance"),
        ("repair", "维修人员 repair"),
        ("owner", "业主 owner (1栋)"),
        ("owner2", "业主 owner (2栋)"),
        ("tenant", "租户 tenant (1栋)"),
    ):
        shown = password if password else "(the password given to seed-demo)"
        click.echo(f"  {username:<8} {shown:<12} {role}")


@click.command("seed-demo")
@click.option("--units", default=24, show_default=True, type=int, help="Units to create.")
@click.option("--password", default="demo1234", show_default=True, help="Demo password.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has estates.")
@with_appcontext
def seed_demo_command(units: int, password: str, if_empty: bool) -> None:
    """Create the demo estate 示范小区 with accounts and data."""
    _as_cli_actor()
    if if_empty and db.session.scalar(select(Estate.id).limit(1)) is not None:
        demo = db.session.scalar(select(Estate.id).where(Estate.name == ESTATE_NAME))
        click.echo("The database already has data; not seeding.")
        if demo:
            _print_logins(None)
        return
    try:
        with click.progressbar(length=units, label="Seeding units", file=sys.stderr) as bar:
            result = seed_demo(db.session, units=units, password=password, progress=bar.update)
        db.session.commit()
    except ServiceError as exc:
        _fail(exc.message)
    click.echo(
        f"Seeded {result.estate.name}: {result.units} units, {result.residents} residents, "
        f"{result.vehicles} vehicles, {result.parking_spaces} parking spaces, "
        f"{result.bills} bills, {result.payments} payments."
    )
    _print_logins(password)


users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--display-name", default="")
@click.option("--role", "roles", multiple=True, help="Role name (repeatable), e.g. finance.")
@click.option("--estate", "estates", multiple=True, help="Estate name (repeatable).")
@click.option("--superuser", is_flag=True, help="Sees and does everything in every estate.")
def users_create(username, email, password, display_name, roles, estates, superuser) -> None:
    """Create a user account."""
    _as_cli_actor()
    try:
        user = create_user(
            db.session,
            username=username,
            email=email,
            password=password,
            display_name=display_name,
            roles=roles,
            estates=estates,
            superuser=superuser,
        )
        db.session.commit()
    except ServiceError as exc:
        _fail(f"{exc.field}: {exc.message}")
    click.echo(f"Created user {user.username} <{user.email}>.")


mail_cli = AppGroup("mail", help="The mail outbox.")


@mail_cli.command("send")
@click.option("--due", is_flag=True, help="Only messages whose retry time has come (cron).")
def mail_send(due: bool) -> None:
    """Deliver every pending message now."""
    current_app.config["MAIL_DISPATCH"] = "off"  # this command is the dispatcher
    sent, failed = send_pending(db.session, due_only=due)
    click.echo(f"Sent {sent} message(s); {failed} could not be delivered.")
    if failed:
        raise click.ClickException(
            f"{failed} message(s) failed and stay in the outbox for a retry "
            f"(SMTP {current_app.config['MAIL_SERVER']}:{current_app.config['MAIL_PORT']})."
        )


def init_app(app) -> None:
    from . import cli_backup, cli_billing, cli_notices, cli_register, cli_repairs

    cli_register.init_app(app)
    cli_billing.init_app(app)
    cli_repairs.init_app(app)
    cli_notices.init_app(app)
    cli_backup.init_app(app)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(mail_cli)
