"""Count the SQL statements each bench scenario runs (one request each, full stack).

Reads [{"name", "method", "path", "token", "body"}] as JSON on stdin; prints {name: count}.
The first request of a process is not counted (it opens the connection).
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

client = Client()
client.get("/api/posts/")  # warm: connection, caches
counts = {}
for scenario in json.loads(sys.stdin.read()):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {scenario['token']}"} if scenario["token"] else {}
    body = (
        {"data": scenario["body"], "content_type": "application/json"} if scenario["body"] else {}
    )
    call = getattr(client, scenario["method"])
    with CaptureQueriesContext(connection) as queries:
        response = call(scenario["path"], **body, **headers)
    if response.status_code >= 400:
        sys.exit(f"{scenario['name']}: HTTP {response.status_code} {response.content[:200]!r}")
    counts[scenario["name"]] = len(queries)
sys.stdout.write(json.dumps(counts))
