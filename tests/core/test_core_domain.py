"""Pure domain: the order state machine, delivery plans, totals, order codes, money."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cc.domain.money import MoneyFormatError, format_yuan, parse_yuan
from cc.domain.orders import (
    EDITABLE,
    FINAL,
    PAID,
    RESERVING,
    TRANSITIONS,
    Frequency,
    Line,
    OrderStatus,
    PlanError,
    TransitionError,
    check_transition,
    damm_digit,
    is_valid_order_code,
    make_order_code,
    make_plan,
    merge_lines,
    order_total,
    units_needed,
)
from cc.domain.users import Action, Role, allowed, roles_allowed

S = OrderStatus

ALLOWED = [
    (S.DRAFT, S.AWAITING_CONFIRMATION), (S.DRAFT, S.CANCELLED),
    (S.AWAITING_CONFIRMATION, S.CONFIRMED), (S.AWAITING_CONFIRMATION, S.REJECTED),
    (S.AWAITING_CONFIRMATION, S.EXPIRED), (S.AWAITING_CONFIRMATION, S.CANCELLED),
    (S.CONFIRMED, S.CHARGED), (S.CONFIRMED, S.PAYMENT_FAILED), (S.CONFIRMED, S.OUT_OF_STOCK),
    (S.CONFIRMED, S.CANCELLED),
    (S.CHARGED, S.SENT_TO_DAIRY), (S.CHARGED, S.CANCELLED),
    (S.SENT_TO_DAIRY, S.IN_DELIVERY), (S.SENT_TO_DAIRY, S.COMPLETED), (S.SENT_TO_DAIRY, S.CANCELLED),
    (S.IN_DELIVERY, S.COMPLETED), (S.IN_DELIVERY, S.CANCELLED),
]


def test_the_table_is_exactly_the_documented_lifecycle():
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == set(ALLOWED)
    assert set(TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_every_allowed_transition(current, target):
    assert check_transition(current, target) is target
    assert check_transition(current.value, target.value) is target  # plain strings from the database work too


REFUSED = [
    (S.DRAFT, S.CONFIRMED), (S.DRAFT, S.CHARGED), (S.AWAITING_CONFIRMATION, S.CHARGED),
    (S.AWAITING_CONFIRMATION, S.SENT_TO_DAIRY), (S.CONFIRMED, S.AWAITING_CONFIRMATION), (S.CHARGED, S.CONFIRMED),
    (S.CHARGED, S.CHARGED), (S.CHARGED, S.REJECTED), (S.SENT_TO_DAIRY, S.CHARGED), (S.IN_DELIVERY, S.SENT_TO_DAIRY),
    (S.COMPLETED, S.CANCELLED), (S.CANCELLED, S.AWAITING_CONFIRMATION), (S.EXPIRED, S.CONFIRMED),
    (S.REJECTED, S.CONFIRMED), (S.PAYMENT_FAILED, S.CHARGED), (S.OUT_OF_STOCK, S.CONFIRMED),
    (S.AWAITING_CONFIRMATION, S.AWAITING_CONFIRMATION),
]


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_refused_transitions(current, target):
    with pytest.raises(TransitionError) as info:
        check_transition(current, target)
    assert info.value.current is current and info.value.target is target
    assert str(current) in str(info.value)


def test_final_states_go_nowhere():
    assert FINAL == {S.COMPLETED, S.CANCELLED, S.REJECTED, S.EXPIRED, S.PAYMENT_FAILED, S.OUT_OF_STOCK}
    for final in FINAL:
        for target in OrderStatus:
            with pytest.raises(TransitionError):
                check_transition(final, target)


def test_state_groups():
    assert RESERVING == {S.AWAITING_CONFIRMATION, S.CONFIRMED}
    assert EDITABLE == {S.DRAFT, S.AWAITING_CONFIRMATION}
    assert PAID == {S.CHARGED, S.SENT_TO_DAIRY, S.IN_DELIVERY, S.COMPLETED}
    assert not (PAID & RESERVING) and not (PAID & EDITABLE)


def test_unknown_status_is_a_value_error():
    with pytest.raises(ValueError):
        check_transition("draft", "shipped")


# --- plans -------------------------------------------------------------------------------------------
TODAY = date(2026, 11, 26)


def test_plan_by_number_of_deliveries():
    plan = make_plan(start=date(2026, 11, 27), today=TODAY, deliveries=3)
    assert plan.dates() == [date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]
    assert plan.end == date(2026, 11, 29)
    assert plan.frequency is Frequency.DAILY


def test_plan_until_is_inclusive_and_crosses_month_and_year():
    plan = make_plan(start=date(2026, 12, 30), today=TODAY, until=date(2027, 1, 2))
    assert plan.deliveries == 4
    assert plan.end == date(2027, 1, 2)


def test_plan_until_the_start_day_is_one_delivery():
    assert make_plan(start=TODAY, today=TODAY, until=TODAY).deliveries == 1


def test_weekly_plan():
    plan = make_plan(start=date(2026, 11, 27), today=TODAY, frequency="weekly", deliveries=4)
    assert plan.dates() == [date(2026, 11, 27), date(2026, 12, 4), date(2026, 12, 11), date(2026, 12, 18)]
    # until: only whole weeks count, the last delivery is on or before the end date
    plan = make_plan(start=date(2026, 11, 27), today=TODAY, frequency=Frequency.WEEKLY, until=date(2026, 12, 17))
    assert plan.deliveries == 3 and plan.end == date(2026, 12, 11)


def test_default_is_one_delivery_and_today_is_allowed():
    plan = make_plan(start=TODAY, today=TODAY)
    assert plan.deliveries == 1 and plan.end == TODAY


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": date(2026, 11, 25)}, "in the past"),
        ({"start": date(2026, 11, 28), "until": date(2026, 11, 27)}, "before the start"),
        ({"start": date(2026, 11, 28), "deliveries": 0}, "at least 1"),
        ({"start": date(2026, 11, 28), "deliveries": -3}, "at least 1"),
        ({"start": date(2026, 11, 28), "deliveries": 2, "until": date(2026, 12, 1)}, "not both"),
        ({"start": date(2026, 11, 28), "deliveries": 5000}, "3660"),
    ],
)
def test_bad_plans(kwargs, message):
    with pytest.raises(PlanError, match=message):
        make_plan(today=TODAY, **kwargs)


def test_unknown_frequency():
    with pytest.raises(ValueError):
        make_plan(start=TODAY, today=TODAY, frequency="monthly")


@given(st.integers(0, 400), st.integers(0, 800), st.sampled_from(list(Frequency)))
def test_until_plans_never_overrun_the_end_date(offset, length, frequency):
    start = date.fromordinal(TODAY.toordinal() + offset)
    until = date.fromordinal(start.toordinal() + length)
    plan = make_plan(start=start, today=TODAY, frequency=frequency, until=until)
    assert plan.end <= until
    assert (until - plan.end).days < frequency.step.days  # and one more delivery would overrun it
    assert len(plan.dates()) == plan.deliveries
    assert plan.dates()[-1] == plan.end


# --- totals ------------------------------------------------------------------------------------------
def test_totals_and_units():
    lines = [Line("MILK-1L", 2, 500), Line("YOG-200", 1, 350)]
    assert order_total(lines, 1) == 1350
    assert order_total(lines, 30) == 40500
    assert units_needed(lines, 7) == {"MILK-1L": 14, "YOG-200": 7}
    assert order_total([], 5) == 0


def test_units_of_a_repeated_sku_add_up():
    assert units_needed([Line("A", 1, 100), Line("A", 2, 100)], 3) == {"A": 9}


def test_merge_lines():
    assert merge_lines([("A", 1), ("B", 2), ("A", 3)]) == [("A", 4), ("B", 2)]
    with pytest.raises(PlanError):
        merge_lines([("A", 0)])
    with pytest.raises(PlanError):
        merge_lines([("A", -1)])


@given(st.lists(st.tuples(st.integers(1, 20), st.integers(0, 10_000)), min_size=1, max_size=5), st.integers(1, 400))
def test_total_is_per_delivery_times_deliveries(items, deliveries):
    lines = [Line(f"S{i}", q, p) for i, (q, p) in enumerate(items)]
    per = sum(q * p for q, p in items)
    assert order_total(lines, deliveries) == per * deliveries
    assert order_total(lines, deliveries) % deliveries == 0  # so a per-delivery refund is exact


# --- order codes -------------------------------------------------------------------------------------
def test_codes_are_six_digits_with_a_valid_check_digit():
    rng = random.Random(7)
    codes = [make_order_code(rng) for _ in range(500)]
    for code in codes:
        assert len(code) == 6 and code.isdigit() and code[0] != "0"
        assert is_valid_order_code(code)
    assert len(set(codes)) > 450
    assert is_valid_order_code(make_order_code(rng, length=8))
    assert len(make_order_code(rng, length=8)) == 8


def test_known_damm_values():
    assert damm_digit("572") == 4  # the textbook example
    assert is_valid_order_code("5724")
    assert not is_valid_order_code("5723")
    assert not is_valid_order_code("")
    assert not is_valid_order_code("12a4")
    assert not is_valid_order_code("04")


def test_every_single_digit_error_is_caught():
    rng = random.Random(11)
    for _ in range(200):
        code = make_order_code(rng)
        for i in range(len(code)):
            for digit in "0123456789":
                if digit != code[i]:
                    assert not is_valid_order_code(code[:i] + digit + code[i + 1:]), (code, i, digit)


def test_every_adjacent_transposition_is_caught():
    rng = random.Random(12)
    for _ in range(300):
        code = make_order_code(rng)
        for i in range(len(code) - 1):
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
                assert not is_valid_order_code(swapped), (code, swapped)


@given(st.text(alphabet="0123456789", min_size=2, max_size=9), st.data())
def test_damm_property(body, data):
    code = body + str(damm_digit(body))
    assert is_valid_order_code(code)
    i = data.draw(st.integers(0, len(code) - 1))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != code[i]]))
    assert not is_valid_order_code(code[:i] + digit + code[i + 1:])


# --- money -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "fen"),
    [("5", 500), ("5.5", 550), ("5.00", 500), ("0.01", 1), ("0", 0), ("1,234.56", 123456), ("¥12.30", 1230),
     ("￥3", 300), (" 7.05 ", 705), ("-2.50", -250), ("100", 10000)],
)
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["", "abc", "5.001", "5.", ".5", "5,5.5.5", "1e3", "五元", "--5", "5 5"])
def test_parse_yuan_refuses(text):
    with pytest.raises(MoneyFormatError):
        parse_yuan(text)


@pytest.mark.parametrize(("fen", "text"), [(0, "0.00"), (1, "0.01"), (500, "5.00"), (123456, "1234.56"),
                                           (-250, "-2.50"), (-5, "-0.05")])
def test_format_yuan(fen, text):
    assert format_yuan(fen) == text


@given(st.integers(-10**12, 10**12))
def test_money_round_trips(fen):
    assert parse_yuan(format_yuan(fen)) == fen


# --- roles -------------------------------------------------------------------------------------------
def test_roles():
    assert allowed(Role.SUPERVISOR, Action.REFUND) and allowed("admin", Action.REFUND)
    assert not allowed(Role.AGENT, Action.REFUND) and not allowed(Role.EXPERT, Action.REFUND)
    assert roles_allowed(Action.MANAGE_USERS) == [Role.ADMIN]
    assert allowed(Role.AGENT, Action.TAKE_ORDERS)
    assert not allowed(Role.AGENT, Action.MANAGE_CATALOG)
