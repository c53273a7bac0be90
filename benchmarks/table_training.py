"""The tabular recipe's training over a long run and beside a busy neighbour (issue: the tables' time).

Two measurements, each in its own process:

- **late epochs**: one network of the recipe (64-256-128 style on the table's features, Adam with the
  L2 prior, dropout, batch 64) trained for ``--epochs`` epochs without early stopping; the time of
  each epoch, and the subnormal weights and moments it ends with. Subnormals made the late epochs of
  this run 7.7× slower than the early ones before the flush (glassnet/floats.py); the table says the
  ratio of the last five epochs' median to epochs 2–6.
- **busy neighbour**: the default five cross-fit members trained quiet, then with one other
  CPU-bound process on the machine (a spinning Python loop), as rows per second of training; the
  ratio is the share of the quiet throughput kept.

    python benchmarks/table_training.py [--table PATH --target COLUMN] [--epochs 40]

The late-epochs worker alone, on glassnet as of another revision (before the flush: 315ee84):

    git worktree add /tmp/before 315ee84
    PYTHONPATH=/tmp/before python benchmarks/table_training.py --worker late --epochs 40

Without ``--table`` it uses ``../shared/datasets/tabular/gss_marital.csv.gz`` when present, else a
synthetic table of 60,000 rows. Writes ``benchmarks/results/table_training.json`` and prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _process import cpu_name, run_measurement

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets" / "tabular" / "gss_marital.csv.gz"


def _table(path: str | None, target: str | None):
    """(features as float32, class indices or values, what it is) from a table or a synthetic one."""
    import numpy as np
    import pandas as pd

    from glassnet.tabular import TablePreprocessor, infer_task

    if path is None and SHARED.exists():
        path, target = str(SHARED), "maritalcat"
    if path is None:
        rng = np.random.default_rng(0)
        frame = pd.DataFrame(rng.normal(size=(60_000, 12)), columns=[f"x{i}" for i in range(12)])
        frame["y"] = np.where(frame["x0"] * frame["x1"] + rng.normal(0, 0.5, len(frame)) > 0, "a", "b")
        target, name = "y", "synthetic"
    else:
        frame, name = pd.read_csv(path), Path(path).name
    y = frame.pop(target)
    x = TablePreprocessor.fit(frame).transform(frame).astype(np.float32)
    if infer_task(y) == "classification":
        return x, pd.factorize(y.astype(str), sort=True)[0], name
    return x, y.to_numpy(np.float32), name


def late_epochs_worker(path: str | None, target: str | None, epochs: int) -> dict:
    import numpy as np

    import glassnet as gn
    from glassnet import recipe
    from glassnet.training.callbacks import Callback

    def count_subnormals(array):  # here, not glassnet.floats: the worker also times glassnet before it existed
        magnitude = np.abs(array)
        return int(np.count_nonzero((magnitude < np.finfo(array.dtype).tiny) & (magnitude > 0)))

    x, y, name = _table(path, target)
    classes = int(y.max()) + 1 if y.dtype.kind in "iu" else 1
    net = gn.mlp(list(recipe.HIDDEN), classes, init=recipe.INIT, dropout=recipe.DROPOUT, input_dim=x.shape[1],
                 output_activation="softmax" if classes > 1 else None, seed=0)  # fmt: skip
    times: list[float] = []

    class Clock(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.started)

    fit = dict(optimizer="adam", lr=recipe.learning_rate("adam"), weight_decay=recipe.weight_decay(len(x)),
               epochs=epochs, batch_size=recipe.BATCH_SIZE, diagnostics=False, callbacks=[Clock()])  # fmt: skip
    gn.fit(net, x, y, **fit)
    state = [p.value for p in net.parameters()]
    early, late = float(np.median(times[1:6])), float(np.median(times[-5:]))
    return {
        "table": name,
        "rows": len(x),
        "epochs": epochs,
        "epoch_seconds": times,
        "early_median": early,
        "late_median": late,
        "late_over_early": late / early,
        "subnormal_weights": int(sum(count_subnormals(a) for a in state)),
        "threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    }


def crossfit_worker(path: str | None, target: str | None) -> dict:
    """Rows per second of the default cross-fit's training phase (five members, the job's executor)."""
    import numpy as np
    import pandas as pd

    from glassnet.app.options import JobOptions
    from glassnet.app.run import run_training

    x, y, name = _table(path, target)
    frame = pd.DataFrame(x[:, :20], columns=[f"f{i}" for i in range(min(20, x.shape[1]))])
    frame["target"] = np.asarray(y).astype(str) if np.asarray(y).dtype.kind in "iu" else y
    options = JobOptions(data="<frame>", frame=frame, target=["target"], verbose=0, baselines=False, importance=False,
                         epochs=8, early_stopping=False)  # fmt: skip
    started = time.perf_counter()
    result = run_training(options, log=lambda *a: None)
    seconds = result.metadata["phases"]["training"]
    rows = sum(m["training_rows"] * m["epochs"] for m in result.metadata["cross_fit"]["members"])
    return {"table": name, "seconds": seconds, "rows_per_second": rows / seconds, "wall": time.perf_counter() - started}


def _spin(seconds: float) -> subprocess.Popen:
    """A CPU-bound neighbour: one Python process spinning for ``seconds``."""
    code = f"import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass\n"
    return subprocess.Popen([sys.executable, "-c", code])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table")
    parser.add_argument("--target")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "table_training.json"))
    parser.add_argument("--markdown", default=str(ROOT / "docs" / "table-training.md"))
    parser.add_argument("--render", metavar="JSON", help="only re-render the Markdown from a saved run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "late":
        print("RESULT " + json.dumps(late_epochs_worker(args.table, args.target, args.epochs)))
        return
    if args.worker == "crossfit":
        print("RESULT " + json.dumps(crossfit_worker(args.table, args.target)))
        return
    if args.render:
        _write(json.loads(Path(args.render).read_text()), args.markdown)
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = [sys.executable, __file__] + (["--table", args.table, "--target", args.target] if args.table else [])
    late = run_measurement(base + ["--worker", "late", "--epochs", str(args.epochs)], env, 3600)
    quiet, busy = [], []
    for _ in range(args.rounds):  # interleaved: quiet, then beside a spinning neighbour
        quiet.append(run_measurement(base + ["--worker", "crossfit"], env, 3600))
        neighbour = _spin(3600)
        try:
            busy.append(run_measurement(base + ["--worker", "crossfit"], env, 3600))
        finally:
            neighbour.kill()
    report = {"command": " ".join(["python", "benchmarks/table_training.py"] + sys.argv[1:]), "cpu": cpu_name(),
              "cores": os.cpu_count(), "late_epochs": late, "quiet": quiet, "busy": busy}  # fmt: skip
    Path(args.out).write_text(json.dumps(report, indent=2))
    _write(report, args.markdown)


#: A run of the late-epochs worker on glassnet before the flush (see the module's text), when saved.
BEFORE = ROOT / "benchmarks" / "results" / "table_training_before.json"


def _write(report: dict, path: str) -> None:
    text = render(report)
    if BEFORE.exists():
        before = json.loads(BEFORE.read_text())
        text += (
            f"\n- The same late-epochs run on glassnet before the flush (315ee84, same machine kind): epochs 2–6 "
            f"median {before['early_median']:.2f} s, last five {before['late_median']:.2f} s "
            f"(×{before['late_over_early']:.2f}); subnormal weights at the end: {before['subnormal_weights']:,}."
        )
    page = (
        "# The tabular recipe's training: late epochs and a busy neighbour\n\n"
        "Generated by `python benchmarks/table_training.py` (and `--render`); do not edit by hand.\n\n" + text + "\n"
    )
    if path:
        Path(path).write_text(page)
    print(page)


def render(report: dict) -> str:
    import statistics

    late = report["late_epochs"]
    lines = [f"Machine: {report['cpu']}, {report['cores']} cores. Command: `{report['command']}`.", ""]
    if isinstance(late, dict):
        lines += [
            f"- Late epochs ({late['table']}, {late['rows']:,} rows, {late['epochs']} epochs of one recipe network): "
            f"epochs 2–6 median {late['early_median']:.2f} s, last five {late['late_median']:.2f} s "
            f"(×{late['late_over_early']:.2f}); subnormal weights at the end: {late['subnormal_weights']}."
        ]
    ok = [(q, b) for q, b in zip(report["quiet"], report["busy"]) if isinstance(q, dict) and isinstance(b, dict)]
    if ok:
        shares = [b["rows_per_second"] / q["rows_per_second"] for q, b in ok]
        lines.append(
            f"- Busy neighbour: the five members' training kept {statistics.median(shares):.0%} of its quiet "
            f"throughput (rounds: {', '.join(f'{s:.0%}' for s in shares)}; quiet "
            f"{statistics.median(q['rows_per_second'] for q, _ in ok):,.0f} rows/s)."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
