#!/usr/bin/env bash
# Install the Debian packages the tests need; idempotent (a no-op when all are present).
#
# Called by `make test` after the Python test dependencies are installed. PostgreSQL: the
# tests run the server bundled in the pgserver wheel (PostgreSQL 16 with pgvector, a Python
# test dependency); Debian's postgresql is the fallback tests/pg.py uses when those binaries
# cannot run, e.g. a checkout the unprivileged server user cannot read (tests run as root).
set -euo pipefail

packages=(
    postgresql  # fallback PostgreSQL server for tests/pg.py
    chromium    # the headless browser tests/test_browser.py drives through Playwright
    texlive-binaries  # a real `bibtex` compiles exported .bib files (tests/test_formats.py)
)

# axe-core, which the Chromium tests inject to audit pages, and Lighthouse, which
# bench/lighthouse.py runs with Debian's chromium (tests/js has their package.json and lock;
# node_modules stays out of git).
here="$(cd "$(dirname "$0")/.." && pwd)"
if command -v npm >/dev/null; then
    { [ -f "$here/tests/js/node_modules/axe-core/axe.min.js" ] \
        && [ -x "$here/tests/js/node_modules/.bin/lighthouse" ]; } \
        || npm ci --prefix "$here/tests/js" --no-audit --no-fund --silent
else
    echo "install-test-deps: npm is missing; the axe-core audit will be skipped" >&2
fi

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
    echo "install-test-deps: no apt-get here; install these yourself: ${missing[*]}" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
        echo "install-test-deps: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    }
    sudo=(sudo)
fi
echo "install-test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
