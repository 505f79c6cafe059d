"""``cc backup``."""

from __future__ import annotations

import typer

from cc.commands._common import info, print_json, services


def backup(
    ctx: typer.Context,
    path: str = typer.Argument(..., help="The backup file to write, e.g. /var/backups/cc-$(date +%F).db."),
    force: bool = typer.Option(False, "--force", help="Replace the file if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Copy the database to PATH while the call center runs: one consistent instant, checked for integrity,
    renamed into place only when complete. Run it from cron; restore by copying the file back with the
    daemons stopped."""
    from cc.services.backup import backup_service

    result = backup_service(services(ctx)).backup(path, force=force)
    if as_json:
        print_json(result)
        return
    counts = ", ".join(f"{result[k]} {k}" for k in ("customers", "orders", "ledger", "calls") if k in result)
    info(f"backed up to {result['file']}: {result['bytes'] / 1e6:.1f} MB in {result['seconds']:.1f} s, integrity ok ({counts})")
