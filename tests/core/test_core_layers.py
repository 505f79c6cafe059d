"""cc.domain and cc.services stay free of UI, database and hardware libraries (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("textual", "typer", "rich", "sqlite_utils", "serial", "gsmmodem", "asterisk")

SCRIPT = r"""
import importlib, json, pkgutil, sys
import cc.domain, cc.services
names = []
for package in (cc.domain, cc.services):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
forbidden = %r
loaded = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
print(json.dumps({"modules": names, "loaded": loaded}))
"""


def test_domain_and_services_import_no_adapters_or_ui():
    done = subprocess.run([sys.executable, "-c", SCRIPT % (FORBIDDEN,)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert "cc.domain.orders" in report["modules"] and "cc.services.orders" in report["modules"]
    assert "cc.services.container" in report["modules"]
    assert report["loaded"] == [], f"cc.domain/cc.services pulled in: {report['loaded']}"


def test_the_check_would_notice_a_forbidden_import():
    script = "import sys, cc.store.migrations; print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlite_utils')[:1])"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "['sqlite_utils']"
