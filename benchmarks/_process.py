"""What the benchmark scripts share: running one measurement in its own process, naming the CPU."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time


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


# ------------------------------------------------------------------------------ the machine at hand
#: float32 FLOPs per core per cycle by vector unit: two FMA pipes, each 2 FLOPs per lane.
#: AVX-512 on AMD family 25 (Zen 4) runs as two 256-bit halves: the AVX2 rate.
FLOPS_PER_CYCLE = {"avx512 (two 512-bit FMA pipes)": 64, "avx2+fma (two 256-bit FMA pipes)": 32, "avx": 16, "sse": 8}
SHOWN_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")


def _cpuinfo() -> dict[str, str]:
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def vector_unit(flags: set[str], vendor: str, family: str) -> str:
    """The widest float32 FMA the flags promise, as a key of FLOPS_PER_CYCLE."""
    if "avx512f" in flags and not (vendor == "AuthenticAMD" and family == "25"):
        return "avx512 (two 512-bit FMA pipes)"
    if "avx2" in flags and "fma" in flags:
        return "avx2+fma (two 256-bit FMA pipes)"
    return "avx" if "avx" in flags else "sse"


def measured_clock_ghz(repeats: int = 30) -> float | None:
    """The core clock while busy, measured: a chain of dependent 1-cycle integer operations.

    ``x = (x + c) ^ (x >> 7)`` costs two cycles per step on every current x86 core (the add and
    the shift in parallel, then the xor), whatever the nominal or boost clock the VM reports. The
    fastest of ``repeats`` runs. None without numba (the chain must be compiled to be timed).
    """
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=False)
    def chain(steps: int, seed: int) -> int:
        x = seed
        for _ in range(steps):
            x = (x + 0x9E3779B9) ^ (x >> 7)
        return x

    steps = 20_000_000  # about 12 ms at 3 GHz: short enough to run between other processes' time slices
    chain(1000, 3)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        chain(steps, 3)
        best = min(best, time.perf_counter() - started)
    return 2 * steps / best / 1e9


def machine_record(threads: int) -> dict:
    """The CPU: model, flags, cores, clock (nominal and measured) and the float32 peak they allow.

    The theoretical peak is ``threads × FLOPs per cycle × the measured clock`` (the nominal clock
    when it cannot be measured): a measured GEMM rate above it means a wrong clock or unit, and the
    benchmark refuses to report it.
    """
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    unit = vector_unit(flags, info.get("vendor_id", ""), info.get("cpu family", ""))
    nominal = float(info["cpu MHz"]) / 1000 if "cpu MHz" in info else None
    measured = measured_clock_ghz()
    clock = measured or nominal
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "processor": cpu_name(),
        "vendor": info.get("vendor_id", ""),
        "family_model": f"{info.get('cpu family', '?')}/{info.get('model', '?')}",
        "flags": [flag for flag in SHOWN_FLAGS if flag in flags],
        "cores": cores,
        "vector_unit": unit,
        "nominal_ghz": nominal,
        "measured_ghz": measured,
        "theoretical_gflops": threads * FLOPS_PER_CYCLE[unit] * clock if clock else None,
        "clock_basis": "measured (dependent integer chain)" if measured else "nominal (/proc/cpuinfo)",
    }


class LoadMeter:
    """How much CPU other processes used between two readings (from /proc/stat, steal included).

    ``read()`` marks a point; ``since(mark)`` gives (wall seconds, this process's CPU seconds,
    other CPU seconds): the machine's busy time minus this process's own. On systems without
    /proc/stat the other time is None (no check is possible).
    """

    def __init__(self) -> None:
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _busy(self) -> float | None:
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
        except OSError:
            return None
        user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        return (user + nice + system + irq + softirq + steal) / self.tick

    def read(self) -> tuple[float, float, float | None]:
        return time.perf_counter(), time.process_time(), self._busy()

    def since(self, mark: tuple[float, float, float | None]) -> dict:
        return self.between(mark, self.read())

    @staticmethod
    def between(start: tuple[float, float, float | None], end: tuple[float, float, float | None]) -> dict:
        wall, own = end[0] - start[0], end[1] - start[1]
        other = None if end[2] is None or start[2] is None else max(0.0, end[2] - start[2] - own)
        return {"seconds": wall, "own_cpu": own, "other_cpu": other}


#: An epoch is clean when other processes used at most this share of one core during it (plus
#: two clock ticks, the resolution of /proc/stat).
OTHER_LOAD_LIMIT = 0.10


def is_clean(epoch: dict, tick: float = 0.01) -> bool:
    """Whether other processes stayed under OTHER_LOAD_LIMIT during the epoch (unknown counts as clean)."""
    other = epoch.get("other_cpu")
    return other is None or other <= OTHER_LOAD_LIMIT * epoch["seconds"] + 2 * tick


def two_states(seconds: list[float], jump: float = 1.25, share: float = 0.15) -> dict | None:
    """Two clusters of epoch times, when the sorted times jump by ``jump``× with at least ``share``
    of the epochs (and two) on each side: the machine ran in two speed states. None otherwise."""
    ordered = sorted(seconds)
    if len(ordered) < 4:
        return None
    ratios = [b / a for a, b in zip(ordered[:-1], ordered[1:])]
    cut = max(range(len(ratios)), key=ratios.__getitem__)
    fast, slow = ordered[: cut + 1], ordered[cut + 1 :]
    if ratios[cut] < jump or min(len(fast), len(slow)) < max(2, share * len(ordered)):
        return None
    return {
        "fast_seconds": fast[len(fast) // 2],
        "fast_epochs": len(fast),
        "slow_seconds": slow[len(slow) // 2],
        "slow_epochs": len(slow),
    }
