"""``cc dairy ...``: the outbox of messages for the dairy."""

from __future__ import annotations

import typer

from cc.commands._common import info, print_json, print_table, services

app = typer.Typer(help="Messages to the dairy: outbox, flush (for cron), retry.", no_args_is_help=True)


@app.command("outbox")
def outbox(
    ctx: typer.Context,
    status: list[str] = typer.Option([], "--status", help="pending, sending, sent or failed; repeatable."),
    limit: int = typer.Option(100, "--limit"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Messages for the dairy, newest first."""
    messages = services(ctx).dairy.outbox(status, limit)
    data = [{k: m[k] for k in ("id", "order_code", "kind", "status", "attempts", "next_attempt_at", "sent_at", "last_error")}
            for m in messages]
    if as_json:
        print_json(data)
        return
    print_table(["id", "order", "kind", "status", "attempts", "next attempt", "sent", "error"], [list(d.values()) for d in data])


@app.command("flush")
def flush(ctx: typer.Context) -> None:
    """Deliver every due message now (run from cron every minute as a safety net)."""
    attempts = services(ctx).dairy.deliver_due()
    sent = sum(1 for a in attempts if a.status == "sent")
    for attempt in attempts:
        if attempt.status != "sent":
            info(f"message {attempt.message_id}: {attempt.status}: {attempt.error}")
    info(f"{sent} sent, {len(attempts) - sent} not delivered")
    if sent < len(attempts):
        from cc.errors import Unreachable

        raise Unreachable(f"{len(attempts) - sent} message(s) could not be delivered to the dairy",
                          "check dairy.drop_dir / dairy.url; they are retried with backoff")


@app.command("retry")
def retry(ctx: typer.Context, message_id: int) -> None:
    """Make a failed message due again now."""
    svc = services(ctx).dairy
    svc.retry(message_id)
    svc.deliver_due()
    info(f"message {message_id} retried")
