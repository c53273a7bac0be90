"""What the benchmark scripts share: running one measurement in its own process, naming the CPU."""

from __future__ import annotations

import json
import platform
import subprocess


def run_measurement(command: list[str], env: dict[str, str], timeout: float, detail: int = 200) -> dict | str:
    """Run a worker process; its ``RESULT {json}`` line as a dict, else why it failed (a string)."""
    try:
        completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (completed.stderr.strip().splitlines() or ["no output"])[-1]
    return f"failed: {tail[:detail]}"


def cpu_name() -> str:
    """The CPU model as /proc/cpuinfo names it (the platform's processor string elsewhere)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
