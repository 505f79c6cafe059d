"""``cc qa``: quality review of recorded calls. Scorecards (weighted criteria, YAML), the recorded calls to
review, a recording played to a supervisor's phone through Asterisk, scores (a re-score is a new row;
the newest counts) and scores per agent over time with the callers' survey scores beside them."""

from __future__ import annotations

import sys

import typer

from cc.commands import _common

app = typer.Typer(help="QA of recorded calls: import, cards, calls, show, play, score, scores.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print as JSON.")
AGENT = typer.Option(None, "--agent", help="Only this agent's calls.")
FROM = typer.Option(None, "--from", help="First day (YYYY-MM-DD, local); default: reports.default_days ago.")
TO = typer.Option(None, "--to", help="Last day (YYYY-MM-DD, local); default: today.")
CALL = typer.Argument(..., help="The call id (see 'cc qa calls').")


def _svc(ctx: typer.Context, player=None):  # noqa: ANN001, ANN202
    from cc.services.qa import qa_service

    return qa_service(_common.services(ctx), player=player)


def _bounds(ctx: typer.Context, svc, start: str | None, end: str | None) -> tuple[str, str]:  # noqa: ANN001
    return svc.period(_common.parse_date(start, "--from"), _common.parse_date(end, "--to"))


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@app.command("import")
def import_command(ctx: typer.Context, file: str = typer.Argument(..., help="YAML scorecard (see cc/data/qa/default.yaml).")) -> None:
    """Check a scorecard file and load it as the card's next version (scores keep the version they used)."""
    result = _svc(ctx).import_file(file)
    if result["unchanged"]:
        _common.info(f"scorecard {result['name']} unchanged (version {result['version']})")
    else:
        _common.info(f"loaded scorecard {result['name']} version {result['version']}")


@app.command("cards")
def cards_command(ctx: typer.Context, json_out: bool = JSON) -> None:
    """The scorecards (newest version of each) and their weighted criteria."""
    cards = _svc(ctx).cards()
    if json_out:
        _common.print_json(cards)
        return
    label = lambda key: _common.label(ctx, key)  # noqa: E731
    for card in cards:
        title = f"{card['name']} v{card['version']}: {card['title']}"
        rows = [[c["key"], c["label"], f"{c['weight']:g}%", label("qa_yesno") if c["type"] == "yesno" else f"0-{c['max']}"]
                for c in card["criteria"]]
        _common.print_table([label("qa_criterion"), label("qa_label"), label("qa_weight"), label("qa_points")], rows, title=title)


@app.command("calls")
def calls_command(
    ctx: typer.Context,
    agent: str = AGENT,
    start: str = FROM,
    end: str = TO,
    unscored: bool = typer.Option(False, "--unscored", help="Only calls not scored yet."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many, newest first."),
    json_out: bool = JSON,
) -> None:
    """Recorded calls to review, newest first, with the caller's survey score and the QA score."""
    svc = _svc(ctx)
    calls = svc.calls(*_bounds(ctx, svc, start, end), agent=agent, unscored=unscored, limit=limit)
    if json_out:
        _common.print_json(calls)
        return
    label = lambda key: _common.label(ctx, key)  # noqa: E731
    columns = [label("call"), label("at"), label("qa_agent"), label("qa_queue"), label("phone"), label("qa_duration"),
               label("qa_survey"), label("qa_score"), label("qa_scored_by")]
    rows = [[c["call"], c["local_at"], c["agent"], c["queue"], c["caller"], _num(c["duration_s"]),
             _num(c["survey"]), _num(c["qa_total"]), c["scored_by"] or ""] for c in calls]
    _common.print_table(columns, rows)


@app.command("show")
def show_command(ctx: typer.Context, call: str = CALL, json_out: bool = JSON) -> None:
    """One recorded call with every score it was given (the newest counts)."""
    found = _svc(ctx).call(call)
    if json_out:
        _common.print_json(found)
        return
    for key in ("call", "local_at", "agent", "queue", "caller", "duration_s", "survey", "recording", "qa_total"):
        sys.stdout.write(f"{key}: {'' if found[key] is None else found[key]}\n")
    for score in found["scores"]:
        answers = " ".join(f"{k}={v}" for k, v in score["answers"].items())
        sys.stdout.write(f"score {score['id']} {score['at'][:16].replace('T', ' ')} {score['scorer']}"
                         f" {score['card']} v{score['card_version']}: {score['total']:g}  {answers}"
                         f"{'  # ' + score['comment'] if score['comment'] else ''}\n")


@app.command("play")
def play_command(
    ctx: typer.Context,
    call: str = CALL,
    to: str = typer.Option(None, "--to", help="Ring this phone number instead (e.g. 13800138000)."),
    user: str = typer.Option(None, "--user", help="Ring this supervisor's phone (default: the acting user's, cc --user)."),
    dial: str = typer.Option(None, "--dial", help="Ring this phone as is (a dial string, e.g. PJSIP/2001)."),
    wait: float = typer.Option(0, "--wait", min=0, help="Follow the call up to SECONDS; exit 1 unless it was played to the end."),
    json_out: bool = JSON,
) -> None:
    """Ring a supervisor's phone through Asterisk (AMI) and play the call's recording when they answer."""
    from cc.services.qa import ControlPlayer
    from cc.telephony.control_wiring import call_control

    services = _common.services(ctx)
    with call_control(services, events=bool(wait)) as control:
        player = ControlPlayer(control, follow=bool(wait))
        try:
            result = _svc(ctx, player).play(call, to=to, user=user, dial=dial, wait=wait or None)
        finally:
            player.close()
    if json_out:
        _common.print_json(result)
    elif result.get("played"):
        sys.stdout.write(f"played {result['recording']} to {result['to']} ({result['dial']})\n")
    else:
        sys.stdout.write(f"ringing {result['to']} ({result['dial']}) to play {result['recording']}\n")


@app.command("score")
def score_command(
    ctx: typer.Context,
    call: str = CALL,
    card: str = typer.Option(None, "--card", help="Scorecard name (default: the card loaded last; see 'cc qa cards')."),
    values: list[str] = typer.Option([], "--set", help="CRITERION=VALUE, once per criterion (yes/no or points)."),
    comment: str = typer.Option("", "--comment", help="A note for the agent."),
    json_out: bool = JSON,
) -> None:
    """Score a recorded call (supervisors); scoring it again adds a new score that replaces the earlier one."""
    from cc.errors import UsageError

    answers: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--set '{item}' is not CRITERION=VALUE", "write e.g. --set greeting=yes --set courtesy=4")
        if key.strip() in answers:
            raise UsageError(f"--set {key.strip()} is given twice", "give each criterion once")
        answers[key.strip()] = value.strip()
    result = _svc(ctx).score(call, answers, card=card, comment=comment)
    if json_out:
        _common.print_json(result)
        return
    sys.stdout.write(f"{result['total']:g}\n")
    again = f" (replaces score {result['replaces']})" if result["replaces"] else ""
    _common.info(f"call {call} ({result['agent']}) scored {result['total']:g}/100 on {result['card']} v{result['card_version']}{again}")


@app.command("scores")
def scores_command(
    ctx: typer.Context,
    agent: str = AGENT,
    by: str = typer.Option("week", "--by", help="day, week or month."),
    start: str = FROM,
    end: str = TO,
    json_out: bool = JSON,
) -> None:
    """QA scores per agent and period (calls scored, average 0-100) beside the callers' survey scores (1-5)."""
    svc = _svc(ctx)
    rows = svc.scores(*_bounds(ctx, svc, start, end), agent=agent, by=by)
    if json_out:
        _common.print_json(rows)
        return
    label = lambda key: _common.label(ctx, key)  # noqa: E731
    columns = [label("qa_period"), label("qa_agent"), label("qa_scored"), label("qa_average"), label("qa_surveys"),
               label("qa_survey_average")]
    _common.print_table(columns, [[r["period"], r["agent"], r["scored"], _num(r["qa_average"]), r["surveys"],
                                   _num(r["survey_average"])] for r in rows])
