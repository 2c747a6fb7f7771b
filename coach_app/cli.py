"""`flask --app coach_app ...` commands (also available as the `followthrough` script)."""

import sys

import click
from flask import Flask
from sqlalchemy import func, select

from coach_app.extensions import db


def register(app: Flask) -> None:
    """Attach the project's commands to the app's CLI."""

    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--role", type=click.Choice(["admin", "coach", "organizer"]), default="coach")
    @click.option("--organization", "org_name", default=None, help="Name; created if missing.")
    @click.option("--timezone", default=None)
    @click.password_option()
    def create_user_command(email, name, role, org_name, timezone, password):
        """Create an admin, coach or organizer with a password."""
        from coach_app.models import Organization
        from coach_app.services import ServiceError
        from coach_app.services.accounts import create_user

        org = None
        if org_name:
            org = db.session.scalar(select(Organization).where(Organization.name == org_name))
        else:
            org = db.session.scalar(select(Organization).order_by(Organization.id))
        if org is None:
            org = Organization(name=org_name or "My coaching practice", timezone=timezone or "UTC")
            db.session.add(org)
            db.session.flush()
        try:
            user = create_user(
                organization_id=org.id,
                role=role,
                email=email,
                name=name,
                password=password,
                timezone=timezone,
            )
        except ServiceError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
        click.echo(f"Created {role} {user.email} in {org.name}.")

    @app.cli.command("rebuild-analytics")
    @click.option("--organization-id", type=int, default=None, help="Only this organisation.")
    def rebuild_analytics_command(organization_id):
        """Recompute the analytics facts and dashboard rollups (after bulk loads or imports)."""
        from coach_app.services.analytics_facts import analyze, rebuild_facts

        written = rebuild_facts(organization_id)
        db.session.commit()
        analyze()
        click.echo(f"Rebuilt analytics facts and rollups for {written} opportunities.")

    @app.cli.command("rebuild-read-model")
    def rebuild_read_model_command():
        """Recompute every client's pipeline summary (after bulk loads or the upgrade)."""
        from coach_app.services.read_model import rebuild_read_model

        written = rebuild_read_model()
        db.session.commit()
        click.echo(f"Rebuilt the read model for {written} clients.")

    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when users already exist.")
    @click.option("--seed", default=7, show_default=True)
    @click.option(
        "--refresh",
        is_flag=True,
        help="Move an existing synthetic demo forward to today instead of building one.",
    )
    def demo_command(if_empty, seed, refresh):
        """Fill the database with a synthetic coaching organisation (or move one to today)."""
        from coach_app.demo import DEMO_PASSWORD, build_demo
        from coach_app.models import User

        if refresh:
            from coach_app.demo_refresh import refresh_demo

            click.echo(refresh_demo())
            return
        if if_empty and db.session.scalar(select(func.count(User.id))):
            click.echo("Database already has users; demo data not loaded.")
            return
        summary = build_demo(seed=seed)
        click.echo(summary)
        click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role, email in summary.logins:
            click.echo(f"  {role:<10} {email}")


def main() -> None:
    """Entry point of the `followthrough` console script: the Flask CLI bound to this app."""
    from flask.cli import FlaskGroup

    from coach_app import create_app

    cli = FlaskGroup(create_app=lambda: create_app())
    sys.exit(cli.main())
