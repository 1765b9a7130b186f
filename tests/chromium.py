"""The headless Chromium of the browser tests: the system browser, started offline and quiet."""

import os

#: The browser binary (Debian's ``chromium`` package; ``make browser-test`` installs it).
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: Options that keep it from reaching the network on its own (updates, sync, metrics) and from sandboxing as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-default-browser-check",
]
