"""Browser fixtures: the OS's Chromium, driven by Playwright against live_server; screenshots."""

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# Root needs --no-sandbox; the network is closed, so Chromium must not phone home either.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
DEFAULT_TIMEOUT_MS = 10_000  # actions and expect(); generous for a loaded CI machine
UNSAFE_IN_FILE_NAME = re.compile(r"[^\w.-]+")  # parametrized ids bring brackets and slashes


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def missing(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail in CI (CI=true), where these tests must run."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI is set: the browser tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium_path() -> str:
    return find_chromium()


def find_chromium() -> str:
    """Return the OS's Chromium (or CHROMIUM_PATH), or skip the module saying how to get one."""
    if configured := os.environ.get("CHROMIUM_PATH"):
        # Asked for explicitly: a wrong path is a mistake to report, not a reason to skip.
        if not (path := shutil.which(configured)):
            pytest.fail(f"CHROMIUM_PATH={configured} is not an executable")
        return path
    path = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if not path:
        missing(
            "Chromium not found: install Debian's chromium package (apt-get install chromium) "
            "or set CHROMIUM_PATH"
        )
    return path


@pytest.fixture(scope="module")
def allow_orm_beside_playwright() -> Iterator[None]:
    """Let the test thread use the ORM while Playwright's event loop runs in it.

    Playwright's sync API keeps an asyncio loop running in the calling thread, so Django's
    async-unsafe guard would refuse every query the test (and the database flush) makes. No
    coroutine touches the ORM here: the guard's worry does not apply. Module scope, because the
    loop lives as long as the browser fixture.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(chromium_path, allow_orm_beside_playwright):
    """Start one headless Chromium for the module."""
    try:
        from playwright import sync_api
    except ImportError:
        missing("Playwright is not installed: pip install -r requirements-dev.txt")
    sync_api.expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(request, browser, live_server, committed_db):
    """Open a page in a fresh browser context (no cookies) on the live server.

    A failing test leaves a screenshot of where it stopped.
    """
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        _screenshot(page, request.node.name, "failure")
    context.close()


@pytest.fixture
def screenshot(request, page) -> Callable[[str], Path]:
    """Return a function saving the page as test-artifacts/screenshots/<test>-<step>.png."""
    return lambda step: _screenshot(page, request.node.name, step)


def _screenshot(page, test_name: str, step: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{UNSAFE_IN_FILE_NAME.sub('_', test_name)}-{step}.png"
    page.screenshot(path=path, full_page=True)
    return path
