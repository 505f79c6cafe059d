"""Fixtures: a simulated modem on a real pty, and our adapter connected to it."""

from __future__ import annotations

import pytest

from cc.config import ModemConfig
from cc.gsm.simulator import ModemSimulator


@pytest.fixture
def make_sim(tmp_path):
    sims: list[ModemSimulator] = []

    def make(personality: str = "generic", **kw) -> ModemSimulator:
        kw.setdefault("link", tmp_path / f"modem{len(sims)}")
        sim = ModemSimulator(personality, **kw).start()
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        sim.stop()


@pytest.fixture
def sim(make_sim):
    return make_sim()


@pytest.fixture
def make_adapter():
    from cc.gsm.modem import GsmModemAdapter

    adapters = []

    def make(sim: ModemSimulator, *, connect: bool = True, multipart_timeout: float = 300, **config):
        adapter = GsmModemAdapter(ModemConfig(device=sim.device_path, **config), multipart_timeout=multipart_timeout)
        adapters.append(adapter)
        if connect:
            adapter.connect()
        return adapter

    yield make
    for adapter in adapters:
        adapter.close()


@pytest.fixture
def adapter(sim, make_adapter):
    return make_adapter(sim)
