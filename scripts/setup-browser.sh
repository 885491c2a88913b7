#!/usr/bin/env bash
# Install the headless browser that tests/test_site.py drives: Debian's chromium and its
# chromedriver (a test tool's own browser download cannot reach its host on the course
# machines). Idempotent: returns at once when both are there. Run by `make test`.
#
# It installs with apt-get when run as root, or through sudo when sudo needs no password;
# otherwise it only says what to install, and the site test then fails with the same
# advice (set LENET_SKIP_BROWSER=1 to skip that test on purpose).
set -euo pipefail
CHROMIUM=${LENET_CHROMIUM:-/usr/bin/chromium}
CHROMEDRIVER=${LENET_CHROMEDRIVER:-/usr/bin/chromedriver}

if [ "${LENET_SKIP_BROWSER:-}" = 1 ]; then
  echo "setup-browser: LENET_SKIP_BROWSER=1: not installing chromium; tests/test_site.py is skipped" >&2
  exit 0
fi
if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
  exit 0
fi

packages="chromium chromium-driver fonts-liberation"   # the fonts: readable screenshots
if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo -n"
else
  sudo=none
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$sudo" = none ]; then
  cat >&2 <<EOF
setup-browser: $CHROMIUM and $CHROMEDRIVER are needed by tests/test_site.py, and this
script can install them only with apt-get as root (or passwordless sudo). Install them
yourself, e.g. on Debian:  sudo apt-get install $packages
or point LENET_CHROMIUM and LENET_CHROMEDRIVER at a Chromium and its matching chromedriver,
or skip the site test with LENET_SKIP_BROWSER=1.
EOF
  exit 0
fi
echo "setup-browser: installing $packages with apt-get (once)" >&2
if ! { $sudo apt-get update -q &&
       $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $packages; }; then
  # Not fatal here: the other tests still run, and tests/test_site.py fails saying why.
  echo "setup-browser: apt-get could not install $packages" >&2
fi
