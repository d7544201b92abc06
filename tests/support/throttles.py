"""Set a DRF throttle scope's rate for one test."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


def set_rate(settings, monkeypatch, scope: str, rate: str | None) -> None:
    """Give `scope` this rate ("3/minute"; None: unlimited) until the test ends.

    `settings` and `monkeypatch` are the test's fixtures, which undo both changes. DRF copies
    the rates onto SimpleRateThrottle when it is imported, so they are patched there too.
    """
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] | {scope: rate}
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", api_settings.DEFAULT_THROTTLE_RATES)


def assert_throttled(response, window_seconds: int) -> None:
    """Assert DRF's 429: JSON body, code `throttled`, a Retry-After within the rate's window."""
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= window_seconds
    # DRF's wording is singular in the window's last second (1 time in `window_seconds`).
    unit = "second" if retry_after == 1 else "seconds"
    assert response.json() == {
        "detail": f"Request was throttled. Expected available in {retry_after} {unit}.",
        "code": "throttled",
    }
