"""Measure what authentication costs: token verification per algorithm, and per request.

Run: `make bench-auth` (production settings on the embedded database; a local JWKS server).
Prints medians in microseconds and writes bench/results/auth.json. Not a test: numbers vary
with the machine; compare runs on the same one.
"""

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.jwks_server import JWKSServer, SigningKey  # noqa: E402

SECRET = "bench-jwt-secret-that-is-long-enough-for-hs256-0123456789"  # noqa: S105 - local only


def configure(jwks: JWKSServer) -> None:
    """Load Django with production settings on the embedded database, migrated."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_ENV_FILE": os.devnull,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "bench-secret-key-" + "q8Zr3Lw7Yt2Kp9Vm" * 3,
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DATABASE_URL": "embedded",
            "SUPABASE_URL": jwks.base_url,
            "SUPABASE_JWT_SECRET": SECRET,
            "DJANGO_LOG_LEVEL": "ERROR",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def median_us(run, repeat: int) -> float:
    """Return the median wall time of run() in microseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        run()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def main() -> None:
    """Run the measurements, print them and write bench/results/auth.json."""
    jwks = JWKSServer()
    ec_key, rsa_key = SigningKey("ES256", "bench-ec"), SigningKey("RS256", "bench-rsa")
    jwks.publish(ec_key, rsa_key)
    configure(jwks)

    import jwt
    from django.test import override_settings
    from rest_framework.decorators import api_view, permission_classes
    from rest_framework.permissions import AllowAny
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory

    from supabase_auth import dev_tokens, keys, tokens
    from tests.factories import make_auth_user, make_session

    user = make_auth_user(f"bench-{time.time_ns()}@example.com")
    claims = dev_tokens.user_claims(user.id, user.email, session_id=make_session(user.id))
    signed = {
        "HS256": dev_tokens.sign_hs256(claims, SECRET),
        "ES256": jwt.encode(claims, ec_key.private_key, "ES256", headers={"kid": ec_key.kid}),
        "RS256": jwt.encode(claims, rsa_key.private_key, "RS256", headers={"kid": rsa_key.kid}),
    }
    results = {"verify_us": {}, "request_us": {}}
    keys.warm_up()  # as a server process does at start (config/startup.py)
    for alg, token in signed.items():
        tokens.verify(token)
        results["verify_us"][alg] = round(median_us(lambda t=token: tokens.verify(t), 3000), 1)

    @api_view(["GET"])
    @permission_classes([AllowAny])
    def endpoint(request):
        return Response({"authenticated": request.user.is_authenticated})

    factory = APIRequestFactory()
    anonymous = factory.get("/bench")
    authenticated = {
        alg: factory.get("/bench", HTTP_AUTHORIZATION=f"Bearer {t}") for alg, t in signed.items()
    }
    endpoint(authenticated["HS256"])  # creates the profile once
    results["request_us"]["anonymous"] = round(median_us(lambda: endpoint(anonymous), 3000), 1)
    for alg, request in authenticated.items():
        results["request_us"][f"bearer {alg}"] = round(
            median_us(lambda r=request: endpoint(r), 3000), 1
        )
    # The same query without its auth.sessions lookup (SUPABASE_AUTH_CHECK_SESSION=false).
    with override_settings(SUPABASE_AUTH_CHECK_SESSION=False):
        results["request_us"]["bearer HS256, no session check"] = round(
            median_us(lambda: endpoint(authenticated["HS256"]), 3000), 1
        )
    results["jwks_fetches"] = jwks.requests
    results["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    results["date"] = time.strftime("%Y-%m-%d")

    print(f"{'token verification':<24}median µs")
    for alg, us in results["verify_us"].items():
        print(f"  {alg:<22}{us:>8}")
    print(f"{'DRF request':<24}median µs (overhead vs anonymous)")
    base = results["request_us"]["anonymous"]
    for name, us in results["request_us"].items():
        print(f"  {name:<22}{us:>8}  (+{us - base:.1f})")
    print(f"JWKS fetches: {results['jwks_fetches']}")
    out = ROOT / "bench" / "results" / "auth.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {out.relative_to(ROOT)}")
    jwks.close()


if __name__ == "__main__":
    main()
