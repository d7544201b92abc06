"""Rate limits counted atomically in the shared cache, keyed on the peer address or the account.

DRF's SimpleRateThrottle reads a request history, decides, then writes it back: concurrent
requests (several workers, several nodes) all read the same history and all get in. These
throttles count with one atomic increment per request in a fixed window opened by the key's
first request instead, so "N a minute" is N whatever the number of processes sharing the cache
(api/shared_cache.py). When the cache is unavailable they let the request through (fail open,
logged): Supabase Auth keeps its own limits on sign-in.
"""

import hashlib
import ipaddress
import time

from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from api import shared_cache

# IPv6 clients are counted per /64: one host or LAN commonly holds a whole /64 (RFC 4291 §2.5.1
# interface identifiers; RFC 8981 temporary addresses), so counting single addresses would
# give each client 2**64 budgets.
IPV6_CLIENT_PREFIX = 64


class FixedWindowMixin:
    """Count each request once in a window of the rate's duration opened by the key's first hit.

    The window starts at the first request, not at the clock's minute or hour: a burst gets
    exactly N whenever it comes (a clock-aligned window lets a burst that straddles a boundary
    through twice). `Retry-After` is the time left in the window.
    """

    def allow_request(self, request: Request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        counter = f"{key}:{self.duration}"
        hits = shared_cache.count(counter, self.duration)
        if hits is None or hits <= self.num_requests:
            return True  # under the limit, or the cache is down: fail open
        end = shared_cache.window_end(counter)
        now = time.time()
        self.retry_after = self.duration if end is None else min(max(end - now, 1), self.duration)
        return False

    def wait(self) -> float:
        return self.retry_after

    def get_ident(self, request: Request) -> str:
        """Return the client address by DRF's NUM_PROXIES rule, IPv6 reduced to its /64.

        NUM_PROXIES is API_NUM_PROXIES, 0 by default: the peer address (REMOTE_ADDR), never a
        client-supplied X-Forwarded-For unless that many proxies are configured in front.
        """
        ident = super().get_ident(request)
        try:
            address = ipaddress.ip_address(ident)
        except ValueError:
            return ident
        if address.version == 4:
            return str(address)
        if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d is the IPv4 client a.b.c.d
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))


class AnonThrottle(FixedWindowMixin, AnonRateThrottle):
    """Anonymous requests per client address (rate `anon`, API_THROTTLE_ANON)."""


class UserThrottle(FixedWindowMixin, UserRateThrottle):
    """Signed-in requests per user id (rate `user`, API_THROTTLE_USER)."""


class AvatarThrottle(FixedWindowMixin, UserRateThrottle):
    """Avatar uploads and removals per user (rate `avatar`, API_THROTTLE_AVATAR)."""

    scope = "avatar"


class AuthAddressThrottle(FixedWindowMixin, SimpleRateThrottle):
    """Sign-in, sign-up and refresh attempts per client address (rate `auth`)."""

    scope = "auth"

    def get_cache_key(self, request: Request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignInAccountThrottle(FixedWindowMixin, SimpleRateThrottle):
    """Sign-in attempts per account (rate `auth_account`), from however many addresses.

    The account is the email as Supabase Auth matches it (trimmed, lower-case); only its hash
    reaches the cache. A body without a usable email is left to the view's validation.
    """

    scope = "auth_account"

    def get_cache_key(self, request: Request, view) -> str | None:
        data = request.data
        email = data.get("email") if hasattr(data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        account = hashlib.sha256(normalized_email(email).encode()).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": account}


def normalized_email(email: str) -> str:
    """Return the email the way Supabase Auth compares addresses: trimmed and lower-cased."""
    return email.strip().lower()
