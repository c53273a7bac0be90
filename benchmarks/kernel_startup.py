"""What the optional compiled kernels cost at start-up: import, first step, first prediction.

Each measurement runs in a fresh process. "cold" compiles the numba kernels into an empty cache
directory (the very first run on a machine); "warm" loads them from that cache (every later run).

    python benchmarks/kernel_startup.py

Writes ``benchmarks/results/kernel_startup.json`` and prints a Markdown table.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys, time
started = time.perf_counter()
import numpy as np
import glassnet as gn
imported = time.perf_counter()
x = np.random.default_rng(0).random((64, 64), dtype=np.float32)
y = np.arange(64) % 10
net = gn.mlp([32, 32], 10, output_activation="softmax", input_dim=64, seed=0)
gn.fit(net, x, y, epochs=1, batch_size=32, diagnostics=False)
trained = time.perf_counter()
net.predict(x[:1])
predicted = time.perf_counter()
print("RESULT " + json.dumps({"import_s": imported - started, "first_fit_s": trained - imported,
                              "first_predict_s": predicted - trained, "kernels": gn.kernels.name(),
                              "numba_loaded": "numba" in sys.modules}))
"""


def probe(env: dict) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(completed.stderr.strip().splitlines()[-1] if completed.stderr else "no output")


def main() -> None:
    repeats = 3
    rows: dict[str, list[dict]] = {"numpy": [], "numba, cold cache": [], "numba, warm cache": []}
    for _ in range(repeats):
        rows["numpy"].append(probe({"GLASSNET_KERNELS": "numpy"}))
        with tempfile.TemporaryDirectory() as cache:
            rows["numba, cold cache"].append(probe({"GLASSNET_KERNELS": "numba", "NUMBA_CACHE_DIR": cache}))
            rows["numba, warm cache"].append(probe({"GLASSNET_KERNELS": "numba", "NUMBA_CACHE_DIR": cache}))
    summary = {
        name: {
            key: statistics.median(r[key] for r in results) for key in ("import_s", "first_fit_s", "first_predict_s")
        }
        for name, results in rows.items()
    }
    out = ROOT / "benchmarks" / "results" / "kernel_startup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"repeats": repeats, "median": summary, "raw": rows}, indent=2))
    print(f"Start-up cost, median of {repeats} fresh processes (`python benchmarks/kernel_startup.py`):\n")
    print("| kernels | import glassnet (s) | first fit, 2 steps (s) | first 1-row predict (s) |")
    print("|---|---|---|---|")
    for name, values in summary.items():
        print(f"| {name} | {values['import_s']:.3f} | {values['first_fit_s']:.3f} | {values['first_predict_s']:.3f} |")


if __name__ == "__main__":
    main()
