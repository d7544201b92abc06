"""wrk, the load generator: run one scenario, parse its report, check the answers first."""

import re
import subprocess
from pathlib import Path

import httpx

LUA = Path(__file__).resolve().parent / "wrk"
THREADS = 2
CONNECTIONS = 32


def wrk(
    url: str,
    *,
    duration: int,
    connections: int = CONNECTIONS,
    script: Path | None = None,
    token: str | None = None,
) -> dict:
    """Run wrk (2 threads, fewer for fewer connections) on url; return its figures."""
    threads = min(THREADS, connections)  # wrk refuses more threads than connections
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    command += ["--timeout", "5s"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> dict:
    """Return requests, req/s, p50/p99 (ms), non-2xx and socket errors from wrk's report."""

    def number(pattern: str, default: float = 0.0) -> float:
        match = re.search(pattern, output)
        return float(match.group(1)) if match else default

    def latency_ms(percent: str) -> float:
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)

    errors = output.split("Socket errors:")[-1] if "Socket errors:" in output else ""
    return {
        "requests": int(number(r"(\d+) requests in")),
        "rps": round(number(r"Requests/sec:\s+([\d.]+)"), 1),
        "p50_ms": latency_ms("50"),
        "p99_ms": latency_ms("99"),
        "non_2xx": int(number(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(
            int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", errors)
        ),
    }


def check(base: str, scenario: dict, token: str) -> None:
    """Send the scenario's request once and fail unless it answers as the scenario expects."""
    headers = {"Authorization": f"Bearer {token}"} if scenario.get("auth") else {}
    body = scenario.get("body")
    with httpx.Client(base_url=base, timeout=30) as client:
        response = client.request(scenario["method"], scenario["path"], json=body, headers=headers)
    answer = f"{scenario['method']} {base}{scenario['path']}: {response.status_code} "
    answer += response.text[:300]
    assert 200 <= response.status_code < 300, answer
    assert scenario["expect"](response.json()), answer
