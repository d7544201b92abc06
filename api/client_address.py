"""The client's IP address, trusting X-Forwarded-For only from the proxies the deployment names."""

from django.http import HttpRequest
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest) -> str:
    """Return the address the API's throttles would count this request under.

    With no proxy configured (API_NUM_PROXIES unset or 0) that is the peer address, never a
    header the client wrote; with N proxies, DRF's reading of X-Forwarded-For (the entry the
    N-th proxy from us vouches for), so the admin's log-in limit and the throttles agree.
    """
    if not api_settings.NUM_PROXIES:
        return request.META.get("REMOTE_ADDR", "")
    return BaseThrottle().get_ident(request)
