"""``cc customer ...``."""

from __future__ import annotations

import typer

from cc.commands._common import info, label, parse_date, print_json, print_table, report_import, services, yuan

app = typer.Typer(help="Customers: add, show, list, edit, import.", no_args_is_help=True)


def _as_dict(c) -> dict:  # noqa: ANN001
    return {"phone": c.phone, "name": c.name, "address": c.address, "zone": c.zone, "tags": sorted(c.tags),
            "notes": c.notes, "opt_out": c.opt_out, "birthday": c.birthday, "balance": yuan(c.balance_fen)}


@app.command("add")
def add(
    ctx: typer.Context,
    phone: str = typer.Option(..., "--phone", help="Mobile or landline, e.g. 13800138000."),
    name: str = typer.Option(..., "--name", help="Customer name."),
    address: str = typer.Option("", "--address", help="Delivery address."),
    zone: str = typer.Option("", "--zone", help="Delivery zone or route."),
    tag: list[str] = typer.Option([], "--tag", help="vip, blacklist, or any word; repeat for several."),
    notes: str = typer.Option("", "--notes", help="Free notes for agents."),
    birthday: str = typer.Option(None, "--birthday", help="YYYY-MM-DD, for birthday greetings."),
) -> None:
    """Add a customer (with an empty prepaid account)."""
    if birthday:
        parse_date(birthday, "birthday")
    customer = services(ctx).customers.add(phone=phone, name=name, address=address, zone=zone, tags=tag, notes=notes, birthday=birthday)
    info(f"added customer {customer.name} {customer.phone}")


@app.command("show")
def show(ctx: typer.Context, phone: str, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One customer: details, balance and recent orders."""
    svc = services(ctx)
    customer = svc.customers.get(phone)
    orders = svc.orders.list_for_phone(customer.phone, limit=10)
    if as_json:
        print_json({**_as_dict(customer), "orders": [{"code": o.code, "status": o.status, "total": yuan(o.total_fen)} for o in orders]})
        return
    rows = [[label(ctx, k), v] for k, v in [
        ("name", customer.name), ("phone", customer.phone), ("address", customer.address), ("zone", customer.zone),
        ("tags", ", ".join(sorted(customer.tags))), ("balance", yuan(customer.balance_fen)),
        ("opt_out", label(ctx, "yes") if customer.opt_out else label(ctx, "no")), ("notes", customer.notes)]]
    print_table(["", ""], rows)
    if orders:
        print_table([label(ctx, "code"), label(ctx, "status"), label(ctx, "total"), label(ctx, "start")],
                    [[o.code, label(ctx, o.status), yuan(o.total_fen), o.start_date] for o in orders], title=label(ctx, "orders"))


@app.command("list")
def list_(
    ctx: typer.Context,
    search: str = typer.Option(None, "--search", "-s", help="Part of a phone number, name or address."),
    tag: str = typer.Option(None, "--tag", help="Only customers with this tag."),
    limit: int = typer.Option(200, "--limit", help="At most this many."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List or search customers."""
    found = services(ctx).customers.search(search, tag, limit)
    if as_json:
        print_json([_as_dict(c) for c in found])
        return
    print_table([label(ctx, k) for k in ("phone", "name", "address", "zone", "tags", "balance")],
                [[c.phone, c.name, c.address, c.zone, ",".join(sorted(c.tags)), yuan(c.balance_fen)] for c in found])


@app.command("edit")
def edit(
    ctx: typer.Context,
    phone: str,
    name: str = typer.Option(None, "--name"),
    address: str = typer.Option(None, "--address"),
    zone: str = typer.Option(None, "--zone"),
    notes: str = typer.Option(None, "--notes"),
    birthday: str = typer.Option(None, "--birthday", help="YYYY-MM-DD."),
    add_tag: list[str] = typer.Option([], "--tag", help="Add a tag (vip, blacklist, ...)."),
    remove_tag: list[str] = typer.Option([], "--remove-tag", help="Remove a tag."),
    opt_out: bool = typer.Option(None, "--opt-out/--opt-in", help="Marketing SMS off/on."),
) -> None:
    """Change a customer's details or tags."""
    customer = services(ctx).customers.edit(phone, name=name, address=address, zone=zone, notes=notes, birthday=birthday,
                                            add_tags=add_tag, remove_tags=remove_tag, opt_out=opt_out)
    info(f"updated customer {customer.name} {customer.phone}")


@app.command("import")
def import_(
    ctx: typer.Context,
    path: str = typer.Argument(..., help="CSV with columns phone,name[,address,zone,tags,notes,birthday]."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Load the good rows even if some are bad."),
) -> None:
    """Import customers from CSV (UTF-8 or Excel's GB18030). Existing phones are updated."""
    from cc.csvio import read_csv

    result = services(ctx).customers.import_rows(read_csv(path, ["phone", "name"]), skip_bad=skip_bad)
    report_import(result.errors, f"{result.loaded} added, {result.updated} updated", skip_bad)
