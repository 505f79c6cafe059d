"""The simulated call center behind ``cc demo`` (cc/sim/center.py): how fast it plays simulated time
headless, and whether it keeps up with the clock when paced for the live dashboard."""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench._util import figure


def run() -> list[dict]:
    from cc.demo import seed_center
    from cc.sim.center import SimCenter

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        config = seed_center(Path(tmp) / "stepped.db", seed=5)
        sim = SimCenter(config, seed=1, calls_per_minute=4.0, start=datetime(2026, 11, 26, 1, tzinfo=timezone.utc))
        started = time.perf_counter()
        summary = sim.run(30, timeout=600)
        took = time.perf_counter() - started
        out.append(figure("sim: simulated minutes per real second (headless, 4 callers/min, SMS on)",
                          summary.minutes / took, "sim min/s", target=2.0))
        out.append(figure("sim: simulated calls per real second (headless)", summary.calls / took, "calls/s"))
        out.append(figure("sim: hand-overs to callers' threads per real second", sim.resumes / took, "resumes/s"))

        config = seed_center(Path(tmp) / "paced.db", seed=5)
        paced = SimCenter(config, seed=2, calls_per_minute=6.0, speed=60.0).start()
        paced.wait_started()
        paced.finished.wait(5.0)  # 5 real seconds = 5 simulated minutes at 60x
        paced.stop()
        out.append(figure("sim: engine lag behind the clock, paced at 60x, 6 callers/min", paced.max_lag, "sim s",
                          target=60.0, higher_is_better=False))  # under one dashboard refresh
    return out
