"""Where the browser tests find Chromium, and that CI fails rather than skips without it."""

import pytest

from tests.browser.conftest import find_chromium


@pytest.fixture
def no_chromium(monkeypatch, tmp_path):
    """A PATH holding no browser, and no CHROMIUM_PATH."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    return tmp_path


def test_missing_chromium_fails_in_ci(no_chromium, monkeypatch):
    monkeypatch.setenv("CI", "true")  # as .ci/run exports it

    with pytest.raises(pytest.fail.Exception, match=r"Chromium not found.*CI is set"):
        find_chromium()


def test_missing_chromium_skips_on_a_developer_machine(no_chromium, monkeypatch):
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="Chromium not found"):
        find_chromium()


def test_chromium_on_the_path_is_used(no_chromium, monkeypatch):
    monkeypatch.setenv("CI", "true")
    browser = no_chromium / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)

    assert find_chromium() == str(browser)
