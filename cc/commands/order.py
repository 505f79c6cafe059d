"""``cc order ...`` and ``cc delivery import``."""

from __future__ import annotations

import sys

import typer

from cc.commands._common import (
    info, label, parse_amount, parse_date, parse_items, print_json, print_table, report_import, services, yuan,
)

app = typer.Typer(help="Orders: enter, amend, cancel, confirm, refund, list, export, expire.", no_args_is_help=True)
delivery_app = typer.Typer(help="Deliveries reported by the dairy.", no_args_is_help=True)


def _items_text(order) -> str:  # noqa: ANN001
    return ", ".join(f"{l.name}x{l.quantity}" for l in order.lines)


def _order_dict(order) -> dict:  # noqa: ANN001
    return {
        "code": order.code, "status": order.status, "phone": order.phone, "customer": order.customer_name,
        "items": [{"sku": l.sku, "name": l.name, "quantity": l.quantity, "price": yuan(l.price_fen)} for l in order.lines],
        "start_date": order.start_date, "frequency": order.frequency, "deliveries": order.deliveries,
        "end_date": order.end_date, "deliveries_done": order.deliveries_done, "total": yuan(order.total_fen),
        "refunded": yuan(order.refunded_fen), "expires_at": order.expires_at, "created_at": order.created_at,
        "created_by": order.created_by,
    }


@app.command("new")
def new(
    ctx: typer.Context,
    phone: str = typer.Option(..., "--phone", help="The customer's phone."),
    item: list[str] = typer.Option(..., "--item", help="SKU:QTY per delivery; repeat for several products."),
    deliveries: int = typer.Option(None, "--deliveries", help="Number of deliveries [default: 1]."),
    until: str = typer.Option(None, "--until", help="Last delivery date (YYYY-MM-DD), instead of --deliveries."),
    start: str = typer.Option(None, "--start", help="First delivery date (YYYY-MM-DD) [default: tomorrow]."),
    frequency: str = typer.Option("daily", "--frequency", help="daily or weekly."),
    draft: bool = typer.Option(False, "--draft", help="Keep it as a draft (no stock reserved, no SMS)."),
) -> None:
    """Enter an order; it waits for the customer's confirmation. Prints the order code alone on stdout."""
    order = services(ctx).orders.new(
        phone=phone, items=parse_items(item), deliveries=deliveries, until=parse_date(until, "--until"),
        start=parse_date(start, "--start"), frequency=frequency, submit=not draft,
    )
    info(f"order {order.code}: {_items_text(order)}, {order.deliveries} x {order.frequency} from {order.start_date}, "
         f"total {yuan(order.total_fen)}, {order.status}")
    print(order.code)


@app.command("show")
def show(ctx: typer.Context, code: str, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One order with its history and deliveries."""
    detail = services(ctx).orders.show(code)
    order = detail.order
    if as_json:
        print_json({**_order_dict(order),
                    "events": [e.__dict__ for e in detail.events],
                    "deliveries_made": [{"delivered_on": d["delivered_on"], "note": d["note"]} for d in detail.deliveries]})
        return
    print_table(["", ""], [
        [label(ctx, "code"), order.code], [label(ctx, "status"), label(ctx, order.status)],
        [label(ctx, "name"), f"{order.customer_name} {order.phone}"], [label(ctx, "items"), _items_text(order)],
        [label(ctx, "plan"), f"{label(ctx, order.frequency)} x{order.deliveries}: {order.start_date} .. {order.end_date}"],
        [label(ctx, "done"), f"{order.deliveries_done}/{order.deliveries}"], [label(ctx, "total"), yuan(order.total_fen)],
        [label(ctx, "refund"), yuan(order.refunded_fen)],
    ])
    print_table([label(ctx, k) for k in ("at", "actor", "from", "to", "reason")],
                [[e.at, e.actor, label(ctx, e.from_status) if e.from_status else "", label(ctx, e.to_status), e.reason]
                 for e in detail.events], title=label(ctx, "events"))


@app.command("list")
def list_(
    ctx: typer.Context,
    phone: str = typer.Option(None, "--phone", help="Only this customer's orders."),
    status: list[str] = typer.Option([], "--status", help="Only orders in this state; repeat for several."),
    since: str = typer.Option(None, "--since", help="Entered on or after this date (YYYY-MM-DD)."),
    limit: int = typer.Option(100, "--limit"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List orders, newest first."""
    since_date = parse_date(since, "--since")
    since_iso = None
    if since_date:  # local midnight, as the UTC instant the database stores
        from datetime import datetime, time
        from zoneinfo import ZoneInfo

        from cc.commands._common import config
        from cc.domain.timestamps import iso

        since_iso = iso(datetime.combine(since_date, time(), ZoneInfo(config(ctx).timezone)))
    orders = services(ctx).orders.list(phone=phone, statuses=status, since=since_iso, limit=limit)
    if as_json:
        print_json([_order_dict(o) for o in orders])
        return
    print_table([label(ctx, k) for k in ("code", "status", "name", "phone", "items", "deliveries", "total")],
                [[o.code, label(ctx, o.status), o.customer_name, o.phone, _items_text(o), f"{o.deliveries_done}/{o.deliveries}",
                  yuan(o.total_fen)] for o in orders])


@app.command("amend")
def amend(
    ctx: typer.Context,
    code: str,
    item: list[str] = typer.Option(None, "--item", help="Replace all items: SKU:QTY, repeatable."),
    deliveries: int = typer.Option(None, "--deliveries"),
    until: str = typer.Option(None, "--until", help="YYYY-MM-DD."),
    start: str = typer.Option(None, "--start", help="YYYY-MM-DD."),
    frequency: str = typer.Option(None, "--frequency", help="daily or weekly."),
) -> None:
    """Change an order before it is confirmed (the customer is asked again)."""
    order = services(ctx).orders.amend(
        code, items=parse_items(item) if item else None, deliveries=deliveries, until=parse_date(until, "--until"),
        start=parse_date(start, "--start"), frequency=frequency,
    )
    info(f"order {order.code} amended: {_items_text(order)}, {order.deliveries} deliveries, total {yuan(order.total_fen)}")


@app.command("cancel")
def cancel(ctx: typer.Context, code: str, reason: str = typer.Option("cancelled by agent", "--reason")) -> None:
    """Cancel an order that has not been charged; its stock is released."""
    order = services(ctx).orders.cancel(code, reason=reason)
    info(f"order {order.code} cancelled")


@app.command("confirm")
def confirm(ctx: typer.Context, code: str) -> None:
    """Confirm for the customer (e.g. confirmed by phone): charges once and sends it to the dairy."""
    order = services(ctx).orders.confirm(code, via="phone")
    info(f"order {order.code} {order.status}: charged {yuan(order.total_fen)}")


@app.command("refund")
def refund(
    ctx: typer.Context,
    code: str,
    amount: str = typer.Option(None, "--amount", help="Partial refund in yuan; without it the undelivered part is refunded and the order cancelled."),
    reason: str = typer.Option("", "--reason", help="Why (kept in the history)."),
) -> None:
    """Refund a charged order (supervisor only)."""
    order = services(ctx).orders.refund(code, amount_fen=parse_amount(amount) if amount else None, reason=reason)
    info(f"order {order.code}: refunded {yuan(order.refunded_fen)} in total, now {order.status}")


@app.command("expire")
def expire(ctx: typer.Context) -> None:
    """Expire orders nobody confirmed in time and tell each customer by SMS (for cron; the SMS daemon does it too)."""
    expired = services(ctx).sms.expire_due()
    for order in expired:
        print(order.code)
    info(f"{len(expired)} order(s) expired")


@app.command("export")
def export(
    ctx: typer.Context,
    since: str = typer.Option(..., "--since", help="Orders charged on or after this date (YYYY-MM-DD)."),
    until: str = typer.Option(None, "--until", help="...and before this date."),
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    bom: bool = typer.Option(False, "--bom", help="Start the CSV with a BOM so Excel reads Chinese correctly."),
    output: str = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Batch export of charged orders for the dairy (one row per order line)."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from cc.commands._common import config
    from cc.csvio import write_csv
    from cc.domain.timestamps import iso
    from cc.errors import UsageError

    if fmt not in ("csv", "json"):
        raise UsageError(f"unknown format '{fmt}'", "use --format csv or --format json")
    zone = ZoneInfo(config(ctx).timezone)

    def bound(text: str | None, what: str) -> str | None:
        day = parse_date(text, what)
        return iso(datetime.combine(day, time(), zone)) if day else None

    orders = services(ctx).orders.charged_between(bound(since, "--since"), bound(until, "--until"))
    try:
        out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}", "check that the folder exists and is writable") from None
    try:
        if fmt == "json":
            import json

            out.write(json.dumps([_order_dict(o) for o in orders], ensure_ascii=False, indent=2) + "\n")
        else:
            columns = ["order_code", "status", "customer", "phone", "sku", "product", "quantity", "price", "start_date",
                       "frequency", "deliveries", "end_date", "total"]
            write_csv(out, columns, ([o.code, o.status, o.customer_name, o.phone, l.sku, l.name, l.quantity, yuan(l.price_fen),
                                      o.start_date, o.frequency, o.deliveries, o.end_date, yuan(o.total_fen)]
                                     for o in orders for l in o.lines), bom=bom)
    finally:
        if output:
            out.close()
    info(f"{len(orders)} order(s) exported")


@delivery_app.command("import")
def delivery_import(
    ctx: typer.Context,
    path: str = typer.Argument(..., help="The dairy's CSV: order_code,delivered_on[,note], one row per delivery made."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Load the good rows even if some are bad."),
) -> None:
    """Record deliveries the dairy made; orders move to in_delivery and completed. Re-importing is harmless."""
    from cc.csvio import read_csv

    result = services(ctx).orders.record_deliveries(read_csv(path, ["order_code", "delivered_on"]), skip_bad=skip_bad)
    report_import(result.errors, f"{result.recorded} delivery(ies) recorded, {result.already} already known, "
                                 f"{len(result.completed)} order(s) completed", skip_bad)
