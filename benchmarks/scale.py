"""How `glassnet train` and `glassnet predict` scale with rows: peak memory and wall time.

For each size it writes a synthetic table of ``--sizes`` rows × 20 columns (15 numeric, 5
categorical with 20 levels each; a binary target) as one Parquet file, then runs, each in its
own process and measured by the operating system (``wait4``: peak RSS, wall time):

- ``glassnet train TABLE --target y --epochs E --folds 1 --no-baselines``: one network, a fixed
  number of epochs (early stopping off), the report written;
- ``glassnet predict MODEL TABLE -o OUT.csv`` (streamed in chunks of 100,000 rows).

    python benchmarks/scale.py                          # 10^5, 10^6 and 10^7 rows
    python benchmarks/scale.py --sizes 100000,1000000 --epochs 2

Writes ``benchmarks/results/scale.json`` and regenerates ``docs/scale.md`` (never edit it by hand).
`train` runs out of core at every size (a streaming pass, an on-disk float32 cache); the
``--compare`` size is also trained in memory (one network, and the default five cross-fit networks with
the compiled and with the NumPy kernels), and the paths' times per epoch are compared. A 1,000-row table's
in-memory jobs measure each job's fixed cost: the peak before the rows add to it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _process import machine_record

ROOT = Path(__file__).resolve().parent.parent
#: The peak memory the issue asks every size to stay under (MB).
BUDGET_MB = 1500
#: In memory, the peak may be this many times the float32 feature matrix ...
MATRIX_TIMES = 4
#: ... plus this many MB (the interpreter, the libraries, the table while it is read).
MATRIX_EXTRA_MB = 300
#: The rows of the table whose in-memory jobs measure a process's fixed cost.
FIXED_ROWS = 1000
#: The in-memory paths judged against the targets: (key in a size's entry, what the page calls it).
JUDGED = (
    ("in_memory", "one network"),
    ("cross_fit", "the five cross-fit networks"),
    ("cross_fit_numpy", "the five cross-fit networks, NumPy kernels"),
)


def write_table(path: Path, rows: int, seed: int = 0) -> None:
    """``rows`` synthetic rows as Parquet, written in slices so that the generator's memory stays small."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    writer = None
    levels = np.array([f"v{j}" for j in range(20)])
    for start in range(0, rows, 1_000_000):
        n = min(1_000_000, rows - start)
        frame = pd.DataFrame({f"x{i}": rng.normal(size=n).astype(np.float32) for i in range(15)})
        for i in range(5):
            frame[f"c{i}"] = levels[rng.integers(0, 20, n)]
        signal = frame["x0"] + frame["x1"] * frame["x2"] + (frame["c0"] == "v1") + 0.5 * rng.normal(size=n)
        frame["y"] = (signal > 0.5).astype(np.int8)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=100_000)
    if writer is not None:
        writer.close()


def measure(command: list[str], env: dict | None = None) -> dict:
    """Run ``command`` (with ``env`` added to the environment); its wall time, peak RSS (MB) and exit
    status, from the operating system."""
    started = time.perf_counter()
    environment = {**os.environ, **(env or {})}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    error = process.stderr.read().decode(errors="replace").strip().splitlines() if process.stderr else []
    return {
        "seconds": seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "exit": os.waitstatus_to_exitcode(status),
        "error": error[-1] if error and status else None,
    }


def train(table: Path, out: Path, epochs: int, mode: str, one_network: bool = True, kernels: str = "auto") -> dict:
    """One ``glassnet train`` run (``--out-of-core MODE``; one network, or the default cross-fit; the
    ``GLASSNET_KERNELS`` backend), measured; with its last epoch's seconds."""
    glassnet = [sys.executable, "-m", "glassnet"]
    folds = ["--folds", "1"] if one_network else []
    result = measure(
        glassnet + ["train", str(table), "--target", "y", "--epochs", str(epochs), *folds, "--no-baselines",
                    "--no-early-stopping", "--out-of-core", mode, "--out", str(out), "--quiet"],
        {"GLASSNET_KERNELS": kernels},
    )  # fmt: skip
    if result["exit"] == 0:
        from glassnet.io.modelfile import load_model

        metrics = json.loads((out / "metrics.json").read_text())
        result["epochs"] = metrics["epochs"]
        result["epoch_seconds"] = load_model(out / "model.glassnet").history["history"]["time"][-1]
        result["prepare_seconds"] = metrics["phases"]["prepare"]
        result["features"] = metrics["data"]["features"]
    return result


def run(sizes: list[int], epochs: int, compare: list[int]) -> dict:
    results = []
    glassnet = [sys.executable, "-m", "glassnet"]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        fixed = fixed_cost(work, epochs) if compare else None
        for rows in sizes:
            table = work / f"table-{rows}.parquet"
            write_table(table, rows)
            model = work / f"model-{rows}"
            entry = {"rows": rows, "table_mb": table.stat().st_size / 2**20}
            entry["train"] = train(table, model, epochs, "on")
            if rows in compare:  # the same table in memory, for the comparison
                entry["in_memory"] = train(table, work / f"memory-{rows}", epochs, "off")
                # the default job: five cross-fit members, two at a time in threads, on views of one pool
                entry["cross_fit"] = train(table, work / f"crossfit-{rows}", epochs, "off", one_network=False)
                entry["cross_fit_numpy"] = train(
                    table, work / f"crossfit-numpy-{rows}", epochs, "off", one_network=False, kernels="numpy"
                )
            output = work / f"predictions-{rows}.csv"
            entry["predict"] = (
                measure(glassnet + ["predict", str(model / "model.glassnet"), str(table), "-o", str(output)])
                if entry["train"]["exit"] == 0
                else None
            )
            print(json.dumps(entry), flush=True)
            results.append(entry)
            for path in (table, output):
                path.unlink(missing_ok=True)
    return {"epochs": epochs, "budget_mb": BUDGET_MB, "machine": machine_record(2), "sizes": results, "fixed": fixed}


def fixed_cost(work: Path, epochs: int) -> dict:
    """The in-memory jobs on a table of FIXED_ROWS rows: what a process costs before its rows do (the
    interpreter, the libraries it imports, the compiled kernels' LLVM, the threads), with each backend."""
    table = work / "table-fixed.parquet"
    write_table(table, FIXED_ROWS)
    runs = {
        f"{what}{'' if kernels == 'auto' else '_numpy'}": train(
            table, work / f"fixed-{what}-{kernels}", epochs, "off", one_network=what == "in_memory", kernels=kernels
        )
        for kernels in ("auto", "numpy")
        for what in ("in_memory", "cross_fit")
    }
    table.unlink()
    return runs


def _cell(run: dict | None, budget: int | None) -> str:
    """Seconds, seconds per epoch and peak RSS, marked when over ``budget`` (None: no budget applies)."""
    if run is None:
        return "– | – | –"
    if run["exit"]:
        return f"failed: {run['error']} | – | –"
    over = " **over budget**" if budget is not None and run["peak_rss_mb"] > budget else ""
    per_epoch = f"{run['epoch_seconds']:.1f}" if "epoch_seconds" in run else "–"
    return f"{run['seconds']:.1f} | {per_epoch} | {run['peak_rss_mb']:,.0f}{over}"


def markdown(report: dict, command: str) -> str:
    m, budget = report["machine"], report["budget_mb"]
    lines = [
        "# Scale",
        "",
        "Tables larger than memory (out of core), streaming prediction, and a Dask cluster; how each works is "
        "below the measurements.",
        "",
        f"Generated by `{command}` (do not edit by hand).",
        "",
        f"- Machine: {m['processor']} (family/model {m['family_model']}), {m['cores']} cores; each command in its "
        "own process, peak RSS and wall time from the operating system (`wait4`).",
        f"- Data: synthetic, 20 columns (15 numeric, 5 categorical of 20 levels), one Parquet file per size. "
        f"`train` runs one network for {report['epochs']} epochs (`--folds 1 --no-baselines --no-early-stopping`), "
        "out of core (`--out-of-core on`), report included; `predict` streams the table in chunks of 100,000 rows.",
        "- Per epoch: the last epoch's seconds, its validation pass included, from the model's history (the "
        "first epoch also pays the compiled kernels' start-up); per 10⁶ rows: that over the rows in millions, "
        "constant when the time grows linearly.",
        f"- Budget: {budget:,} MB of peak memory at every size.",
        "",
        "| rows | Parquet (MB) | train (s) | s/epoch | train peak RSS (MB) | s/epoch per 10⁶ rows | predict (s) | "
        "predict peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    comparisons = []
    for entry in report["sizes"]:
        run, predict = entry["train"], entry["predict"]
        scaled = f"{run['epoch_seconds'] / (entry['rows'] / 1e6):.1f}" if "epoch_seconds" in run else "–"
        predicted = "– | –"
        if predict and predict["exit"] == 0:
            predicted = f"{predict['seconds']:.1f} | {predict['peak_rss_mb']:,.0f}"
        elif predict:
            predicted = f"failed: {predict['error']} | –"
        lines.append(f"| {entry['rows']:,} | {entry['table_mb']:.0f} | {_cell(run, budget)} | {scaled} | {predicted} |")
        if "in_memory" in entry:
            comparisons.append(entry)
    done = [entry for entry in report["sizes"] if entry["train"]["exit"] == 0]
    if len(done) >= 2:
        low, high = done[0], done[-1]
        slope = (high["train"]["peak_rss_mb"] - low["train"]["peak_rss_mb"]) * 2**20 / (high["rows"] - low["rows"])
        lines += [
            "",
            f"Peak training memory grows by {slope:.0f} bytes a row from {low['rows']:,} to {high['rows']:,} rows: "
            "what stays in memory is the targets, the split positions and each epoch's order, not the rows.",
        ]
    for entry in comparisons:
        memory, disk = entry["in_memory"], entry["train"]
        ratio = (
            f"{disk['epoch_seconds'] / memory['epoch_seconds']:.2f}×"
            if "epoch_seconds" in disk and "epoch_seconds" in memory
            else "–"
        )
        lines += [
            "",
            f"## In memory against out of core, {entry['rows']:,} rows",
            "",
            "The cache fits in the page cache here, so this compares the two paths' own costs.",
            "",
            "| path | train (s) | s/epoch | peak RSS (MB) |",
            "|---|---|---|---|",
            f"| in memory (`--out-of-core off`) | {_cell(memory, None)} |",
            f"| out of core (`--out-of-core on`) | {_cell(disk, budget)} |",
            *(
                [f"| in memory, the five cross-fit networks (default) | {_cell(entry['cross_fit'], None)} |"]
                if "cross_fit" in entry
                else []
            ),
            *(
                [
                    "| in memory, the five cross-fit networks, NumPy kernels (`GLASSNET_KERNELS=numpy`) | "
                    f"{_cell(entry['cross_fit_numpy'], None)} |"
                ]
                if "cross_fit_numpy" in entry
                else []
            ),
            "",
            f"Out of core per epoch: {ratio} the in-memory time.",
        ]
        lines += _verdicts(entry, memory, report.get("fixed"))
    if report.get("fixed"):
        lines += _fixed_section(report["fixed"])
    return "\n".join(lines + [""] + GUIDE) + "\n"


def _fixed_of(key: str, fixed: dict | None) -> float | None:
    """The same job's peak on the FIXED_ROWS-row table (MB), when measured and successful."""
    run = (fixed or {}).get(key)
    return run["peak_rss_mb"] if run and run["exit"] == 0 else None


def _verdicts(entry: dict, memory: dict, fixed: dict | None) -> list[str]:
    """Each in-memory path against the issue's target (MATRIX_TIMES × the matrix + MATRIX_EXTRA_MB) and
    against its own fixed cost (the same job on the small table + MATRIX_TIMES × the matrix)."""
    if not memory.get("features"):
        return []
    matrix = entry["rows"] * memory["features"] * 4 / 2**20
    limit = MATRIX_TIMES * matrix + MATRIX_EXTRA_MB
    lines = [
        "",
        f"In memory the float32 feature matrix ({entry['rows']:,} rows × {memory['features']} features) is "
        f"{matrix:,.0f} MB; the target is {MATRIX_TIMES}× that plus {MATRIX_EXTRA_MB} MB, {limit:,.0f} MB (the "
        "out-of-core budget does not apply in memory)."
        + (
            f" Above the same job's peak on a {FIXED_ROWS:,}-row table (its fixed cost, below), the rows may add "
            f"{MATRIX_TIMES}× the matrix, {MATRIX_TIMES * matrix:,.0f} MB:"
            if fixed
            else ""
        ),
        "",
    ]
    for key, what in JUDGED:
        run = entry.get(key)
        if not run or run["exit"]:
            continue
        peak = run["peak_rss_mb"]
        said = f"- {what}: {peak:,.0f} MB, {'within the target' if peak <= limit else '**over the target**'}"
        base = _fixed_of(key, fixed)
        if base is not None:
            grown = peak - base
            verdict = "within" if grown <= MATRIX_TIMES * matrix else "**over**"
            share = f"{grown / matrix:.1f}× the matrix"
            said += f"; {grown:,.0f} MB above its fixed cost of {base:,.0f} MB ({share}), {verdict}"
        lines.append(said + ".")
    return lines


def _fixed_section(fixed: dict) -> list[str]:
    """What a process costs before its rows do, with each kernel backend."""
    lines = [
        "",
        f"## The fixed cost: the in-memory jobs on a {FIXED_ROWS:,}-row table",
        "",
        "| job | compiled kernels (numba, the default when installed): peak RSS (MB) | NumPy kernels: peak RSS (MB) |",
        "|---|---|---|",
    ]
    for key, what in (("in_memory", "one network"), ("cross_fit", "the five cross-fit networks (default)")):
        cells = [_fixed_of(name, fixed) for name in (key, f"{key}_numpy")]
        lines.append(f"| {what} | " + " | ".join("failed" if c is None else f"{c:,.0f}" for c in cells) + " |")
    compiled, numpy_only = _fixed_of("cross_fit", fixed), _fixed_of("cross_fit_numpy", fixed)
    if compiled is not None and numpy_only is not None:
        lines += [
            "",
            f"The compiled kernels cost {compiled - numpy_only:,.0f} MB whatever the rows: numba and the LLVM "
            "library it loads its cached machine code with. The rest is the interpreter and the libraries the job "
            "imports (NumPy, pandas and pyarrow, SciPy and scikit-learn, matplotlib for the report).",
        ]
    return lines


#: The part of docs/scale.md that explains the path and the cluster (prose, not measured).
GUIDE = """
## How a table larger than memory is trained

`glassnet train` streams a table instead of reading it when it has more than 10 million cells
(rows × columns; `--out-of-core on` or `off` decides it yourself). It accepts a CSV, a Parquet
file, a folder of Parquet files or a glob pattern (`'events/*.parquet'`), read as one table.
Parquet is read file by file, row group by row group, without read-ahead.

1. **First pass**: the table is read chunk by chunk (100,000 rows). It keeps the targets and a
   uniform sample of 100,000 rows. Every row gets a seeded random key, a hash of its row number,
   and the rows with the smallest keys are kept (bottom-k sampling).
2. **Split and fit**: the seeded, stratified test and validation splits are the in-memory path's.
   The preprocessing is fitted on the sample's training rows: medians, quantiles, category
   levels, dates and heavy tails. A table of at most 100,000 rows is sampled whole, so it gets
   exactly the in-memory statistics. On a larger one, a category level that is absent from the
   sample is encoded as an unseen level. As in memory, a categorical column keeps indicators for
   at most its 256 most frequent levels.
3. **Second pass**: each chunk is transformed and its rows written into a float32 cache,
   `OUT.glassnet-cache.npy` beside the output folder. The training rows come first, then the
   validation rows, then the test rows, each in the table's order. The cache's whole size is
   reserved before the first row is written, so a disk without room is an error before any work.
   The file is written under a temporary name and renamed when complete. It is removed at the end
   of the run unless `--keep-cache` is given (`np.load(path, mmap_mode="r")` opens it).
4. **Training** reads the cache's rows with `pread`, a fresh shuffle every epoch, as in memory.
   Passes in order (validation, prediction, the checkpoint's data hash) read through a memory map
   whose pages are released every 128 MB. The same seed trains the same network as the in-memory
   path, and checkpoints and `--resume` work as they do in memory.

Out of core, `train` fits one network, not a cross-fitted ensemble. Its test rows are held out
of the table, or streamed from `--test-data` into the cache after the training rows. The
classical baselines are fitted on a seeded uniform sample of up to 100,000 training rows and
scored on as many test rows, and the run's line and the report say so.

## On a Dask cluster

`--scheduler tcp://HOST:8786` sends the work that splits into independent tasks to an existing
Dask cluster: the cross-fit members (`--folds`), the candidates of `--grow`, and both passes over
a Parquet table out of core, one task per part of about 100,000 rows (whole row groups). Tasks
get **paths**, never rows: a Parquet part is named by its file and row groups, the cache by its
file name, and members and candidates read their rows from `.npy` files written beside the
output folder (and removed after). The data's
folder and the output folder must therefore be on a filesystem every worker sees (NFS, a
cluster filesystem, or a volume mounted on every pod). The result is the same as on one machine
for the same seed. A worker that dies mid-task is replaced and its task rerun by Dask, and a rerun
writes the same bytes.

Start a cluster by hand:

```
dask scheduler                                          # on one machine; prints tcp://HOST:8786
dask worker tcp://HOST:8786 --nworkers 4 --nthreads 1   # on each worker machine
glassnet train /shared/events/ --target label --scheduler tcp://HOST:8786 --out /shared/run1
```

On Kubernetes, `dask-kubernetes` (`KubeCluster`) starts the scheduler and workers as pods. On an
HPC batch system, `dask-jobqueue` (`SLURMCluster`, `PBSCluster`, ...) starts them as batch jobs.
Either way, pass the cluster's `scheduler_address` to `--scheduler`. In Python, pass a
`distributed.Client` as `executor=` (to `glassnet.grow`, or `JobOptions.executor`), with
`DaskExecutor(client, shared_dir=...)` naming a folder every worker sees.
""".strip("\n").splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000,10000000", help="comma-separated row counts")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--compare", default="100000,1000000", help="the sizes also trained in memory (comma-separated)"
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scale.json"))
    parser.add_argument("--markdown", default=str(ROOT / "docs" / "scale.md"))
    parser.add_argument("--render", metavar="JSON", help="only regenerate the markdown from an earlier results file")
    args = parser.parse_args()
    if args.render:
        report = json.loads(Path(args.render).read_text())
        Path(args.markdown).write_text(markdown(report, report["command"]))
        return
    compare = [int(size) for size in args.compare.split(",") if size]
    report = run([int(size) for size in args.sizes.split(",")], args.epochs, compare)
    command = " ".join(["python", "benchmarks/scale.py"] + sys.argv[1:])
    report["command"] = command
    Path(args.out).write_text(json.dumps(report, indent=2))
    text = markdown(report, command)
    if args.markdown:
        Path(args.markdown).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
