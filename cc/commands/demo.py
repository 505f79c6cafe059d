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
    minutes: float = typer.Option(0.0, "--minutes", help="With --headless: then run the simulated center for this many simulated minutes."),
    rate: float = typer.Option(2.0, "--rate", help="Simulated callers a minute."),
    speed: float = typer.Option(1.0, "--speed", help="Live dashboard: simulated seconds per real second (1 = real time)."),
    seed: int = typer.Option(116114, "--seed", help="Random seed: the same seed plays the same demo."),
    lang: str = typer.Option(None, "--lang", help="Dashboard language: zh_CN or en."),
    warm_up: float = typer.Option(30.0, "--warm-up", help="Live dashboard: first play this many minutes before now, so it opens on a busy center."),
) -> None:
    """Build a demo call center (cc-demo.db unless --db), run orders through the whole pipeline, then open the
    supervisor dashboard on a live simulated center (callers, agents, customers' SMS replies); quit it with
    ctrl+q. With --headless: a plain summary instead (and --minutes N of the simulated center)."""
    import os
    import sys

    from cc.demo import demo_config, run_demo
    from cc.errors import UsageError

    if minutes < 0 or minutes > 24 * 60:
        raise UsageError(f"--minutes {minutes:g} is out of range", "give 0 to 1440 simulated minutes")
    if rate <= 0 or rate > 600:
        raise UsageError(f"--rate {rate:g} is out of range", "give more than 0 and at most 600 callers a minute")
    if speed <= 0 or speed > 1000:
        raise UsageError(f"--speed {speed:g} is out of range", "give more than 0 and at most 1000 (1 = real time)")
    if warm_up < 0 or warm_up > 8 * 60:
        raise UsageError(f"--warm-up {warm_up:g} is out of range", "give 0 to 480 minutes")
    if lang not in (None, "zh_CN", "en"):
        raise UsageError(f"unknown language {lang!r}", "use --lang zh_CN or --lang en")
    explicit = state(ctx).db_path
    path = Path(explicit or "cc-demo.db").resolve()
    if path.exists():
        if explicit and not force:
            raise UsageError(f"{path} exists", "the demo builds a fresh database: pass --force to overwrite it, or another --db")
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    if headless:
        result = run_demo(path, orders=orders, seed=seed)
        _summary_plain(result)
        if minutes > 0:
            from cc.sim.center import SimCenter

            sim = SimCenter(demo_config(path), seed=seed, calls_per_minute=rate)
            try:
                summary = sim.run(minutes, timeout=600)
            except KeyboardInterrupt:
                sim.stop()
                raise
            print("\n".join(summary.lines()))
        return
    from rich.console import Console

    console = Console()
    result = run_demo(path, orders=orders, seed=seed, say=lambda text: console.print(text, highlight=False))
    _summary_rich(console, result)
    if not os.environ.get("TEXTUAL_DRIVER") and not (sys.stdin.isatty() and sys.stdout.isatty()):
        console.print("(not a terminal: the live dashboard needs one; 'cc demo --headless --minutes 10' simulates without it)")
        return
    _live(console, demo_config(path), rate=rate, speed=speed, seed=seed, lang=lang, warm_up=warm_up)


def _live(console, config, *, rate: float, speed: float, seed: int, lang: str | None, warm_up: float) -> None:  # noqa: ANN001
    from cc.demo import live_dashboard, start_center

    console.print(f"启动模拟呼叫中心（先模拟此前 {warm_up:g} 分钟）/ starting the simulated call center "
                  f"(first playing the {warm_up:g} minutes before now) ...")
    from cc.store.checkpoint import background_checkpoints

    sim = start_center(config, seed=seed, calls_per_minute=rate, speed=speed, warm_up_minutes=warm_up)
    try:
        with background_checkpoints(config.db):
            live_dashboard(config, sim, locale=lang).run()
    finally:
        console.print("停止模拟 / stopping the simulation (calls in progress are played to their end) ...")
        summary = sim.stop()
    for line in summary.lines(lang or config.resolved_locale()):
        console.print(line, highlight=False)


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
