"""``cc complaint``: complaints with a category SLA, assignee, timeline, escalation and a closing SMS."""

from __future__ import annotations

import typer

from cc.commands import _common

app = typer.Typer(help="Complaints: new, list, show, assign, note, escalate, close.", no_args_is_help=True)

COLUMNS = ["id", "status", "priority", "category", "customer", "phone", "assignee", "due", "text"]


def _row(ctx: typer.Context, c) -> list:  # noqa: ANN001
    due = c.due_at[:16].replace("T", " ") + (f" {_common.label(ctx, 'overdue').upper()}" if c.overdue else "")
    return [c.id, _common.label(ctx, c.status), _common.label(ctx, c.priority), c.category_label, c.customer_name,
            c.phone, c.assignee or "", due, c.text[:40]]


def _svc(ctx: typer.Context):  # noqa: ANN202
    return _common.services(ctx).complaints


@app.command("new")
def new(
    ctx: typer.Context,
    phone: str = typer.Option(..., "--phone", help="The customer's phone number."),
    category: str = typer.Option(..., "--category", help="Category (see complaints.categories in the config)."),
    text: str = typer.Option(..., "--text", help="What the customer complains about."),
    order: str = typer.Option(None, "--order", help="The order it is about (its code)."),
    call: str = typer.Option(None, "--call", help="The call it was taken on (see cc call list)."),
    priority: str = typer.Option("normal", "--priority", help="high, normal or low (shortens or lengthens the SLA)."),
    as_json: bool = typer.Option(False, "--json", help="Print the complaint as JSON."),
) -> None:
    """Open a complaint; its deadline comes from the category's SLA."""
    complaint = _svc(ctx).new(phone=phone, category=category, text=text, order_code=order, call_id=call, priority=priority)
    if as_json:
        _common.print_json(complaint.as_dict())
        return
    typer.echo(complaint.id)
    _common.info(f"complaint {complaint.id} opened, due {complaint.due_at[:16].replace('T', ' ')} UTC")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: str = typer.Option(None, "--status", help="open, assigned, escalated or closed."),
    overdue: bool = typer.Option(False, "--overdue", help="Only those past their deadline and not closed."),
    phone: str = typer.Option(None, "--phone", help="Only this customer's."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Complaints, newest first."""
    found = _svc(ctx).list(status=status, overdue=overdue, phone=phone, limit=limit)
    if as_json:
        _common.print_json([c.as_dict() for c in found])
        return
    _common.print_table([_common.label(ctx, k) for k in COLUMNS], [_row(ctx, c) for c in found])


@app.command("show")
def show(
    ctx: typer.Context,
    complaint_id: int = typer.Argument(..., help="The complaint id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One complaint and its timeline (every note and status change)."""
    svc = _svc(ctx)
    complaint = svc.get(complaint_id)
    events = svc.timeline(complaint_id)
    if as_json:
        _common.print_json({**complaint.as_dict(), "timeline": events})
        return
    label = lambda key: _common.label(ctx, key)  # noqa: E731
    fields = [("id", complaint.id), ("status", label(complaint.status)), ("priority", label(complaint.priority)),
              ("category", complaint.category_label), ("customer", f"{complaint.customer_name} {complaint.phone}"),
              ("order", complaint.order_code or ""), ("call", complaint.call_id or ""),
              ("assignee", complaint.assignee or ""),
              ("due", complaint.due_at + (f" {label('overdue').upper()}" if complaint.overdue else "")),
              ("text", complaint.text), ("resolution", complaint.resolution or "")]
    _common.print_table(["", ""], [[label(k), v] for k, v in fields])
    _common.print_table(
        [label(k) for k in ("at", "actor", "kind", "from", "to", "text")],
        [[e["at"][:19].replace("T", " "), e["actor"], e["kind"], label(e["from_status"]) if e["from_status"] else "",
          label(e["to_status"]) if e["to_status"] else "", e["text"]] for e in events],
        title=_common.label(ctx, "timeline"),
    )


@app.command("assign")
def assign(
    ctx: typer.Context,
    complaint_id: int = typer.Argument(..., help="The complaint id."),
    user: str = typer.Argument(..., help="The user who will handle it (see cc user list)."),
) -> None:
    """Give a complaint to a user."""
    complaint = _svc(ctx).assign(complaint_id, user)
    _common.info(f"complaint {complaint.id} assigned to {complaint.assignee} ({complaint.status})")


@app.command("note")
def note(
    ctx: typer.Context,
    complaint_id: int = typer.Argument(..., help="The complaint id."),
    text: str = typer.Argument(..., help="The note."),
) -> None:
    """Add a note to the timeline."""
    _svc(ctx).note(complaint_id, text)
    _common.info(f"note added to complaint {complaint_id}")


@app.command("escalate")
def escalate(
    ctx: typer.Context,
    complaint_id: int = typer.Argument(None, help="The complaint id (or --overdue for all overdue ones)."),
    overdue: bool = typer.Option(False, "--overdue", help="Escalate every overdue complaint not yet escalated (for cron)."),
    as_json: bool = typer.Option(False, "--json", help="Print the escalated complaints as JSON."),
) -> None:
    """Escalate one complaint, or (from cron) every overdue one."""
    from cc.errors import UsageError

    if (complaint_id is None) == (not overdue):
        raise UsageError("give a complaint id or --overdue (not both)", "e.g. cc complaint escalate 12, or cc complaint escalate --overdue")
    svc = _svc(ctx)
    done = svc.escalate_overdue() if overdue else [svc.escalate(complaint_id)]
    if as_json:
        _common.print_json([c.as_dict() for c in done])
        return
    _common.info(f"escalated {len(done)} complaint(s)" + (": " + ", ".join(str(c.id) for c in done) if done else ""))


@app.command("close")
def close(
    ctx: typer.Context,
    complaint_id: int = typer.Argument(..., help="The complaint id."),
    resolution: str = typer.Option(..., "--resolution", help="What was done; the customer reads it in the SMS."),
) -> None:
    """Close a complaint with its resolution; the customer is told by SMS."""
    complaint = _svc(ctx).close(complaint_id, resolution)
    sms = f", SMS {complaint.close_sms_id} queued" if complaint.close_sms_id else ""
    _common.info(f"complaint {complaint.id} closed{sms}")
