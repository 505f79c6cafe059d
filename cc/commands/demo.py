"""``cc demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from cc.commands._common import state


def demo(
    ctx: typer.Context,
    headless: bool = typer.Option(False, "--headless", help="Print a plain summary and exit (for scripts and CI)."),
    orders: int = typer.Option(24, "--orders", help="How many orders the agents key in."),
    force: bool = typer.Option(False, "--force", help="Overwrite the --db file if it exists."),
) -> None:
    """Build a demo call center (cc-demo.db unless --db) and run orders through the whole pipeline."""
    from cc.demo import run_demo
    from cc.errors import UsageError

    explicit = state(ctx).db_path
    path = Path(explicit or "cc-demo.db").resolve()
    if path.exists():
        if explicit and not force:
            raise UsageError(f"{path} exists", "the demo builds a fresh database: pass --force to overwrite it, or another --db")
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    if headless:
        result = run_demo(path, orders=orders)
        _summary_plain(result)
        return
    from rich.console import Console

    console = Console()
    result = run_demo(path, orders=orders, say=lambda text: console.print(text, highlight=False))
    _summary_rich(console, result)


def _summary_plain(result) -> None:  # noqa: ANN001
    print(f"demo database: {result.db}")
    print(f"dairy drop folder: {result.dairy_dir} ({result.dairy_files} order files)")
    print(f"customers: {result.customers}")
    for status, count in sorted(result.orders_by_status.items()):
        print(f"orders {status}: {count}")
    print(f"entries refused: {len(result.refused_entries)}")
    print(f"charged: {result.revenue_fen / 100:.2f} yuan, refunded: {result.refunded_fen / 100:.2f} yuan")
    print(f"SMS sent through the modem simulator: {result.sms_sent}")
    print(f"ledger matches balances: {'yes' if result.ledger_consistent else 'NO'}")


def _summary_rich(console, result) -> None:  # noqa: ANN001
    from rich.table import Table

    from cc.i18n import t

    table = Table(title="订单状态 / orders by state")
    table.add_column("状态 / state")
    table.add_column("数量 / count", justify="right")
    for status, count in sorted(result.orders_by_status.items()):
        table.add_row(f"{t(status, 'zh_CN')} / {status}", str(count))
    console.print(table)
    console.print(f"扣款合计 charged ¥{result.revenue_fen / 100:.2f}, 退款 refunded ¥{result.refunded_fen / 100:.2f}; "
                  f"账本与余额一致 ledger matches balances: {'✓' if result.ledger_consistent else '✗'}")
    console.print(f"数据库 database: {result.db}\n牛奶厂文件夹 dairy folder: {result.dairy_dir} ({result.dairy_files} files)")
    console.print("Try: cc --db " + result.db + " order list   |   cc --db " + result.db + " customer list --tag vip")
