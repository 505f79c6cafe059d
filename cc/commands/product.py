"""``cc product ...`` and ``cc stock ...``."""

from __future__ import annotations

import typer

from cc.commands._common import info, label, parse_amount, print_json, print_table, report_import, services, yuan

app = typer.Typer(help="Products: add (or update) and list.", no_args_is_help=True)
stock_app = typer.Typer(help="The dairy's stock: set, show, import.", no_args_is_help=True)


def _product_dict(p: dict) -> dict:
    return {"sku": p["sku"], "name": p["name"], "unit": p["unit"], "price": yuan(p["price_fen"]),
            "active": bool(p["active"]), "quantity": p["quantity"], "reserved": p["reserved"],
            "available": p["quantity"] - p["reserved"]}


@app.command("add")
def add(
    ctx: typer.Context,
    sku: str = typer.Argument(..., help="Product code, e.g. MILK-1L."),
    name: str = typer.Option(..., "--name", help="Product name as customers know it."),
    price: str = typer.Option(..., "--price", help="Unit price in yuan, e.g. 5.00."),
    unit: str = typer.Option("", "--unit", help="Unit, e.g. 瓶 or 盒."),
    inactive: bool = typer.Option(False, "--inactive", help="Hide it from new orders."),
) -> None:
    """Add a product, or update its name and price (orders keep the price they were taken at)."""
    product = services(ctx).catalog.add_product(sku, name=name, price_fen=parse_amount(price, "price"), unit=unit, active=not inactive)
    info(f"{product['sku']} {product['name']} {yuan(product['price_fen'])}")


@app.command("list")
def list_(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Include inactive products."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List products with price and stock."""
    products = [_product_dict(p) for p in services(ctx).catalog.products(include_inactive=all_)]
    if as_json:
        print_json(products)
        return
    keys = ("sku", "name", "unit", "price", "available")
    print_table([label(ctx, k if k != "name" else "product") for k in keys], [[p[k] for k in keys] for p in products])


@stock_app.command("set")
def stock_set(ctx: typer.Context, sku: str, quantity: int = typer.Argument(..., help="Units on hand.")) -> None:
    """Set the quantity on hand for a product."""
    product = services(ctx).catalog.set_stock(sku, quantity)
    info(f"{sku}: {product['quantity']} on hand, {product['reserved']} reserved")


@stock_app.command("show")
def stock_show(
    ctx: typer.Context,
    sku: str = typer.Argument(None, help="One product; all when left out."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Stock on hand, reserved by open orders, and available."""
    catalog = services(ctx).catalog
    products = [_product_dict(catalog.product(sku))] if sku else [_product_dict(p) for p in catalog.products(True)]
    if as_json:
        print_json(products if not sku else products[0])
        return
    keys = ("sku", "name", "quantity", "reserved", "available")
    print_table([label(ctx, k if k != "name" else "product") for k in keys], [[p[k] for k in keys] for p in products])


@stock_app.command("import")
def stock_import(
    ctx: typer.Context,
    path: str = typer.Argument(..., help="The dairy's CSV with columns sku,quantity."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Load the good rows even if some are bad."),
) -> None:
    """Import the dairy's stock counts."""
    from cc.csvio import read_csv

    result = services(ctx).catalog.import_stock(read_csv(path, ["sku", "quantity"]), skip_bad=skip_bad)
    report_import(result.errors, f"{result.updated} product(s) updated", skip_bad)
