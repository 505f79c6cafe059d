"""Campaigns: segments and filters, one contact per customer per window (idempotent cron runs), opt-out
and blacklist, quiet hours through the SMS gateway, a preview that changes nothing, the rate limit,
sms_then_call follow-ups, conversions, and the CLI with the shipped examples."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from care_helpers import LI, MILK, WANG, ZHANG, query, snapshot

from cc.domain.campaigns import CampaignRuleError, compile_filter, parse_segment, window_no
from cc.errors import PermissionDenied, UsageError

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples" / "campaigns.yaml"
HELLO = "【{brand}】{name}您好"


def marketing(db_path) -> list[dict]:  # noqa: ANN001
    return query(db_path, "SELECT phone, text FROM sms_outbox WHERE kind = 'marketing' ORDER BY phone")


def paid_order(svc, phone: str, deliveries: int = 2):  # noqa: ANN001, ANN201
    order = svc.orders.new(phone=phone, items=[(MILK, 1)], deliveries=deliveries)
    return svc.orders.confirm(order.code)


def test_run_twice_sends_one_message_each(world, clock, db_path):
    world.campaigns.add(name="hello", segment="all", template=HELLO, window_days=7)
    first = world.campaigns.run("hello")
    assert first["sms_queued"] == 3
    assert world.campaigns.run("hello")["sms_queued"] == 0
    clock.advance(days=1)
    assert world.campaigns.run("hello")["sms_queued"] == 0
    assert [m["text"] for m in marketing(db_path)] == ["【XX乳业】王五您好", "【XX乳业】张三您好", "【XX乳业】李四您好"]
    assert query(db_path, "SELECT COUNT(*) AS n FROM campaign_contacts")[0]["n"] == 3
    clock.advance(days=7)  # next window
    assert world.campaigns.run("hello")["sms_queued"] == 3


def test_opt_out_and_blacklist_are_skipped(world, db_path):
    world.customers.set_opt_out(LI, True)
    world.customers.edit(WANG, add_tags=["blacklist"])
    world.campaigns.add(name="hello", segment="all", template=HELLO)
    counts = world.campaigns.preview("hello")["counts"]
    assert {k: counts[k] for k in ("matching", "opted_out", "blacklisted", "eligible")} == \
        {"matching": 3, "opted_out": 1, "blacklisted": 1, "eligible": 1}
    assert world.campaigns.run("hello")["sms_queued"] == 1
    assert [m["phone"] for m in marketing(db_path)] == [ZHANG]


def test_quiet_hours_hold_campaign_sms_in_the_gateway(world, clock, db_path):
    clock.set(datetime(2026, 11, 26, 14, 0, tzinfo=timezone.utc))  # 22:00 in Shanghai: quiet
    world.campaigns.add(name="hello", segment="tag:vip", template=HELLO)
    assert world.campaigns.preview("hello")["marketing_allowed_now"] is False
    assert world.campaigns.run("hello")["sms_queued"] == 1
    assert world.sms.claim_next("modem1") is None  # queued, held by the quiet window
    clock.set(datetime(2026, 11, 27, 0, 30, tzinfo=timezone.utc))  # 08:30
    claimed = world.sms.claim_next("modem1")
    assert claimed is not None and claimed.phone == LI and claimed.kind == "marketing"


def test_preview_changes_nothing(world, db_path):
    paid_order(world, ZHANG)
    world.campaigns.add(name="thanks", segment="first_order:2", template="【{brand}】感谢{name}", channel="sms_then_call")
    before = snapshot(db_path)
    found = world.campaigns.preview("thanks", samples=5)
    assert snapshot(db_path) == before
    assert found["counts"]["eligible"] == 1 and found["counts"]["this_run"] == 1
    assert found["samples"] == [{"phone": ZHANG, "name": "张三", "text": "【XX乳业】感谢张三"}]


def test_segments(world, clock):
    world.campaigns.add(name="bday", segment="birthday", template=HELLO)
    world.campaigns.add(name="vip", segment="tag:vip", template=HELLO)
    world.campaigns.add(name="haidian", segment="all", filter="zone = 海淀 or balance < 1", template=HELLO)
    world.campaigns.add(name="dormant", segment="dormant:30", template=HELLO)
    world.campaigns.add(name="ending", segment="ending:3", template="{name}{end_date}")
    world.campaigns.add(name="first", segment="first_order:2", template=HELLO)

    def who(name: str) -> list[str]:
        return sorted(s["name"] for s in world.campaigns.preview(name, samples=10)["samples"])

    assert who("bday") == ["张三"]  # born 1980-11-26, today is 2026-11-26 in Shanghai
    assert who("vip") == ["李四"]
    assert who("haidian") == ["张三", "王五"]  # 王五's balance is 0
    paid_order(world, ZHANG, deliveries=3)  # daily from tomorrow: ends 2026-11-29
    clock.advance(days=40)
    paid_order(world, LI, deliveries=10)
    assert who("dormant") == ["张三"]
    assert who("first") == ["李四"]
    clock.advance(days=-40)
    found = world.campaigns.preview("ending", samples=5)["samples"]
    assert [(s["name"], s["text"]) for s in found] == [("张三", "张三2026-11-29")]


def test_rate_limit_spreads_over_runs(world):
    world.campaigns.add(name="hello", segment="all", template=HELLO, max_per_run=2)
    first = world.campaigns.run("hello")
    assert (first["sms_queued"], first["held_by_rate_limit"]) == (2, 1)
    assert world.campaigns.run("hello")["sms_queued"] == 1
    assert world.campaigns.run("hello")["sms_queued"] == 0


def test_sms_then_call_puts_non_responders_on_the_call_list(world, clock, db_path):
    world.campaigns.add(name="winback", segment="all", channel="sms_then_call", template=HELLO, window_days=30)
    world.campaigns.run("winback")
    clock.advance(days=1)
    paid_order(world, ZHANG)  # responded by ordering
    world.db.execute(
        "INSERT INTO sms_inbox (modem, sender, text, stored_at, dedupe_key) VALUES ('m1', ?, '好的', ?, 'k1')",
        (LI, "2026-11-27T03:00:00.000+00:00"),
    )  # responded by SMS
    assert world.campaigns.run("winback")["follow_up_calls"] == 0  # not due yet (2 days)
    clock.advance(days=2)
    assert world.campaigns.run("winback")["follow_up_calls"] == 1
    assert world.campaigns.run("winback")["follow_up_calls"] == 0
    assert [r["phone"] for r in world.campaigns.call_list("winback")] == [WANG]
    stats = world.campaigns.show("winback")["stats"]
    assert (stats["contacts"], stats["call_list"], stats["converted"]) == (3, 1, 1)


def test_call_channel_and_conversions(world, clock):
    world.campaigns.add(name="callvip", segment="tag:vip", channel="call", window_days=30)
    assert world.campaigns.run("callvip")["call_list_added"] == 1
    clock.advance(days=8)
    paid_order(world, LI)  # 8 days later: outside the 7-day conversion window
    assert world.campaigns.show("callvip")["stats"]["converted"] == 0
    world.campaigns.add(name="hello", segment="tag:vip", template=HELLO)
    world.campaigns.run("hello")
    clock.advance(days=6)
    paid_order(world, LI)
    stats = world.campaigns.show("hello")["stats"]
    assert (stats["contacts"], stats["converted"], stats["conversion_rate"]) == (1, 1, 1.0)


def test_definition_errors_and_roles(world, as_user):
    with pytest.raises(UsageError, match="segment"):
        world.campaigns.add(name="x", segment="rich:5", template=HELLO)
    with pytest.raises(UsageError, match="unknown field"):
        world.campaigns.add(name="x", segment="all", template="{name.__class__}")
    with pytest.raises(UsageError, match="needs a --template"):
        world.campaigns.add(name="x", segment="all", channel="sms")
    with pytest.raises(UsageError, match="filter"):
        world.campaigns.add(name="x", segment="all", template=HELLO, filter="zone = 海淀 or 1 = 1")
    with pytest.raises(PermissionDenied):
        as_user("wang").campaigns.add(name="x", segment="all", template=HELLO)


def test_filter_language_is_parameterised():
    sql, params = compile_filter("zone = \"海淀'; DROP TABLE customers; --\" and not tag = vip", "2026-11-26T02:00:00.000+00:00")
    assert "DROP" not in sql and params == ["海淀'; DROP TABLE customers; --", "vip"]
    for bad in ("zone", "zone = ", "(zone = a", "phone = 1", "balance ~ 5", "zone = a b"):
        with pytest.raises(CampaignRuleError):
            compile_filter(bad, "now")
    assert str(parse_segment(" Dormant:30 ")) == "dormant:30"
    assert window_no(datetime(2026, 11, 26).date(), 1) != window_no(datetime(2026, 11, 27).date(), 1)


def test_cli_with_the_shipped_examples(world, cli, db_path):
    r = cli("campaign", "add", "--file", str(EXAMPLES))
    assert r.code == 0 and "added campaign birthday-greeting" in r.err, r
    names = [c["name"] for c in json.loads(cli("campaign", "list", "--json").out)]
    assert names == ["birthday-greeting", "first-order-thanks", "subscription-ending", "vip-haidian-call", "winback"]
    preview = json.loads(cli("campaign", "preview", "birthday-greeting", "--json").out)
    assert preview["samples"][0]["text"] == "【XX乳业】张三您好，祝您生日快乐！感谢您一直以来对我们的支持。"
    r = cli("campaign", "run", "birthday-greeting")
    assert r.code == 0 and "1 SMS queued" in r.err, r
    r = cli("campaign", "run", "--all", "--json")
    assert r.code == 0 and all(x["sms_queued"] == 0 for x in json.loads(r.out)), r
    r = cli("campaign", "run", "vip-haidian-call")
    assert r.code == 1 and "paused" in r.err
    shown = json.loads(cli("campaign", "show", "birthday-greeting", "--json").out)
    assert shown["stats"]["contacts"] == 1
    assert cli("campaign", "show", "birthday-greeting").code == 0
    r = cli("campaign", "add", "bad", "--segment", "nope", "--template", "x")
    assert r.code == 2 and "Traceback" not in r.err and "Hint:" in r.err
    r = cli("campaign", "add", "--file", str(db_path.parent / "missing.yaml"))
    assert r.code == 1 and f"campaign file {db_path.parent / 'missing.yaml'} not found" in r.err
    (db_path.parent / "broken.yaml").write_text("campaigns:\n  - name: x\n    segment: [all\n", encoding="utf-8")
    r = cli("campaign", "add", "--file", str(db_path.parent / "broken.yaml"))
    assert r.code == 2 and f"{db_path.parent / 'broken.yaml'}, line 4: not valid YAML" in r.err


def test_a_concurrent_run_never_contacts_twice(world, db_path, clock, config):
    """Two cron runs overlapping: the second works from a candidate list taken before the first committed;
    the UNIQUE (campaign, customer, window) key and the SMS idempotency key make it add nothing."""
    from care_helpers import make_services

    world.campaigns.add(name="hello", segment="all", template=HELLO)
    stale = world.campaigns.campaigns.eligible(limit=100, **world.campaigns._query(world.campaigns.get("hello")))
    other = make_services(db_path, clock, config=config)
    assert other.campaigns.run("hello")["sms_queued"] == 3
    world.campaigns.campaigns.eligible = lambda limit, **query: stale  # the overlapping run's view
    again = world.campaigns.run("hello")
    assert (again["sms_queued"], again["skipped_already_contacted"]) == (0, 3)
    assert len(marketing(db_path)) == 3
    linked = query(db_path, "SELECT COUNT(*) AS n FROM campaign_contacts WHERE outbox_id IS NOT NULL")
    assert linked == [{"n": 3}]


def test_preview_dialing_from_the_call_list(world, as_user, cli):
    world.campaigns.add(name="callall", segment="all", channel="call")
    assert world.campaigns.run("callall")["call_list_added"] == 3
    wang = as_user("wang")
    first = wang.campaigns.next_call("callall")
    second = as_user("li").campaigns.next_call()
    assert first["phone"] != second["phone"] and (first["agent"], second["agent"]) == ("wang", "li")
    assert first["campaign"] == "callall" and first["name"]
    with pytest.raises(Exception, match="claimed"):
        wang.campaigns.finish_call(second["id"], "已续订")  # li's, not wang's
    assert wang.campaigns.finish_call(first["id"], "已续订")["status"] == "done"
    r = cli("campaign", "next", "--json", user="wang")
    third = json.loads(r.out)
    assert r.code == 0 and third["status"] == "claimed"
    assert cli("campaign", "done", str(third["id"]), "--outcome", "无人接听", "--skip", user="wang").code == 0
    assert json.loads(cli("campaign", "next", "--json", user="wang").out) is None
    assert [c["status"] for c in world.campaigns.call_list("callall", status=None)] == ["done", "claimed", "skipped"]
