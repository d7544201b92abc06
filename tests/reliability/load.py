"""Steady HTTP load against a live server, recording every answer with its timing."""

import itertools
import threading
import time
import uuid
from dataclasses import dataclass

import httpx

# A client gives up after this long; anything near it is a hang the assertions report.
CLIENT_TIMEOUT = 15.0


@dataclass(frozen=True)
class Outcome:
    """One request as the client saw it (times in seconds since the load started)."""

    kind: str
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all (connection reset, timeout)
    content_type: str = ""
    retry_after: str | None = None
    body: object = None
    error: str | None = None
    title: str | None = None

    @property
    def elapsed(self) -> float:
        return self.ended - self.started

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


class Load:
    """Client threads cycling through `actions`, and probe threads polling at an interval.

    actions: kind -> callable(client, title) -> httpx.Response; `title` is unique per call
    (for writes that must be found again). Each thread starts at a different action so the
    mix stays even. Probes: kind -> path, polled every `probe_interval` seconds.
    """

    def __init__(
        self,
        base_url: str,
        actions: dict,
        *,
        threads: int = 4,
        think_time: float = 0.005,
        probes: dict[str, str] | None = None,
        probe_interval: float = 0.2,
    ) -> None:
        self.base_url = base_url
        self.actions = actions
        self.threads = threads
        self.think_time = think_time
        self.probes = probes or {}
        self.probe_interval = probe_interval
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def start(self) -> "Load":
        self.t0 = time.monotonic()
        for index in range(self.threads):
            self._spawn(self._client_loop, index)
        for kind, path in self.probes.items():
            self._spawn(self._probe_loop, kind, path)
        return self

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=CLIENT_TIMEOUT + 5)
        assert not any(thread.is_alive() for thread in self._threads), "a client hung"
        return sorted(self.outcomes, key=lambda outcome: outcome.started)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _client_loop(self, index: int) -> None:
        kinds = list(self.actions)
        with httpx.Client(base_url=self.base_url, timeout=CLIENT_TIMEOUT) as client:
            for n in itertools.count(index):
                if self._stop.is_set():
                    return
                kind = kinds[n % len(kinds)]
                title = f"load {index}-{n} {uuid.uuid4().hex[:12]}"
                self._record(kind, title, lambda k=kind, t=title: self.actions[k](client, t))
                time.sleep(self.think_time)

    def _probe_loop(self, kind: str, path: str) -> None:
        with httpx.Client(base_url=self.base_url, timeout=CLIENT_TIMEOUT) as client:
            while not self._stop.wait(self.probe_interval):
                self._record(kind, None, lambda: client.get(path))

    def _record(self, kind: str, title: str | None, send) -> None:
        started = self.now()
        try:
            response = send()
        except httpx.HTTPError as exc:
            outcome = Outcome(kind, started, self.now(), None, error=type(exc).__name__)
        else:
            ended = self.now()
            content_type = response.headers.get("content-type", "")
            keep = response.status_code != 200 or kind in self.probes  # not every feed page
            outcome = Outcome(
                kind,
                started,
                ended,
                response.status_code,
                content_type,
                response.headers.get("retry-after"),
                _json(response) if keep else None,
                title=title,
            )
        with self._lock:
            self.outcomes.append(outcome)


def _json(response: httpx.Response) -> object:
    """Return the JSON body, or the text when the body is not JSON (so reports show it)."""
    try:
        return response.json()
    except ValueError:
        return response.text[:500]
