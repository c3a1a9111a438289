"""Open /docs in headless Chromium, save a screenshot and check every endpoint is listed.

    .venv/bin/python scripts/docs_screenshot.py [--out docs/swagger-ui.png] [--chromium PATH]

Needs Debian's chromium (`apt-get install chromium`). Serves the app (embedded store) on a
free loopback port; exits 1 if an endpoint of the OpenAPI document is missing on the page.
"""

import argparse
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

from livesessions import create_app

# Chromium as this machine's closed network needs it (no background calls home).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=10000",
]


def chromium(binary, profile, *args):
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/swagger-ui.png")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    app = create_app({"LOG_LEVEL": "ERROR", "JWT_SECRET_KEY": "screenshot-" + "x" * 40})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/docs/"
    document = app.test_client().get("/openapi.json").get_json()
    expected = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    with tempfile.TemporaryDirectory() as profile:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        chromium(args.chromium, profile, "--window-size=1280,2200", f"--screenshot={args.out}", url)
        dom = chromium(args.chromium, profile, "--dump-dom", url)
    server.shutdown()

    listed = set()
    for block in re.findall(r'<div class="opblock-summary[^"]*".*?</div>', dom, re.S):
        method = re.search(r'opblock-summary-method">(\w+)<', block)
        path = re.search(r'data-path="([^"]+)"', block)
        if method and path:
            listed.add((method[1], path[1].replace("\u200b", "")))
    missing = sorted(expected - listed)
    print(f"screenshot: {args.out}")
    print(f"endpoints listed on /docs: {len(listed & expected)} of {len(expected)}")
    for method, path in missing:
        print(f"missing: {method} {path}")
    sys.exit(1 if missing or not listed else 0)


if __name__ == "__main__":
    main()
