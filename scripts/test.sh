#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, provisions the real Asterisk, runs pytest.
#
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh tests/core -x   # extra arguments go to pytest
#
# Needs Python 3.11+; as root it also installs Debian packages (espeak-ng, sox, debootstrap) and a cached
# Asterisk chroot (scripts/provision-asterisk.sh). Without root the Asterisk tests skip with a reason,
# unless CC_REQUIRE_ASTERISK=1 (as .ci/run sets), which turns that skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'test.sh: %s\n' "$*" >&2; }

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PYTHON" -m venv .venv
fi
say "installing cc and its test dependencies"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

if [ "$(id -u)" = 0 ]; then
  missing=""
  for pkg in espeak-ng sox debootstrap; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    say "installing Debian packages:$missing"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
  say "provisioning the real Asterisk (cached after the first run)"
  bash scripts/provision-asterisk.sh >/dev/null
else
  say "not root: skipping Debian packages and the Asterisk chroot (Asterisk tests will skip)"
fi

# One pytest process for everything. tests/conftest.py guards its open descriptors (pyserial's select()
# cannot take one numbered 1024 or more): a test that leaves many open fails, and the run ends with the
# counts (start, end, peak). CC_FD_TRACE=1 shows where descriptors were left (see tests/fd_guard.py).
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  say "pytest collected no tests"
fi
exit "$status"
