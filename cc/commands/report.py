"""``cc report``: the fixed reports and site-defined (custom) ones, as a table, CSV, JSON or XLSX.

Each command calls one ReportService method and shares the options and ``_emit``; ``queues`` and
``agents`` report over the ACD's history with the wallboard's own figures."""

from __future__ import annotations

import typer

from cc.commands import _common

app = typer.Typer(help="Reports: orders, sms, complaints, campaigns, calls, queues, agents, custom, list.", no_args_is_help=True)

PROGRESS_MIN_ROWS = 10_000

# The options every report shares (typer wants each on the function signature).
FROM = typer.Option(None, "--from", help="First day (YYYY-MM-DD, local), inclusive. Default: reports.default_days before --to.")
TO = typer.Option(None, "--to", help="Last day (YYYY-MM-DD, local), inclusive. Default: today.")
FORMAT = typer.Option("table", "--format", "-f", help="table | csv | json | xlsx.")
OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout.")
BOM = typer.Option(False, "--bom", help="CSV: start with a UTF-8 BOM so Excel shows Chinese correctly.")
JSON = typer.Option(False, "--json", help="Same as --format json.")
PROGRESS = typer.Option(None, "--progress/--no-progress", help="Progress bar on stderr (default: on a terminal, for long exports).")


def _period(ctx: typer.Context, start: str | None, end: str | None):  # noqa: ANN202
    return _common.services(ctx).reports.period(_common.parse_date(start, "--from"), _common.parse_date(end, "--to"))


def _emit(report, fmt: str, output: str | None, bom: bool, as_json: bool, progress: bool | None) -> None:  # noqa: ANN001
    import sys

    from cc.errors import UsageError
    from cc.reportio import FORMATS, write_csv_report, write_json_report, write_xlsx_report

    fmt = "json" if as_json else fmt.lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", f"use --format {' | '.join(FORMATS)}")
    if bom and fmt != "csv":
        raise UsageError("--bom is for CSV only", "add --format csv")
    rows = report.rows
    chunks = report.csv_chunks if fmt == "csv" else None
    show = progress if progress is not None else (sys.stderr.isatty() and (report.total or 0) >= PROGRESS_MIN_ROWS)
    bar = None
    if show and fmt != "table":
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from cc.services.reports import count_chunks, count_rows

        bar = Progress(TextColumn(f"{report.name}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       console=Console(stderr=True), transient=False)
        task = bar.add_task(report.name, total=report.total)
        rows = count_rows(rows, 5000, lambda n: bar.update(task, completed=n))
        if chunks is not None:
            chunks = count_chunks(chunks, lambda n: bar.update(task, completed=n))
    if fmt == "table":
        _common.print_table(report.columns, [list(r) for r in rows], title=f"{report.title} {_period_text(report)}")
        if report.summary:
            _common.print_table(["", ""], [[k, v] for k, v in report.summary.items()])
        return
    if fmt == "xlsx" and output is None and sys.stdout.isatty():
        raise UsageError("an XLSX file is not for the terminal", "add --output report.xlsx")
    try:
        if bar is not None:
            bar.start()
        if fmt == "xlsx":
            if output:
                with open(output, "wb") as out:
                    write_xlsx_report(out, report.columns, rows, sheet=report.name)
            else:
                write_xlsx_report(sys.stdout.buffer, report.columns, rows, sheet=report.name)
            return
        out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            if fmt == "csv":
                write_csv_report(out, report.columns, rows, bom=bom, chunks=chunks)
            else:
                write_json_report(out, report.meta(), report.columns, rows)
        finally:
            if output:
                out.close()
    except OSError as exc:
        raise UsageError(f"cannot write {output or 'stdout'}: {exc.strerror or exc}", "check the --output path") from None
    finally:
        if bar is not None:
            bar.stop()
    if output:
        _common.info(f"wrote {output}")


def _period_text(report) -> str:  # noqa: ANN001
    p = report.period
    return f"{p['from']} .. {p['to']}" if p else ""


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The reports available: built-in and custom (from the config)."""
    found = _common.services(ctx).reports.available()
    if as_json:
        _common.print_json(found)
        return
    _common.print_table(["report", "kind", "description"], [[r["name"], r["kind"], r["description"]] for r in found])


@app.command("orders")
def orders(
    ctx: typer.Context, start: str = FROM, end: str = TO,
    by: str = typer.Option("status", "--by", help="status | product | day | agent."),
    product: str = typer.Option(None, "--product", help="Only orders with this product (SKU)."),
    agent: str = typer.Option(None, "--agent", help="Only orders entered by this user."),
    fmt: str = FORMAT, output: str = OUTPUT, bom: bool = BOM, as_json: bool = JSON, progress: bool = PROGRESS,
) -> None:
    """Orders entered in the period: count, paid, amount and revenue (charged less refunded)."""
    svc = _common.services(ctx).reports
    _emit(svc.orders(_period(ctx, start, end), by=by, product=product, agent=agent), fmt, output, bom, as_json, progress)


@app.command("sms")
def sms(ctx: typer.Context, start: str = FROM, end: str = TO, fmt: str = FORMAT, output: str = OUTPUT, bom: bool = BOM,
        as_json: bool = JSON, progress: bool = PROGRESS) -> None:
    """SMS queued in the period by kind; the summary has the confirmation rate and time to reply."""
    _emit(_common.services(ctx).reports.sms(_period(ctx, start, end)), fmt, output, bom, as_json, progress)


@app.command("complaints")
def complaints(ctx: typer.Context, start: str = FROM, end: str = TO, fmt: str = FORMAT, output: str = OUTPUT,
               bom: bool = BOM, as_json: bool = JSON, progress: bool = PROGRESS) -> None:
    """Complaints by category: opened, closed (late), escalated in the period; open and overdue now."""
    _emit(_common.services(ctx).reports.complaints(_period(ctx, start, end)), fmt, output, bom, as_json, progress)


@app.command("campaigns")
def campaigns(ctx: typer.Context, start: str = FROM, end: str = TO,
              campaign: str = typer.Option(None, "--campaign", help="Only this campaign."),
              fmt: str = FORMAT, output: str = OUTPUT, bom: bool = BOM, as_json: bool = JSON, progress: bool = PROGRESS) -> None:
    """Campaign contacts made in the period: reached (SMS sent/delivered, call list) and converted."""
    svc = _common.services(ctx).reports
    _emit(svc.campaigns(_period(ctx, start, end), campaign=campaign), fmt, output, bom, as_json, progress)


@app.command("calls")
def calls(ctx: typer.Context, start: str = FROM, end: str = TO,
          caller: str = typer.Option(None, "--caller", help="Only calls from this number."),
          result: str = typer.Option(None, "--result", help="Only calls with this result."),
          fmt: str = FORMAT, output: str = OUTPUT, bom: bool = BOM, as_json: bool = JSON, progress: bool = PROGRESS) -> None:
    """Call detail records (one row per call); times are UTC."""
    import sys

    svc = _common.services(ctx).reports
    want_count = progress is True or (progress is None and sys.stderr.isatty())  # the row count feeds the bar only
    _emit(svc.calls(_period(ctx, start, end), caller=caller, result=result, count=want_count), fmt, output, bom, as_json, progress)


@app.command("queues")
def queues(ctx: typer.Context, start: str = FROM, end: str = TO,
           interval: str = typer.Option("day", "--interval", "-i", help="30m | 1h | day (local time)."),
           queue: str = typer.Option(None, "--queue", help="Only this queue."),
           fmt: str = FORMAT, output: str = OUTPUT, bom: bool = BOM, as_json: bool = JSON, progress: bool = PROGRESS) -> None:
    """Queues by interval: offered, answered, abandoned, overflowed, service level (reports.service_level_seconds),
    average speed of answer and handle time, in seconds."""
    svc = _common.services(ctx).reports
    _emit(svc.queues(_period(ctx, start, end), interval=interval, queue=queue), fmt, output, bom, as_json, progress)


@app.command("agents")
def agents(ctx: typer.Context, start: str = FROM, end: str = TO,
           agent: str = typer.Option(None, "--agent", help="Only this agent."),
           queue: str = typer.Option(None, "--queue", help="Only calls and surveys of this queue."),
           fmt: str = FORMAT, output: str = OUTPUT, bom: bool = BOM, as_json: bool = JSON, progress: bool = PROGRESS) -> None:
    """Agents: signed-in, ready, paused (by reason), talk and wrap-up seconds; calls, orders, conversion,
    survey and QA scores."""
    svc = _common.services(ctx).reports
    _emit(svc.agents(_period(ctx, start, end), agent=agent, queue=queue), fmt, output, bom, as_json, progress)


@app.command("custom")
def custom(ctx: typer.Context, name: str = typer.Argument(..., help="The report's name (see cc report list)."),
           param: list[str] = typer.Option([], "--param", "-p", help="NAME=VALUE for a parameter of the query; repeat."),
           start: str = FROM, end: str = TO, fmt: str = FORMAT, output: str = OUTPUT, bom: bool = BOM,
           as_json: bool = JSON, progress: bool = PROGRESS) -> None:
    """A site's own report: a named SELECT from the config, run on a read-only connection."""
    from cc.errors import UsageError

    values = {}
    for item in param:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {item!r} is not NAME=VALUE", "e.g. --param since=2026-11-01")
        values[key.strip()] = value
    svc = _common.services(ctx).reports
    _emit(svc.custom(name, values, _period(ctx, start, end)), fmt, output, bom, as_json, progress)
