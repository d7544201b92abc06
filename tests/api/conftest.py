"""Role-named API clients (author_client, other_user_client, anon_client) and token helpers."""

from tests.support.api_clients import (
    anon_client,
    author_client,
    client_for,
    other_user_client,
    token_for,
)

__all__ = ["anon_client", "author_client", "client_for", "other_user_client", "token_for"]
