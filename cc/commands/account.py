"""``cc account ...``."""

from __future__ import annotations

import typer

from cc.commands._common import info, label, parse_amount, print_json, print_table, services, yuan

app = typer.Typer(help="Prepaid accounts: top up, balance, ledger.", no_args_is_help=True)


@app.command("topup")
def topup(
    ctx: typer.Context,
    phone: str,
    amount: str = typer.Argument(..., help="Yuan, e.g. 100.00."),
    key: str = typer.Option(None, "--key", help="Idempotency key (e.g. the payment's reference): a replay adds nothing."),
    note: str = typer.Option("", "--note"),
) -> None:
    """Add money to a customer's account."""
    result = services(ctx).accounts.topup(phone, parse_amount(amount), key=key, note=note)
    replay = " (already recorded)" if result["replayed"] else ""
    info(f"{result['phone']}: balance {yuan(result['balance_fen'])}{replay}")


@app.command("show")
def show(ctx: typer.Context, phone: str, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """A customer's balance."""
    customer = services(ctx).customers.get(phone)
    if as_json:
        print_json({"phone": customer.phone, "name": customer.name, "balance": yuan(customer.balance_fen)})
    else:
        print(f"{customer.name} {customer.phone} {label(ctx, 'balance')} {yuan(customer.balance_fen)}")


@app.command("ledger")
def ledger(
    ctx: typer.Context, phone: str,
    limit: int = typer.Option(200, "--limit"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every top-up, charge and refund, newest first."""
    entries = services(ctx).accounts.ledger(phone, limit)
    data = [{"at": e["at"], "kind": e["kind"], "amount": yuan(e["amount_fen"]), "order": e["order_code"],
             "actor": e["actor"], "note": e["note"]} for e in entries]
    if as_json:
        print_json(data)
        return
    print_table([label(ctx, k) for k in ("at", "kind", "amount", "order", "actor", "note")],
                [[d["at"], label(ctx, d["kind"]), d["amount"], d["order"], d["actor"], d["note"]] for d in data])
