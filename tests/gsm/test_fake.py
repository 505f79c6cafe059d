"""The in-memory FakeModem keeps the GsmModemPort contract the gateway relies on."""

from __future__ import annotations

import pytest

from cc.errors import Unreachable
from cc.gsm.fake import FakeModem
from cc.gsm.types import GsmModemPort, IncomingSms, ModemDown, SendRejected, StatusReport

pytestmark = pytest.mark.timeout(60)


def test_fake_modem_contract():
    fake = FakeModem()
    assert isinstance(fake, GsmModemPort)
    with pytest.raises(Unreachable):
        fake.send("+8613800138000", "hi")
    fake.connect()
    parts = fake.send("+8613800138000", "长" * 100)
    assert [(p.part_no, p.parts) for p in parts] == [(1, 2), (2, 2)]
    events = fake.events()
    assert [type(events.get_nowait()) for _ in parts] == [StatusReport, StatusReport]
    sms = fake.receive("+8613900139000", "Y")
    assert events.get_nowait() == sms and isinstance(sms, IncomingSms)
    fake.receive("+8613900139001", "N", announce=False)
    assert [s.text for s in fake.stored_messages()] == ["Y", "N"]
    fake.delete_stored(sms)
    assert [s.text for s in fake.stored_messages()] == ["N"]
    fake.fail_next_send(SendRejected("refused", code=500))
    with pytest.raises(SendRejected):
        fake.send("+8613800138000", "x")
    fake.go_down()
    assert isinstance(events.get_nowait(), ModemDown)
    with pytest.raises(Unreachable):
        fake.health()


def test_port_types_and_fake_import_nothing_heavy():
    import subprocess
    import sys

    code = "import sys, cc.gsm, cc.gsm.types, cc.gsm.fake; print(sorted(m for m in ('serial', 'gsmmodem') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=True)
    assert out.stdout.strip() == "[]"
