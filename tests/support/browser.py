"""A real browser: Debian's chromium, through chromedriver and Selenium.

Nothing is downloaded: the browser and its driver are the system's
(scripts/test.sh installs them with apt), and Selenium Manager is told to
stay offline. The API the browser opens is tests.support.api's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

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
