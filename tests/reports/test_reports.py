"""Reports over a fixed history built through the services with a frozen clock; numbers checked against
expectations computed by hand (in the comments). CSV (with BOM, Chinese, formula cells), JSON and XLSX
round trips; custom reports on a read-only connection; the CLI."""

from __future__ import annotations

import csv
import io
import json
from types import SimpleNamespace

import pytest
from care_helpers import LI, MILK, WANG, YOGURT, ZHANG, snapshot

from cc.csvio import read_csv, write_csv
from cc.errors import PermissionDenied, Refused, UsageError
from cc.reportio import read_xlsx, write_xlsx_report

DAY1, DAY2 = "2026-11-26", "2026-11-27"


def _send(svc, modem: str = "m1", reference: int = 1):  # noqa: ANN001, ANN202
    claimed = svc.sms.claim_next(modem)
    svc.sms.record_sent(modem, claimed, [SimpleNamespace(reference=reference, part_no=1, parts=1)])
    return claimed


def _reply(svc, phone: str, text: str) -> None:  # noqa: ANN001
    inbox_id = svc.sms.store_incoming("m1", SimpleNamespace(text=text, sender=phone, received_at=None, parts=1))
    svc.sms.handle_incoming(inbox_id)


@pytest.fixture
def history(world, as_user, clock):
    """T0 = 2026-11-26 10:00 Shanghai.
    A  张三 鲜牛奶x1, 2 deliveries = 10.00; SMS sent at T0 and delivered; "Y" after 90 s -> charged.
    B  张三 酸奶x2, 1 delivery = 7.00; SMS sent at T0+100 s; "N" after 30 s -> rejected.
    C  李四, entered by wang: 鲜牛奶x2, 3 deliveries = 30.00; confirmed by phone; 5.00 refunded.
    D  (next day) 张三 鲜牛奶x1 + 酸奶x1, 1 delivery = 8.50; waiting for the SMS answer."""
    a = world.orders.new(phone=ZHANG, items=[(MILK, 1)], deliveries=2)
    _send(world, reference=11)
    world.sms.record_report("m1", SimpleNamespace(reference=11, status_code=0, delivered=True, recipient=ZHANG, at=None))
    clock.advance(90)
    _reply(world, ZHANG, "Y")
    clock.advance(10)
    b = world.orders.new(phone=ZHANG, items=[(YOGURT, 2)], deliveries=1)
    claimed = world.sms.claim_next("m1")
    while claimed.kind != "confirmation":  # the "confirmed" answer to A goes first in the outbox order
        world.sms.record_send_error("m1", claimed, "test: not sent", destination_fault=False)
        claimed = world.sms.claim_next("m1")
    world.sms.record_sent("m1", claimed, [SimpleNamespace(reference=12, part_no=1, parts=1)])
    clock.advance(30)
    _reply(world, ZHANG, "N")
    agent = as_user("wang")
    c = agent.orders.new(phone=LI, items=[(MILK, 2)], deliveries=3)
    agent.orders.confirm(c.code)
    world.orders.refund(c.code, amount_fen=500, reason="少送一瓶")
    clock.advance(days=1)
    d = world.orders.new(phone=ZHANG, items=[(MILK, 1), (YOGURT, 1)], deliveries=1)
    return SimpleNamespace(a=a, b=b, c=c, d=d, svc=world)


def _period(svc, start: str = DAY1, end: str = DAY2):  # noqa: ANN001, ANN202
    from datetime import date

    return svc.reports.period(date.fromisoformat(start), date.fromisoformat(end))


def test_orders_by_status_day_agent_product(history):
    svc = history.svc
    by_status = svc.reports.orders(_period(svc))
    statuses = {row[0]: row[1:] for row in by_status.rows}
    a_status = svc.orders.get(history.a.code).status
    assert statuses.pop("rejected") == (1, 0, "7.00", "0.00")
    assert statuses.pop("awaiting_confirmation") == (1, 0, "8.50", "0.00")
    # A and C are paid (charged, or further on to the dairy); revenue = charged less refunded.
    paid = {k: v for k, v in statuses.items()}
    assert sum(v[0] for v in paid.values()) == 2 and a_status in paid
    assert by_status.summary == {"orders": 4, "revenue": "35.00"}  # 10.00 + (30.00 - 5.00)

    by_day = svc.reports.orders(_period(svc), by="day")
    assert list(by_day.rows) == [(DAY1, 3, 2, "47.00", "35.00"), (DAY2, 1, 0, "8.50", "0.00")]
    by_agent = svc.reports.orders(_period(svc), by="agent")
    assert list(by_agent.rows) == [("operator", 3, 1, "25.50", "10.00"), ("wang", 1, 1, "30.00", "25.00")]
    by_product = svc.reports.orders(_period(svc), by="product")
    # 鲜牛奶: A 1x2 + C 2x3 + D 1x1 = 9 units, 10.00 + 30.00 + 5.00; revenue 10.00 + 30.00 * 25/30 = 35.00
    # 酸奶: B 2x1 + D 1x1 = 3 units, 7.00 + 3.50; nothing paid
    assert list(by_product.rows) == [(MILK, "鲜牛奶", 3, 2, 9, "45.00", "35.00"), (YOGURT, "酸奶", 2, 0, 3, "10.50", "0.00")]
    only_day2 = svc.reports.orders(_period(svc, DAY2, DAY2), by="day")
    assert list(only_day2.rows) == [(DAY2, 1, 0, "8.50", "0.00")]
    yogurt = svc.reports.orders(_period(svc), by="status", product=YOGURT)
    assert sorted(r[0] for r in yogurt.rows) == ["awaiting_confirmation", "rejected"]
    assert list(svc.reports.orders(_period(svc), by="agent", agent="wang").rows) == [("wang", 1, 1, "30.00", "25.00")]
    with pytest.raises(UsageError):
        svc.reports.orders(_period(svc), by="weather")


def test_sms_report(history):
    svc = history.svc
    report = svc.reports.sms(_period(svc))
    rows = {r[0]: r[1:] for r in report.rows}
    # confirmations: A (delivered), B (sent), C and D queued. Answers: "confirmed" (A, one failed attempt,
    # queued again) and "rejected" (B), both queued.
    assert rows["confirmation"] == (4, 2, 1, 0, 2, 0.5)
    assert rows["reply"] == (2, 0, 0, 0, 2, None)
    s = report.summary
    assert (s["confirmation_requests"], s["confirmed_by_reply"], s["rejected_by_reply"]) == (4, 1, 1)
    assert s["confirmation_rate"] == 0.25
    assert (s["reply_seconds_avg"], s["reply_seconds_median"]) == (60.0, 60.0)  # 90 s and 30 s


def test_complaints_report(world, clock):
    c = world.complaints
    k1 = c.new(phone=ZHANG, category="delivery", text="没送到")  # due +24 h
    k2 = c.new(phone=ZHANG, category="quality", text="变质", priority="high")  # due +12 h
    k3 = c.new(phone=LI, category="billing", text="多扣")  # due +48 h
    k4 = c.new(phone=WANG, category="delivery", text="送错", priority="high")  # due +12 h
    clock.advance(hours=1)
    c.escalate(k3.id)
    clock.advance(hours=5)
    c.close(k1.id, "已补送")  # 6 h, on time
    clock.advance(hours=18)
    c.close(k4.id, "已更换")  # 24 h, late
    clock.advance(hours=1)  # now: T0 + 25 h; k2 overdue since T0 + 12 h
    report = world.reports.complaints(_period(world))
    assert list(report.rows) == [
        ("billing", "扣款/账户", 1, 0, 0, 1, 1, 0, None),
        ("delivery", "配送问题", 2, 2, 1, 0, 0, 0, 15.0),
        ("quality", "产品质量", 1, 0, 0, 0, 1, 1, None),
    ]
    assert report.summary == {"opened": 4, "closed": 2, "open_now": 2, "overdue_now": 1}
    assert k2.id  # (open, overdue)


def test_campaigns_report(world, clock):
    world.campaigns.add(name="vip", segment="tag:vip", template="【{brand}】{name}您好")
    world.campaigns.add(name="all", segment="all", template="hi {name}")
    world.campaigns.run("vip")
    world.campaigns.run("all")
    clock.advance(days=2)
    order = world.orders.new(phone=LI, items=[(MILK, 1)], deliveries=1)
    world.orders.confirm(order.code)
    report = world.reports.campaigns(_period(world, DAY1, "2026-11-28"))
    assert list(report.rows) == [
        ("all", "sms", 3, 0, 0, 0, 0, 1, 0.3333),
        ("vip", "sms", 1, 0, 0, 0, 0, 1, 1.0),
    ]
    assert report.summary == {"contacts": 4, "converted": 2}
    assert list(world.reports.campaigns(_period(world, "2026-11-28", "2026-11-28")).rows)[0][2] == 0


CALLS = [
    # id, caller, customer, started, answered, ended, result, reason
    ("c1", ZHANG, 1, "2026-11-26T01:00:00.000+00:00", "2026-11-26T01:00:05.000+00:00", "2026-11-26T01:03:05.000+00:00", "completed", "caller hung up"),
    ("c2", "+8613600136000", None, "2026-11-26T01:10:00.000+00:00", None, "2026-11-26T01:10:40.000+00:00", "abandoned", "caller hung up in queue"),
    ("c3", LI, 2, "2026-11-26T17:00:00.000+00:00", "2026-11-26T17:00:02.000+00:00", "2026-11-26T17:01:02.000+00:00", "transferred", "transferred to 8001"),
    ("c4", "=HYPERLINK(\"http://x\")", None, "2026-11-27T03:00:00.000+00:00", None, "2026-11-27T03:00:09.000+00:00", "abandoned", "-1+2"),
    ("c5", WANG, 3, "2026-11-27T16:30:00.000+00:00", None, None, None, None),  # next local day (28th)
]


def _add_calls(db) -> None:  # noqa: ANN001
    for call_id, caller, customer_id, started, answered, ended, result, reason in CALLS:
        db.execute(
            "INSERT INTO calls (id, caller, customer_id, started_at, answered_at, ended_at, result, reason, path, dnid)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, '[\"root\",\"orders\"]', '116114')",
            (call_id, caller, customer_id, started, answered, ended, result, reason),
        )


def test_calls_report_rows_and_filters(world):
    _add_calls(world.db)
    report = world.reports.calls(_period(world))
    rows = list(report.rows)
    assert report.total == 4 and [r[0] for r in rows] == ["c1", "c2", "c3", "c4"]  # c5 is on the 28th (local)
    assert rows[0][1:] == ("2026-11-26T01:00:00.000+00:00", ZHANG, "张三", "116114", "completed", "caller hung up",
                           "2026-11-26T01:00:05.000+00:00", "2026-11-26T01:03:05.000+00:00", 5, 185, '["root","orders"]')
    assert (rows[1][3], rows[1][9], rows[1][10]) == (None, None, 40)  # unknown caller, never answered
    assert (rows[2][3], rows[2][9], rows[2][10]) == ("李四", 2, 62)
    abandoned = world.reports.calls(_period(world), result="abandoned")
    assert [r[0] for r in abandoned.rows] == ["c2", "c4"] and abandoned.total == 2
    assert [r[0] for r in world.reports.calls(_period(world), caller="13900139000").rows] == ["c3"]


def test_calls_csv_fast_path_reads_like_write_csv(world):
    """The SQL-rendered CSV parses to exactly what cc.csvio.write_csv writes for the same rows, formula cells
    neutralised, Chinese intact."""
    _add_calls(world.db)
    world.db.execute("UPDATE customers SET name = '@张,\"三\"' WHERE id = 1")
    report = world.reports.calls(_period(world))
    fast = "".join(data.decode() + "\r\n" for data, _ in report.csv_chunks)
    slow = io.StringIO()
    write_csv(slow, report.columns, world.reports.calls(_period(world)).rows)
    slow_rows = list(csv.reader(io.StringIO(slow.getvalue())))[1:]
    assert list(csv.reader(io.StringIO(fast))) == slow_rows
    assert slow_rows[0][3] == "'@张,\"三\"" and slow_rows[0][2] == "'" + ZHANG
    assert slow_rows[3][2] == "'=HYPERLINK(\"http://x\")" and slow_rows[3][6] == "'-1+2"


def test_calls_csv_slices_keep_every_row_once_in_order(world):
    """Many small time slices (chunk=1): every call once, in started_at order, ties included."""
    rows = [(f"t{i:03d}", f"2026-11-26T0{i % 3}:00:{i % 7:02d}.000+00:00") for i in range(60)]
    world.db.conn.executemany("INSERT INTO calls (id, caller, started_at) VALUES (?, '+8613800138000', ?)", rows)
    period = _period(world)
    store = world.reports.reports
    chunks = list(store.calls_csv(period.since, period.until, None, None, chunk=1))
    lines = [line for data, _ in chunks for line in data.decode().split("\r\n")]
    assert len(chunks) >= 3 and sum(n for _, n in chunks) == 60
    assert [line.split(",")[1] for line in lines] == sorted(started for _, started in rows)
    assert sorted(line.split(",")[0].strip('"') for line in lines) == sorted(i for i, _ in rows)
    assert list(store.calls_csv(period.since, period.until, "+8613900139000", None)) == []


def test_csv_round_trip_with_bom_and_chinese(history, cli, tmp_path):
    out = tmp_path / "orders.csv"
    r = cli("report", "orders", "--by", "product", "--from", DAY1, "--to", DAY2, "--format", "csv", "--bom", "-o", str(out))
    assert r.code == 0, r
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = [values for _, values in read_csv(out, ["sku", "product", "revenue"])]
    assert rows[0] == {"sku": MILK, "product": "鲜牛奶", "orders": "3", "paid_orders": "2", "units": "9",
                       "amount": "45.00", "revenue": "35.00"}
    calls = tmp_path / "calls.csv"
    _add_calls(history.svc.db)
    r = cli("report", "calls", "--from", DAY1, "--to", DAY2, "-f", "csv", "--bom", "-o", str(calls), "--progress")
    assert r.code == 0, r
    loaded = [values for _, values in read_csv(calls, ["call_id", "caller"])]
    assert [row["customer"] for row in loaded] == ["张三", "", "李四", ""]
    assert loaded[3]["caller"].startswith("'=")
    r = cli("report", "calls", "--from", DAY1, "--to", DAY2, "-f", "csv")  # to stdout (text only, no byte buffer)
    assert r.code == 0 and [row[3] for row in csv.reader(io.StringIO(r.out))] == ["customer", "张三", "", "李四", ""], r


def test_json_and_xlsx(history, cli, tmp_path):
    data = json.loads(cli("report", "orders", "--by", "day", "--from", DAY1, "--to", DAY2, "--json").out)
    assert data["rows"] == [
        {"day": DAY1, "orders": 3, "paid_orders": 2, "amount": "47.00", "revenue": "35.00"},
        {"day": DAY2, "orders": 1, "paid_orders": 0, "amount": "8.50", "revenue": "0.00"},
    ]
    assert data["period"]["from"] == DAY1 and data["summary"]["revenue"] == "35.00"
    book = tmp_path / "p.xlsx"
    r = cli("report", "orders", "--by", "product", "--from", DAY1, "--to", DAY2, "-f", "xlsx", "-o", str(book))
    assert r.code == 0, r
    assert read_xlsx(book) == [["sku", "product", "orders", "paid_orders", "units", "amount", "revenue"],
                               [MILK, "鲜牛奶", 3, 2, 9, "45.00", "35.00"], [YOGURT, "酸奶", 2, 0, 3, "10.50", "0.00"]]
    buf = io.BytesIO()
    write_xlsx_report(buf, ["a", "b"], [("=1+1", 2.5), (None, True), ("x\x01<&>", -3)])
    assert read_xlsx(io.BytesIO(buf.getvalue())) == [["a", "b"], ["=1+1", 2.5], [None, True], ["x<&>", -3]]


def test_table_output_and_errors(history, cli):
    r = cli("report", "orders", "--from", DAY1, "--to", DAY2)
    assert r.code == 0 and "awaiting_confirmation" in r.out and "35.00" in r.out, r
    for argv in (["report", "orders", "--from", DAY2, "--to", DAY1], ["report", "orders", "--from", "yesterday"],
                 ["report", "orders", "-f", "pdf"], ["report", "sms", "--bom"]):
        r = cli(*argv)
        assert r.code == 2 and "Error:" in r.err and "Hint:" in r.err and "Traceback" not in r.err, (argv, r)
    assert cli("report", "sms", "--json").code == 0
    assert cli("report", "complaints", "-f", "csv").code == 0
    assert cli("report", "campaigns", "--json").code == 0
    names = [r["name"] for r in json.loads(cli("report", "list", "--json").out)]
    assert names[:5] == ["orders", "sms", "complaints", "campaigns", "calls"]


def test_reports_need_a_supervisor(history, as_user):
    with pytest.raises(PermissionDenied):
        as_user("wang").reports.orders(_period(history.svc))
    assert as_user("li").reports.orders(_period(history.svc)).summary["orders"] == 4


CUSTOM_FILE = """\
reports:
  - name: by_zone
    description: 每个区域的客户
    sql: SELECT zone, COUNT(*) AS customers FROM customers WHERE zone LIKE :zone GROUP BY zone ORDER BY zone
    params: [zone]
  - name: vandal
    sql: DELETE FROM customers
  - name: unlock
    sql: PRAGMA query_only = 0
  - name: attach
    sql: ATTACH DATABASE 'other.db' AS other
  - name: two
    sql: SELECT 1; DELETE FROM customers
  - name: since
    sql: SELECT COUNT(*) AS orders FROM orders WHERE created_at >= :since AND created_at < :until
    params: [since, until]
"""


def test_custom_reports_are_read_only(history, config, tmp_path, db_path):
    (tmp_path / "reports.yaml").write_text(CUSTOM_FILE, encoding="utf-8")
    config.reports.custom_file = str(tmp_path / "reports.yaml")
    svc = history.svc
    found = svc.reports.custom("by_zone", {"zone": "%"}, _period(svc))
    assert (found.columns, list(found.rows)) == (["zone", "customers"], [("天河", 1), ("浦东", 1), ("海淀", 1)])
    assert list(svc.reports.custom("since", {}, _period(svc, DAY1, DAY1)).rows) == [(3,)]
    before = snapshot(db_path)
    for name in ("vandal", "unlock", "attach"):
        with pytest.raises(Refused, match="more than read"):
            svc.reports.custom(name, {}, _period(svc))
    with pytest.raises(UsageError, match="one statement"):
        svc.reports.custom("two", {}, _period(svc))
    assert snapshot(db_path) == before
    assert not (tmp_path / "other.db").exists()
    with pytest.raises(UsageError, match="needs parameter"):
        svc.reports.custom("by_zone", {}, _period(svc))
    with pytest.raises(UsageError, match="no parameter"):
        svc.reports.custom("by_zone", {"zone": "%", "x": "1"}, _period(svc))


def test_custom_report_from_the_config_file_via_cli(history, cli, tmp_path):
    config_file = tmp_path / "cc.yaml"
    config_file.write_text(
        "reports:\n  custom:\n    - name: big_spenders\n      description: 余额\n"
        "      sql: SELECT c.name, a.balance_fen FROM customers c JOIN accounts a ON a.customer_id = c.id"
        " WHERE a.balance_fen >= :min ORDER BY c.id\n      params: [min]\n", encoding="utf-8")
    r = cli("report", "custom", "big_spenders", "--param", "min=1", "--json", config_file=str(config_file))
    assert r.code == 0, r
    assert [row["name"] for row in json.loads(r.out)["rows"]] == ["张三", "李四"]
    r = cli("report", "custom", "big_spenders", "--param", "oops", config_file=str(config_file))
    assert r.code == 2 and "NAME=VALUE" in r.err
    r = cli("report", "custom", "nothing", config_file=str(config_file))
    assert r.code == 1 and "big_spenders" in r.err
