"""The SMS gateway daemon over a SpoolPort, for the crash test: ``python crash_daemon.py DB SPOOL [DELAY]``.

The same SmsGateway that ``cc sms serve`` runs; only the modem port differs. SIGTERM stops it cleanly.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from spool_port import SpoolPort  # noqa: E402

from cc.config import Config, ModemConfig  # noqa: E402
from cc.services.container import build_services  # noqa: E402
from cc.services.sms_gateway import SmsGateway  # noqa: E402


def main() -> None:
    db, spool = sys.argv[1], sys.argv[2]
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(threadName)s %(message)s")
    config = Config(db=db)
    config.sms.quiet_hours = None
    config.sms.retry_backoff_seconds = 0.0
    config.sms.expire_every_seconds = 0.5
    config.sms.max_attempts = 1000  # a crash costs an attempt; this test wants every message out
    build_services(config)
    gateway = SmsGateway(
        config, modems=[ModemConfig(device="spool")], make_sms=lambda: build_services(config).sms,
        make_port=lambda modem: SpoolPort(spool, send_delay=delay), idle_wait=0.02,
    )
    signal.signal(signal.SIGTERM, lambda *_: gateway.stop())
    print("ready", flush=True)
    gateway.run()


if __name__ == "__main__":
    main()
