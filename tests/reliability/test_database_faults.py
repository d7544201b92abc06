"""Postgres stops under load and starts again: quick JSON 503s, recovery by itself, no lost writes.

One outage is run per module (the `outage` fixture) against gunicorn with production settings on
a dedicated embedded Postgres; each test checks one promise about what the clients saw.
"""

import time
from collections import Counter
from dataclasses import dataclass

import pytest

from tests.reliability.load import Load, Outcome
from tests.reliability.stack import Gunicorn, hs256_token, production_env, write_artifact

CONNECT_TIMEOUT = 2  # DATABASE_CONNECT_TIMEOUT for the server under test
LATENCY_BOUND = CONNECT_TIMEOUT + 2  # no request may take longer, outage or not
HEALTHY_LOAD = 2.0  # seconds of load before the database stops
DOWN_FOR = 4.0
LOAD_AFTER_RESTART = 6.0
RECOVERY_BOUND = 3.0  # seconds from "Postgres accepts connections" to the first success
SETTLE = 1.0  # after the first success, not a single 5xx more
EMAIL = "load@example.com"
API_KINDS = ("feed", "mine", "create")


@dataclass(frozen=True)
class Timeline:
    """When the fault was injected, in the load's clock (seconds since it started)."""

    stop_began: float
    stop_ended: float
    start_began: float
    start_ended: float


@dataclass(frozen=True)
class Outage:
    outcomes: list[Outcome]
    timeline: Timeline
    pids_before: tuple[int, set[int]]
    pids_after: tuple[int, set[int]]
    server_log: str

    def api(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind in API_KINDS]

    def probes(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]

    def fully_down(self, outcomes: list[Outcome]) -> list[Outcome]:
        """Return the outcomes of requests sent and answered while Postgres was stopped."""
        return [
            o
            for o in outcomes
            if o.started > self.timeline.stop_ended and o.ended < self.timeline.start_began
        ]

    def recovered_at(self) -> float | None:
        """Return when the first request sent after the restart succeeded."""
        return min(
            (o.ended for o in self.api() if o.ok and o.started >= self.timeline.start_ended),
            default=None,
        )


@pytest.fixture(scope="module")
def server(database, tmp_path_factory):
    env = production_env(database.url, DATABASE_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT))
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    gunicorn = Gunicorn(env, log_path, workers=2).start()
    yield gunicorn
    gunicorn.stop()


@pytest.fixture(scope="module")
def outage(database, server) -> Outage:
    """Load the API, stop Postgres for DOWN_FOR seconds, start it again, keep loading."""
    token = hs256_token(server.env, database.create_auth_user(EMAIL), EMAIL)
    auth = {"Authorization": f"Bearer {token}"}
    actions = {
        "feed": lambda client, title: client.get("/api/posts/"),
        "mine": lambda client, title: client.get("/api/posts/me", headers=auth),
        "create": lambda client, title: client.post(
            "/api/posts/",
            json={"title": title, "content": "written under fire", "published": True},
            headers=auth,
        ),
    }
    pids_before = (server.master_pid, server.worker_pids())
    load = Load(
        server.url, actions, threads=4, probes={"health": "/health", "ready": "/health/ready"}
    ).start()
    time.sleep(HEALTHY_LOAD)
    stop_began = load.now()
    database.stop()
    stop_ended = load.now()
    time.sleep(DOWN_FOR)
    start_began = load.now()
    database.start()
    start_ended = load.now()
    time.sleep(LOAD_AFTER_RESTART)
    outcomes = load.stop()
    result = Outage(
        outcomes,
        Timeline(stop_began, stop_ended, start_began, start_ended),
        pids_before,
        (server.master_pid, server.worker_pids()),
        server.log(),
    )
    write_artifact("database_faults", report(result, database))
    return result


def acknowledged_posts(outage: Outage) -> dict[str, str]:
    """Return id -> title of every post the API answered 201 for."""
    return {
        o.body["id"]: o.body["title"]
        for o in outage.api()
        if o.kind == "create" and o.status == 201
    }


def stored_titles(database, ids: list[str]) -> dict[str, str]:
    rows = database.execute("select id::text, title from posts where id = any(%s::uuid[])", [ids])
    return dict(rows)


def report(outage: Outage, database) -> dict:
    api = outage.api()
    timeline = outage.timeline
    acknowledged = acknowledged_posts(outage)
    stored = stored_titles(database, list(acknowledged))
    refused_titles = [o.title for o in api if o.kind == "create" and not o.ok]
    kept_anyway = database.execute(
        "select count(*) from posts where title = any(%s)", [refused_titles]
    )[0][0]
    unavailable = [o for o in api if o.status == 503]
    recovered_at = outage.recovered_at()
    return {
        "requests_sent": len(api),
        "probes_sent": len(outage.outcomes) - len(api),
        "statuses": dict(sorted(Counter(str(o.status) for o in api).items())),
        "faults_injected": ["postgres stopped (pg_ctl -m fast) and started again"],
        "postgres_down_seconds": round(timeline.start_ended - timeline.stop_began, 3),
        "responses_503": len(unavailable),
        "responses_5xx": sum(1 for o in api if o.status and o.status >= 500),
        "responses_5xx_other_than_503": sum(
            1 for o in api if o.status and o.status >= 500 and o.status != 503
        ),
        "no_http_answer": sum(1 for o in api if o.status is None),
        "max_latency_seconds": round(max(o.elapsed for o in api), 3),
        "max_latency_while_down_seconds": round(
            max((o.elapsed for o in outage.fully_down(api)), default=0), 3
        ),
        "recovery_seconds": None
        if recovered_at is None
        else round(recovered_at - timeline.start_ended, 3),
        "5xx_after_restart": sum(
            1 for o in api if o.started >= timeline.start_ended and o.status and o.status >= 500
        ),
        "posts_acknowledged": len(acknowledged),
        "rows_lost": len(set(acknowledged) - set(stored)),
        "refused_posts_stored_anyway": kept_anyway,
        "gunicorn_pids_unchanged": outage.pids_before == outage.pids_after,
    }


def test_every_request_succeeds_before_the_outage(outage):
    before = [o for o in outage.api() if o.ended < outage.timeline.stop_began]

    assert len(before) > 20, "too little load to judge"
    assert {o.kind for o in before} == set(API_KINDS)
    assert [o for o in before if not o.ok] == []


def test_requests_while_the_database_is_down_get_a_quick_json_503(outage):
    down = outage.fully_down(outage.api())

    assert len(down) > 20, "too little load while the database was down"
    assert {o.kind for o in down} == set(API_KINDS)
    for outcome in down:
        assert outcome.status == 503, outcome
        assert outcome.content_type == "application/json", outcome
        assert outcome.body == {
            "detail": "The database is unavailable; try again shortly.",
            "code": "database_unavailable",
        }
        assert outcome.retry_after == "5"


def test_no_request_ever_gets_a_500_or_hangs(outage):
    api = outage.api()

    assert [o for o in api if o.status is None] == []
    assert [o for o in api if not o.ok and o.code != "database_unavailable"] == []
    assert max(o.elapsed for o in api) < LATENCY_BOUND
    assert "Traceback" not in outage.server_log
    assert "WORKER TIMEOUT" not in outage.server_log


def test_liveness_stays_up_and_readiness_reports_the_outage(outage):
    health = outage.probes("health")
    ready = outage.probes("ready")
    ready_down = outage.fully_down(ready)
    ready_before = [o for o in ready if o.ended < outage.timeline.stop_began]

    assert health, "no liveness probes were sent"
    assert [o for o in health if o.status != 200] == []
    assert ready_down, "no readiness probe while the database was down"
    assert {(o.status, o.body["status"]) for o in ready_down} == {(503, "unavailable")}
    assert {o.status for o in ready_before} == {200}
    assert max(o.elapsed for o in ready) < LATENCY_BOUND


def test_api_recovers_by_itself_without_restarting_gunicorn(outage):
    recovered_at = outage.recovered_at()
    assert recovered_at is not None, "no request succeeded after the restart"
    settled = [o for o in outage.api() if o.started > recovered_at + SETTLE]
    ready_after = [o for o in outage.probes("ready") if o.started > recovered_at + SETTLE]

    assert recovered_at - outage.timeline.start_ended < RECOVERY_BOUND
    assert len(settled) > 20
    assert {o.kind for o in settled} == set(API_KINDS)
    assert [o for o in settled if not o.ok] == []
    assert ready_after
    assert {o.status for o in ready_after} == {200}
    assert outage.pids_after == outage.pids_before


def test_every_acknowledged_write_is_stored(outage, database):
    acknowledged = acknowledged_posts(outage)

    stored = stored_titles(database, list(acknowledged))

    assert len(acknowledged) > 10
    assert stored == acknowledged
