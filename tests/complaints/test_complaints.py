"""Complaints: SLA deadline per category and priority, timeline, assignment, escalation of overdue ones
(once, from cron), closing with an SMS to the customer, links to customer/order/call, and the CLI."""

from __future__ import annotations

import json

import pytest
from care_helpers import LI, MILK, ZHANG, query

from cc.errors import NotFound, PermissionDenied, Refused, UsageError


def test_new_sets_the_sla_deadline_from_category_and_priority(world):
    normal = world.complaints.new(phone="13800138000", category="delivery", text="牛奶没有送到")
    high = world.complaints.new(phone=ZHANG, category="delivery", text="又没送到", priority="high")
    low = world.complaints.new(phone=ZHANG, category="other", text="建议", priority="low")
    assert normal.due_at == "2026-11-27T02:00:00.000+00:00"  # delivery: 24 h
    assert high.due_at == "2026-11-26T14:00:00.000+00:00"  # high: half
    assert low.due_at == "2026-12-02T02:00:00.000+00:00"  # other 72 h, low: double
    assert (normal.status, normal.category_label, normal.customer_name) == ("open", "配送问题", "张三")


def test_new_links_order_and_call_and_checks_them(world):
    order = world.orders.new(phone=ZHANG, items=[(MILK, 1)], deliveries=2)
    world.db.execute("INSERT INTO calls (id, caller, started_at) VALUES ('call-1', ?, '2026-11-26T01:59:00.000+00:00')", (ZHANG,))
    complaint = world.complaints.new(phone=ZHANG, category="quality", text="牛奶变质", order_code=order.code, call_id="call-1")
    assert (complaint.order_code, complaint.call_id) == (order.code, "call-1")
    with pytest.raises(Refused, match="another customer"):
        world.complaints.new(phone=LI, category="quality", text="x", order_code=order.code)
    with pytest.raises(NotFound):
        world.complaints.new(phone=ZHANG, category="quality", text="x", call_id="no-such-call")
    with pytest.raises(UsageError, match="category"):
        world.complaints.new(phone=ZHANG, category="weather", text="x")
    with pytest.raises(NotFound, match="customer"):
        world.complaints.new(phone="13600136000", category="other", text="x")


def test_timeline_records_every_change_and_is_append_only(world, clock):
    c = world.complaints.new(phone=ZHANG, category="billing", text="多扣了钱")
    clock.advance(minutes=5)
    world.complaints.assign(c.id, "wang")
    world.complaints.note(c.id, "已联系客户")
    world.complaints.close(c.id, "已退款5元")
    kinds = [(e["kind"], e["from_status"], e["to_status"]) for e in world.complaints.timeline(c.id)]
    assert kinds == [("opened", None, "open"), ("assigned", "open", "assigned"), ("note", None, None),
                     ("closed", "assigned", "closed")]
    with pytest.raises(Exception, match="append-only"):
        world.db.execute("UPDATE complaint_events SET text = 'x'")
    with pytest.raises(Refused, match="already closed"):
        world.complaints.close(c.id, "again")
    with pytest.raises(Refused, match="closed"):
        world.complaints.assign(c.id, "li")


def test_close_queues_the_chinese_sms_once(world, db_path):
    c = world.complaints.new(phone=ZHANG, category="delivery", text="没送到")
    closed = world.complaints.close(c.id, "已补送")
    sms = query(db_path, "SELECT phone, text, kind FROM sms_outbox WHERE id = ?", (closed.close_sms_id,))
    assert sms == [{"phone": ZHANG, "kind": "notice",
                    "text": f"【XX乳业】您反馈的问题（编号{c.id}）已处理完毕：已补送。如有疑问请致电116114。"}]
    assert closed.status == "closed" and closed.resolution == "已补送"


def test_escalate_overdue_escalates_each_once(world, clock, db_path):
    fast = world.complaints.new(phone=ZHANG, category="delivery", text="a", priority="high")  # due +12 h
    slow = world.complaints.new(phone=ZHANG, category="other", text="b")  # due +72 h
    done = world.complaints.new(phone=ZHANG, category="delivery", text="c", priority="high")
    world.complaints.close(done.id, "ok")
    clock.advance(hours=11)
    assert world.complaints.escalate_overdue() == []
    clock.advance(hours=2)
    assert [c.id for c in world.complaints.list(overdue=True)] == [fast.id]
    escalated = world.complaints.escalate_overdue()
    assert [(c.id, c.status) for c in escalated] == [(fast.id, "escalated")]
    assert world.complaints.escalate_overdue() == []  # cron again: nothing new
    assert world.complaints.get(slow.id).status == "open"
    events = query(db_path, "SELECT kind, actor FROM complaint_events WHERE complaint_id = ? AND kind = 'escalated'", (fast.id,))
    assert events == [{"kind": "escalated", "actor": "operator"}]


def test_escalate_to_reassigns(world, clock, config):
    config.complaints.escalate_to = "li"
    c = world.complaints.new(phone=ZHANG, category="delivery", text="a")
    world.complaints.assign(c.id, "wang")
    clock.advance(hours=25)
    (escalated,) = world.complaints.escalate_overdue()
    assert (escalated.status, escalated.assignee) == ("escalated", "li")


def test_roles(world, as_user):
    agent = as_user("wang")
    c = agent.complaints.new(phone=ZHANG, category="service", text="态度不好")
    agent.complaints.note(c.id, "记录")
    with pytest.raises(PermissionDenied):
        agent.complaints.escalate(c.id)
    assert as_user("li").complaints.escalate(c.id).status == "escalated"


def test_cli_end_to_end(world, cli):
    r = cli("complaint", "new", "--phone", ZHANG, "--category", "delivery", "--text", "牛奶没送到", "--priority", "high")
    assert r.code == 0, r
    cid = int(r.out.strip())
    assert cli("complaint", "assign", str(cid), "wang").code == 0
    assert cli("complaint", "note", str(cid), "已联系配送站").code == 0
    r = cli("complaint", "close", str(cid), "--resolution", "已补送")
    assert r.code == 0 and "SMS" in r.err, r
    shown = json.loads(cli("complaint", "show", str(cid), "--json").out)
    assert [e["kind"] for e in shown["timeline"]] == ["opened", "assigned", "note", "closed"]
    listed = json.loads(cli("complaint", "list", "--status", "closed", "--json").out)
    assert [c["id"] for c in listed] == [cid]
    table = cli("complaint", "list")
    assert table.code == 0 and "张三" in table.out
    r = cli("complaint", "escalate")
    assert r.code == 2 and "Error:" in r.err and "Traceback" not in r.err
    r = cli("complaint", "show", "999")
    assert r.code == 1 and "no complaint" in r.err
    r = cli("complaint", "escalate", "--overdue")
    assert r.code == 0 and "escalated 0" in r.err
