"""The documentation lists every setting the code reads."""

import re

from livesessions.config import SETTINGS
from tests.support.processes import ROOT

DEV_SERVER_SETTINGS = {"HOST", "DAILY_SANDBOX_PORT", "CLOUDINARY_SANDBOX_PORT"}
SERVER_PROCESS_SETTINGS = {"WEB_CONCURRENCY", "WEB_THREADS"}  # the Procfile's, serve-fast's
# read from the environment before anything loads `.env`: in the README, not in .env.example
ENVIRONMENT_ONLY = {"PROMETHEUS_MULTIPROC_DIR"}


def test_env_example_lists_every_setting():
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert listed == set(SETTINGS) | DEV_SERVER_SETTINGS | SERVER_PROCESS_SETTINGS


def test_readme_configuration_table_names_every_setting():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") :]
    names = [*SETTINGS, *DEV_SERVER_SETTINGS, *SERVER_PROCESS_SETTINGS, *ENVIRONMENT_ONLY]
    missing = [name for name in names if f"`{name}`" not in table]
    assert missing == []


def test_procfile_runs_the_web_and_the_worker():
    procfile = (ROOT / "Procfile").read_text()
    assert re.search(r"^web: gunicorn wsgi:app ", procfile, re.MULTILINE)
    # gunicorn 27's control socket is one path per user: two servers on a host would share it
    assert "--no-control-socket" in procfile
    assert re.search(r"^worker: flask --app wsgi recordings worker$", procfile, re.MULTILINE)
