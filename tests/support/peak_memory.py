"""Measure what one call costs in a fresh process: peak memory growth and CPU time."""

import json
import subprocess
import sys
from dataclasses import dataclass

from tests.subprocess_django import PROJECT_DIR

# Run in the child: the peak resident set is reset once the input is read (Linux's
# /proc/<pid>/clear_refs "5"), so the peak seen afterwards belongs to the call alone. Without
# that reset the high-water mark includes start-up, which only overstates the cost.
CHILD = r"""
import importlib, json, os, re, sys, time

module, name = sys.argv[1].rsplit(".", 1)
call = getattr(importlib.import_module(module), name)
data = sys.stdin.buffer.read()
page = os.sysconf("SC_PAGE_SIZE")


def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page


def high_water():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) * 1024


try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
before, started = resident(), time.process_time()
try:
    call(data)
    outcome = "ok"
except Exception as exc:
    outcome = getattr(exc, "code", type(exc).__name__)
print(json.dumps({
    "peak_bytes": high_water() - before,
    "cpu_seconds": time.process_time() - started,
    "outcome": outcome,
}))
"""


@dataclass(frozen=True)
class Cost:
    peak_bytes: int
    cpu_seconds: float
    outcome: str  # "ok", or the raised error's `code` (its class name without one)

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / 2**20


def cost_of(function: str, data: bytes) -> Cost:
    """Return what `function(data)` costs in a new Python process (function: "module.name").

    A fresh process, so that nothing the test process allocated before (or keeps in Pillow's
    block cache) hides or inflates the call's own peak; Pillow's memory is invisible to
    tracemalloc, so the resident set is what is measured.
    """
    result = subprocess.run(
        [sys.executable, "-c", CHILD, function],
        input=data,
        capture_output=True,
        cwd=PROJECT_DIR,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return Cost(**json.loads(result.stdout))
