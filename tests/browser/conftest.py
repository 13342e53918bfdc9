"""Browser tests: the real app served on a loopback port, driven by Debian's headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("AUDITAPP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def app_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("appdata")


@pytest.fixture(scope="session")
def data_sources_dir(tmp_path_factory) -> Path:
    """The operator's server-side sources: a folder of three Parquet files (generated, never committed)."""
    from tests.engines.data import audit_frame, write_parts

    root = tmp_path_factory.mktemp("sources")
    (root / "logs").mkdir()
    write_parts(audit_frame(30_000, seed=11), root / "logs", parts=3)
    return root


@pytest.fixture(scope="session")
def app_url(app_data_dir, data_sources_dir, tmp_path_factory):
    """Start ``auditapp serve`` (the hiring demo preloaded) and yield its URL."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("logs") / "server.log").open("w")
    env = dict(os.environ, AUDITAPP_DATA_DIR=str(app_data_dir), AUDITAPP_TRUST_PICKLE="0",
               AUDITAPP_DATA_SOURCES=str(data_sources_dir))
    proc = subprocess.Popen([sys.executable, "-m", "auditapp.cli", "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the app did not start; see {log.name}") from None
            time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class ConsoleWatcher:
    """Collects browser console errors and failed page scripts."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


@pytest.fixture
def page(browser, app_url):
    """A fresh browser context (its own session) with console watching; fails on console errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=app_url)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.console = ConsoleWatcher(tab)
    yield tab
    errors = list(tab.console.errors)
    context.close()
    assert errors == [], f"browser console errors: {errors}"
