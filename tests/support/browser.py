"""A real browser (Debian's chromium, through chromedriver and Selenium) and the API under gunicorn.

The API runs with its own database role (API_POSTGRES_USER), as in production.

Nothing is downloaded: the browser and its driver are the system's
(scripts/test.sh installs them with apt), and Selenium Manager is told to
stay offline. The API runs as in production: gunicorn, DEBUG off, static
files collected and served by whitenoise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.conf import settings
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


class BrowserMissing(RuntimeError):
    """Chromium or its driver is not installed."""


def _first(paths: tuple[str, ...]) -> str | None:
    return next((path for path in paths if Path(path).exists()), None)


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[webdriver.Chrome]:
    browser, driver = _first(CHROMIUM), _first(CHROMEDRIVER)
    if browser is None or driver is None:
        raise BrowserMissing(
            "chromium and chromium-driver are not installed. Fix: apt-get install chromium chromium-driver "
            "(scripts/test.sh does it when run as root)"
        )
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a browser or a driver
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={width},{height}")
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield session
    finally:
        session.quit()


@contextmanager
def gunicorn(port: int, env: dict[str, str], workdir: Path) -> Iterator[str]:
    """The API under gunicorn on 127.0.0.1:`port`, production-like; yields its base URL."""
    static, metrics = workdir / "static", workdir / "metrics"
    metrics.mkdir(parents=True, exist_ok=True)
    environment = {
        **env,
        "API_PORT": str(port),
        "API_WORKERS": "1",
        "DJANGO_DEBUG": "false",
        "DJANGO_STATIC_ROOT": str(static),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        # As in production: the API's own least-privilege role, not the owner.
        "POSTGRES_USER": str(settings.API_POSTGRES_USER),
        "POSTGRES_PASSWORD": str(settings.API_POSTGRES_PASSWORD),
    }
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if collected.returncode != 0:
        raise RuntimeError(f"collectstatic failed: {collected.stderr}")
    log = (workdir / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/health/live", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{(workdir / 'gunicorn.log').read_text()}")
            time.sleep(0.25)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def screenshot(session: webdriver.Chrome, name: str, fallback: Path) -> Path:
    """A PNG of the whole page, in $HOLDED_SCREENSHOTS (docs/screenshots for the README) or `fallback`."""
    folder = Path(os.environ.get("HOLDED_SCREENSHOTS") or fallback)
    folder.mkdir(parents=True, exist_ok=True)
    height = session.execute_script("return document.documentElement.scrollHeight")
    session.set_window_size(1280, min(max(int(height), 600), 3600))
    session.execute_script("window.scrollTo(0, 0)")
    path = folder / f"{name}.png"
    session.save_screenshot(str(path))
    return path
