"""Settings of the several-node shape: an unsafe value stops start-up, naming its variable."""

import pytest

from tests.subprocess_django import PRODUCTION_ENV, run_python


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("REDIS_TIMEOUT", "0"),
        ("CACHE_RETRY_SECONDS", "-1"),
        ("DATABASE_REPLICA_URLS", "embedded"),
        ("DATABASE_REPLICA_STICKY_SECONDS", "0"),
        ("DATABASE_REPLICA_RETRY_SECONDS", "-5"),
    ],
)
def test_unsafe_cluster_setting_stops_start_up_naming_it(variable, value):
    result = run_python(PRODUCTION_ENV | {variable: value}, "")

    assert result.returncode != 0
    last_line = result.stderr.splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured")
    assert variable in last_line


def test_replica_urls_add_one_alias_each_and_the_router():
    code = (
        "import json; from django.conf import settings as s;"
        "print(json.dumps([sorted(s.DATABASES), s.DATABASE_ROUTERS, s.MIDDLEWARE[-2]]))"
    )
    urls = "postgres://app:pw@replica-1.example.com/app,postgres://app:pw@replica-2.example.com/app"

    result = run_python(PRODUCTION_ENV | {"DATABASE_REPLICA_URLS": urls}, code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        '[["default", "replica1", "replica2"], ["api.replicas.ReplicaRouter"], '
        '"api.replicas.ReadYourWritesMiddleware"]'
    )
