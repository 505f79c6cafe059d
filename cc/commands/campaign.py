"""``cc campaign``: customer-care and marketing campaigns, made to be run by cron."""

from __future__ import annotations

import typer

from cc.commands import _common

app = typer.Typer(help="Campaigns: add, list, show, preview, run, calls, next, done, pause, resume.", no_args_is_help=True)


def _svc(ctx: typer.Context):  # noqa: ANN202
    return _common.services(ctx).campaigns


def _load_file(path: str) -> list[dict]:
    from cc.errors import UsageError
    from cc.yamlfile import read_file

    shape = "a list of campaigns (or a 'campaigns:' key holding one)"
    doc = read_file(path, "campaign file", "check the file name", shape=shape, list_ok=True)
    data = doc.data.get("campaigns") if isinstance(doc.data, dict) else doc.data
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise UsageError(f"{path}: expected {shape}", "see examples/campaigns.yaml")
    return data


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(None, help="Campaign name (no spaces); omit with --file."),
    segment: str = typer.Option(None, "--segment", help="all | dormant:DAYS | ending:DAYS | birthday | first_order:DAYS | tag:NAME"),
    filter_: str = typer.Option("", "--filter", help="Extra conditions, e.g. \"zone = 海淀 and balance < 10\"."),
    channel: str = typer.Option("sms", "--channel", help="sms | call (agents' call list) | sms_then_call."),
    template: str = typer.Option("", "--template", help="SMS text; fields {name} {brand} {hotline} {end_date} {zone}."),
    window_days: int = typer.Option(30, "--window-days", min=1, help="Contact each customer at most once per this many days."),
    max_per_run: int = typer.Option(None, "--max-per-run", min=1, help="Rate limit per run (default campaigns.max_per_run)."),
    description: str = typer.Option("", "--description", help="What the campaign is for."),
    file: str = typer.Option(None, "--file", help="A YAML file with a list of campaigns (see examples/campaigns.yaml)."),
) -> None:
    """Add a campaign, or replace the one with the same name (from options or a YAML file)."""
    from cc.errors import UsageError

    svc = _svc(ctx)
    if file:
        if name or segment:
            raise UsageError("give either --file or NAME with --segment, not both", "cc campaign add --file campaigns.yaml")
        results = svc.add_many(_load_file(file), source=file)
    else:
        if not name or not segment:
            raise UsageError("a campaign needs a NAME and --segment (or --file)", "e.g. cc campaign add winback --segment dormant:30 --template '...'")
        results = [svc.add(name=name, segment=segment, filter=filter_, channel=channel, template=template,
                           window_days=window_days, max_per_run=max_per_run, description=description)]
    for campaign, created in results:
        _common.info(f"{'added' if created else 'updated'} campaign {campaign['name']}")


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Campaigns with their contacts and conversions so far."""
    found = _svc(ctx).list()
    if as_json:
        _common.print_json(found)
        return
    _common.print_table(
        ["name", "segment", "filter", "channel", "window", "active", "contacts", "converted"],
        [[c["name"], c["segment"], c["filter"], c["channel"], f"{c['window_days']}d", "yes" if c["active"] else "paused",
          c["stats"]["contacts"], c["stats"]["converted"]] for c in found],
    )


@app.command("show")
def show(ctx: typer.Context, name: str = typer.Argument(..., help="Campaign name."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One campaign: its definition and results (reached, converted within N days of contact)."""
    campaign = _svc(ctx).show(name)
    if as_json:
        _common.print_json(campaign)
        return
    stats = campaign.pop("stats")
    _common.print_table(["", ""], [[k, v] for k, v in campaign.items() if k not in ("id",)])
    _common.print_table(["result", "count"], [[k, v] for k, v in stats.items()], title="results")


@app.command("preview")
def preview(ctx: typer.Context, name: str = typer.Argument(..., help="Campaign name."),
            samples: int = typer.Option(None, "--samples", min=0, help="How many sample messages to render."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """What a run would do now: counts (eligible, opted out, blacklisted, already contacted, held by the rate
    limit) and sample messages. Changes nothing."""
    found = _svc(ctx).preview(name, samples)
    if as_json:
        _common.print_json(found)
        return
    _common.print_table(["count", "customers"], [[k, v] for k, v in found["counts"].items()], title=f"{name}: {found['segment']}")
    if found["samples"]:
        _common.print_table(["phone", "name", "message"], [[s["phone"], s["name"], s["text"]] for s in found["samples"]], title="samples")
    if not found["marketing_allowed_now"]:
        _common.info("quiet hours now: queued SMS wait for the send window")


@app.command("run")
def run(ctx: typer.Context, name: str = typer.Argument(None, help="Campaign name (or --all)."),
        all_: bool = typer.Option(False, "--all", help="Run every active campaign (for cron)."),
        as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON.")) -> None:
    """Contact the segment once per window (safe to run from cron as often as you like)."""
    from cc.errors import UsageError

    if bool(name) == all_:
        raise UsageError("give a campaign name or --all (not both)", "e.g. cc campaign run birthday-greeting")
    svc = _svc(ctx)
    results = svc.run_all() if all_ else [svc.run(name)]
    if as_json:
        _common.print_json(results if all_ else results[0])
        return
    for r in results:
        _common.info(f"{r['campaign']}: {r['sms_queued']} SMS queued, {r['call_list_added']} added to the call list,"
                     f" {r['follow_up_calls']} follow-up calls, {r['held_by_rate_limit']} held by the rate limit")


@app.command("calls")
def calls(ctx: typer.Context, name: str = typer.Argument(..., help="Campaign name."),
          status: str = typer.Option("pending", "--status", help="pending, claimed, done or skipped."),
          limit: int = typer.Option(200, "--limit", min=1, help="At most this many."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The campaign's outbound call list (worked by agents with preview dialing)."""
    found = _svc(ctx).call_list(name, status, limit)
    if as_json:
        _common.print_json(found)
        return
    _common.print_table(["id", "phone", "name", "reason", "status", "added (UTC)"],
                        [[r["id"], r["phone"], r["name"], r["reason"], r["status"], r["created_at"][:16].replace("T", " ")] for r in found])


@app.command("next")
def next_call(ctx: typer.Context, name: str = typer.Argument(None, help="Campaign name (default: any campaign's list)."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Preview dialing: take the next customer from a call list (yours until you finish it)."""
    row = _svc(ctx).next_call(name)
    if as_json:
        _common.print_json(row)
        return
    if row is None:
        _common.info("the call list is empty")
        return
    _common.print_table(["", ""], [[k, row[k]] for k in ("id", "campaign", "phone", "name", "address", "reason")])


@app.command("done")
def done(ctx: typer.Context, call_id: int = typer.Argument(..., help="The call-list entry (from cc campaign next)."),
         outcome: str = typer.Option(..., "--outcome", help="What came of the call."),
         skip: bool = typer.Option(False, "--skip", help="Not reached (no answer, wrong number): mark it skipped.")) -> None:
    """Record the outcome of a call-list entry you took with 'cc campaign next'."""
    row = _svc(ctx).finish_call(call_id, outcome, skipped=skip)
    _common.info(f"call-list entry {row['id']}: {row['status']}")


@app.command("pause")
def pause(ctx: typer.Context, name: str = typer.Argument(..., help="Campaign name.")) -> None:
    """Stop running a campaign (cron runs refuse it until resumed)."""
    _svc(ctx).set_active(name, False)
    _common.info(f"campaign {name} paused")


@app.command("resume")
def resume(ctx: typer.Context, name: str = typer.Argument(..., help="Campaign name.")) -> None:
    """Run a paused campaign again."""
    _svc(ctx).set_active(name, True)
    _common.info(f"campaign {name} resumed")
