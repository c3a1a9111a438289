"""/docs in a real headless Chromium (Debian's package; skipped where it isn't installed)."""

import re
import shutil
import subprocess
import sys

import pytest

from tests.support.processes import ROOT

CHROMIUM = shutil.which("chromium")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_swagger_ui_lists_every_endpoint(tmp_path):
    screenshot = tmp_path / "docs.png"
    result = subprocess.run(
        [sys.executable, "scripts/docs_screenshot.py", "--out", str(screenshot)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    listed = re.search(r"endpoints listed on /docs: (\d+) of (\d+)", result.stdout)
    assert listed
    assert listed[1] == listed[2]
    assert int(listed[2]) >= 13
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000
