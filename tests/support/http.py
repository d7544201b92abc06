"""Small helpers for HTTP-level tests."""


def bearer(token: str) -> dict:
    """Return test-client extra headers carrying token as a Bearer credential."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
