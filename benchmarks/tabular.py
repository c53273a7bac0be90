"""glassnet's defaults on real tables against gradient boosting, scikit-learn's MLP and RealMLP-TD.

Every (data set, split, model) runs in its own process: a fresh interpreter, no shared BLAS
threads, and the process's CPU time (user + system, its threads and children included) as the cost.

- Data: the tables of ``--data`` (default ``../shared/datasets/tabular`` beside the repository, or
  ``$GLASSNET_TABULAR``); absent, the script says so and stops. Targets and tasks are listed below.
- Splits: ``--seeds`` seeded 80/20 splits (stratified for classification), the same for every model.
- Score: test accuracy (classification) or R² (regression), the headline metrics of ``glassnet train``.
- glassnet runs as a user runs ``glassnet train TRAIN.csv --target T --task TASK --test-data TEST.csv
  --no-baselines`` with every other option at its default (the task is the set's, as the peers are
  told it: glassnet alone would guess a 0–10 integer score as 11 classes), without the report's permutation
  importance (its time is the fit and the test predictions, as for the peers).
- The peers get the same columns: text columns as pandas categoricals (the boosted trees and
  RealMLP-TD handle them natively; the MLP one-hot encodes them), ISO date columns as days.
  Each peer runs with its library's defaults (the MLP on standardized inputs and, for regression,
  standardized targets; RealMLP-TD, which refuses missing numbers, with the training medians
  filled in; as any user of them would).

    python benchmarks/tabular.py                                # every set, 3 seeds, all models
    python benchmarks/tabular.py --sets penguins,sacramento --seeds 1 --models glassnet,hgb
    python benchmarks/tabular.py --models glassnet --reuse benchmarks/results/tabular.json

``--variant NAME=JSON`` adds glassnet with some options changed (``JobOptions`` fields, for
example ``no-clip={"table_options": {"clip": 0}}``), as the model ``glassnet:NAME``: the ablations.
``--reuse REPORT`` (repeatable) takes the results of the models not run now from an earlier report
of the same sets and seeds (the peers do not change when glassnet does; an ablation may come from a
run on fewer seeds, and is compared with the defaults on those seeds); the page says which were reused.

Writes ``benchmarks/results/tabular.json`` and regenerates ``docs/tabular.md`` (never edit it by
hand). A model whose library is missing is skipped and named in the report; RealMLP-TD needs
``pytabkit`` and PyTorch (``pip install torch==2.13.0 pytabkit``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _process import cpu_name, run_measurement

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "tabular"

#: name: (target column, task)
SETS = {
    "pima_diabetes2": ("diabetes", "classification"),
    "house_votes84": ("Class", "classification"),
    "lending_club": ("Class", "classification"),
    "stackoverflow_remote": ("Remote", "classification"),
    "penguins": ("species", "classification"),
    "hpc_jobs": ("class", "classification"),
    "chile_vote": ("vote", "classification"),
    "sacramento": ("price", "regression"),
    "txhousing": ("median", "regression"),
    "chicago_ridership": ("ridership", "regression"),
    "gss_vocab": ("vocab", "regression"),
    "nmes1988": ("visits", "regression"),
    "cps_earnings": ("earnings", "regression"),
    "gss_marital": ("maritalcat", "classification"),
    "nyc_flights_delay": ("delayed", "classification"),
}
MODELS = {
    "glassnet": "glassnet (defaults)",
    "hgb": "HistGradientBoosting",
    "lightgbm": "LightGBM",
    "xgboost": "XGBoost",
    "mlp": "scikit-learn MLP",
    "realmlp": "RealMLP-TD",
}
BOOSTED = ("hgb", "lightgbm", "xgboost")
#: Scores within this distance count as a tie.
TIE = 0.005
REQUIRES = {"glassnet": "glassnet", "hgb": "sklearn", "lightgbm": "lightgbm", "xgboost": "xgboost", "mlp": "sklearn"}
REQUIRES["realmlp"] = "pytabkit"


# ------------------------------------------------------------------------------------------ worker
def split(name: str, data: Path, seed: int):
    """The seeded 80/20 split of one set: (train frame, test frame, target, task)."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    target, task = SETS[name]
    frame = pd.read_csv(data / f"{name}.csv.gz")
    stratify = frame[target] if task == "classification" else None
    train, test = train_test_split(frame, test_size=0.2, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True), target, task


def peer_columns(train, test):
    """Text columns as categoricals over the training levels, ISO dates as days (both frames)."""
    import pandas as pd

    train, test = train.copy(), test.copy()
    for column in train.columns:
        if pd.api.types.is_numeric_dtype(train[column]) or pd.api.types.is_bool_dtype(train[column]):
            continue
        dates = pd.to_datetime(train[column], format="%Y-%m-%d", errors="coerce")
        if dates.notna().mean() > 0.95:
            origin = pd.Timestamp("1970-01-01")
            train[column] = (dates - origin).dt.days
            test[column] = (pd.to_datetime(test[column], format="%Y-%m-%d", errors="coerce") - origin).dt.days
            continue
        levels = pd.CategoricalDtype(sorted(train[column].dropna().unique()))
        train[column], test[column] = train[column].astype(levels), test[column].astype(levels)
    return train, test


def run_glassnet(train, test, target: str, task: str, seed: int, changes: dict) -> tuple[float, float | None]:
    """(test accuracy or R², test ROC AUC for a binary set)."""
    from glassnet.app.options import JobOptions
    from glassnet.app.run import run_training

    with tempfile.TemporaryDirectory() as folder:
        train_csv, test_csv = Path(folder) / "train.csv", Path(folder) / "test.csv"
        train.to_csv(train_csv, index=False)
        test.to_csv(test_csv, index=False)
        options = JobOptions(
            data=str(train_csv),
            target=[target],
            test_data=str(test_csv),
            verbose=0,
            baselines=False,
            importance=False,
            seed=seed,
            task=task,  # the set's declared task, as the peers are told it (a 0-10 score is not guessed as classes)
            **changes,
        )
        result = run_training(options, log=lambda *args: None)
    metrics = result.metrics
    score = metrics["accuracy"] if result.prepared.task in ("binary", "multiclass") else metrics["r2"]
    return float(score), (float(metrics["roc_auc"]) if "roc_auc" in metrics else None)


def peer_model(model: str, task: str, seed: int):
    classification = task == "classification"
    if model == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        kind = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
        return kind(categorical_features="from_dtype", random_state=seed)
    if model == "lightgbm":
        import lightgbm

        kind = lightgbm.LGBMClassifier if classification else lightgbm.LGBMRegressor
        return kind(random_state=seed, verbose=-1)
    if model == "xgboost":
        import xgboost

        kind = xgboost.XGBClassifier if classification else xgboost.XGBRegressor
        return kind(enable_categorical=True, tree_method="hist", random_state=seed)
    if model == "realmlp":
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

        kind = RealMLP_TD_Classifier if classification else RealMLP_TD_Regressor
        return kind(random_state=seed, device="cpu", n_threads=2)
    raise ValueError(f"unknown model {model!r}")


def mlp_pipeline(task: str, seed: int, categorical: list[str], numeric: list[str]):
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                categorical,
            ),
        ]
    )
    if task == "classification":
        return make_pipeline(columns, MLPClassifier(random_state=seed))
    regressor = TransformedTargetRegressor(MLPRegressor(random_state=seed), transformer=StandardScaler())
    return make_pipeline(columns, regressor)


def run_peer(model: str, train, test, target: str, task: str, seed: int) -> tuple[float, float | None]:
    """(test accuracy or R², test ROC AUC for a binary set, from the peer's probabilities)."""
    import numpy as np
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    train, test = peer_columns(train, test)
    x_train, x_test = train.drop(columns=[target]), test.drop(columns=[target])
    y_train, y_test = train[target], test[target]
    if task == "classification":
        classes = sorted(y_train.astype(str).unique())
        y_train = y_train.astype(str).map({c: i for i, c in enumerate(classes)}).to_numpy()
        y_test = y_test.astype(str).map({c: i for i, c in enumerate(classes)}).to_numpy()
    if model == "mlp":
        categorical = [c for c in x_train.columns if str(x_train[c].dtype) == "category"]
        numeric = [c for c in x_train.columns if c not in categorical]
        x_train[categorical], x_test[categorical] = (
            x_train[categorical].astype(object),
            x_test[categorical].astype(object),
        )
        estimator = mlp_pipeline(task, seed, categorical, numeric)
    else:
        estimator = peer_model(model, task, seed)
    if model == "hgb":  # its native categories must be fewer than its 255 bins: more levels go as ordinal codes
        for column in [c for c in x_train.columns if str(x_train[c].dtype) == "category"]:
            if len(x_train[column].cat.categories) > 250:
                codes = (x_train[column].cat.codes, x_test[column].cat.codes)
                x_train[column], x_test[column] = (c.where(c >= 0).astype(float) for c in codes)
    if model == "realmlp":  # it refuses missing numbers: the training medians, as its users impute
        numeric = [c for c in x_train.columns if str(x_train[c].dtype) != "category"]
        medians = x_train[numeric].median()
        x_train[numeric], x_test[numeric] = x_train[numeric].fillna(medians), x_test[numeric].fillna(medians)
    estimator.fit(x_train, y_train)
    predicted = np.asarray(estimator.predict(x_test)).reshape(len(x_test), -1)[:, 0]
    if task == "classification":
        auc = None
        if len(classes) == 2:  # the positive column: class index 1, as glassnet's for these sets' labels
            auc = float(roc_auc_score(y_test == 1, np.asarray(estimator.predict_proba(x_test))[:, 1]))
        return float(accuracy_score(y_test, predicted.astype(int))), auc
    return float(r2_score(y_test, predicted)), None


#: The time target's table: rows × input columns (numeric and categorical), trained with every default.
TIME_ROWS, TIME_COLUMNS = 50_000, 10


def synthetic_table(rows: int = TIME_ROWS, seed: int = 0):
    """A seeded table of ``TIME_COLUMNS`` inputs (7 numeric, one heavy-tailed; 3 categorical) and a
    regression target with interactions and noise."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=(rows, 6))
    frame = pd.DataFrame(numbers, columns=[f"x{i}" for i in range(6)])
    frame["amount"] = rng.lognormal(3, 1.5, rows).round(2)
    for i, levels in enumerate((3, 12, 60)):
        frame[f"c{i}"] = rng.integers(0, levels, rows).astype(str)
        frame[f"c{i}"] = "level_" + frame[f"c{i}"]
    effect = frame["c1"].str.len() * 0.1 + (frame["c0"] == "level_1") * numbers[:, 1]
    frame["y"] = np.sin(numbers[:, 0]) + numbers[:, 2] * numbers[:, 3] + np.log1p(frame["amount"]) * 0.3 + effect
    frame["y"] += rng.normal(0, 0.3, rows)
    return frame


#: The synthetic tables of the time check, by their rows.
SYNTHETIC_ROWS = (50_000, 300_000)


def time_limit(rows: int) -> float:
    """The wall-clock target of ``glassnet train`` with every default on a table of ``rows`` rows (2 cores)."""
    return 60.0 if rows <= 10_000 else 120.0 if rows <= 62_000 else 300.0


def time_check_worker(name: str, data: Path) -> dict:
    """``glassnet train`` with every default (cross-fit, baselines, importance, report) on a whole
    development table (``name``), or on the synthetic table of ``synthetic-ROWS``."""
    import pandas as pd

    from glassnet.cli import main as glassnet_main

    with tempfile.TemporaryDirectory() as folder:
        if name.startswith("synthetic-"):
            path, target = Path(folder) / "table.csv", "y"
            synthetic_table(int(name.split("-")[1])).to_csv(path, index=False)
        else:
            path, target = data / f"{name}.csv.gz", SETS[name][0]
        rows = len(pd.read_csv(path, usecols=[target]))
        started, cpu_before = time.perf_counter(), _cpu_seconds()
        code = glassnet_main(["train", str(path), "--target", target, "--out", str(Path(folder) / "out"), "--quiet"])
        seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_before
        metrics = json.loads((Path(folder) / "out" / "metrics.json").read_text()) if code == 0 else {}
    if code != 0:
        raise SystemExit(f"glassnet train exited with {code}")
    from glassnet.app.tasks import headline_metric

    headline = headline_metric(metrics["task"])
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "phases": metrics.get("phases", {}),
        "metric": headline,
        "score": metrics["test"][headline],
        "estimate": metrics["data"]["estimate"],
    }


def worker(model: str, name: str, seed: int, data: Path, changes: dict) -> dict:
    if model == "time-check":
        return time_check_worker(name, data)
    train, test, target, task = split(name, data, seed)
    started, cpu_before = time.perf_counter(), _cpu_seconds()
    if model.startswith("glassnet"):
        score, auc = run_glassnet(train, test, target, task, seed, changes)
    else:
        score, auc = run_peer(model, train, test, target, task, seed)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_before
    return {"score": score, "roc_auc": auc, "seconds": seconds, "cpu_seconds": cpu}


def _cpu_seconds() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# ------------------------------------------------------------------------------------ orchestrator
def spawn(model: str, name: str, seed: int, data: Path, timeout: float, changes: dict) -> dict | str:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.update({"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"})
    command = [sys.executable, __file__, "--worker", model, "--sets", name, "--seed", str(seed), "--data", str(data)]
    command += ["--options", json.dumps(changes)]
    return run_measurement(command, env, timeout, detail=300)


def missing_library(model: str) -> str | None:
    if model.startswith("glassnet:"):
        model = "glassnet"
    probe = subprocess.run([sys.executable, "-c", f"import {REQUIRES[model]}"], capture_output=True)
    return None if probe.returncode == 0 else f"{REQUIRES[model]} is not installed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("GLASSNET_TABULAR", str(DEFAULT_DATA)))
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "tabular.json"))
    parser.add_argument("--markdown", default=str(ROOT / "docs" / "tabular.md"))
    parser.add_argument("--render", metavar="JSON", help="only re-render the Markdown from a saved run")
    parser.add_argument(
        "--reuse",
        action="append",
        default=[],
        metavar="JSON",
        help="take the other models' results from this earlier run (repeatable; the first that has them)",
    )
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON", help="glassnet with options")
    parser.add_argument("--note", help="a sentence for the page about this run (what was not run, and why)")
    parser.add_argument(
        "--time-check",
        action="store_true",
        help="also time `glassnet train` with every default on each whole set of --sets and on the synthetic "
        f"tables of {' and '.join(f'{r:,}' for r in SYNTHETIC_ROWS)} rows ({TIME_COLUMNS} columns)",
    )
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = Path(args.data)
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args.sets, args.seed, data, json.loads(args.options))))
        return
    if args.render:
        write_markdown(json.loads(Path(args.render).read_text()), args.markdown)
        return
    if not data.is_dir():
        sys.exit(f"no tables at {data}: pass --data DIR or set GLASSNET_TABULAR (nothing was run).")
    sets = [s for s in args.sets.split(",") if s]
    unknown = [s for s in sets if s not in SETS]
    if unknown:
        sys.exit(f"unknown set(s) {unknown}; known: {sorted(SETS)}")
    models = [m for m in args.models.split(",") if m]
    variants = {f"glassnet:{v.split('=', 1)[0]}": json.loads(v.split("=", 1)[1]) for v in args.variant}
    models += list(variants)
    skipped = {m: reason for m in models if (reason := missing_library(m))}
    models = [m for m in models if m not in skipped]
    runs: dict = {name: {model: [] for model in models} for name in sets}
    failures: dict = {}
    for seed in range(args.seeds):
        for name in sets:
            for model in models:
                result = spawn(model, name, seed, data, args.timeout, variants.get(model, {}))
                if isinstance(result, str):
                    failures[f"{name}/{model}/seed {seed}"] = result
                    print(f"{name} seed {seed} {model}: {result}", flush=True)
                    continue
                runs[name][model].append(result)
                print(
                    f"{name} seed {seed} {model}: {result['score']:.4f} "
                    f"({result['seconds']:.1f} s, {result['cpu_seconds']:.1f} s CPU)",
                    flush=True,
                )
    time_check = None
    if args.time_check:
        time_check = {}
        for name in sets + [f"synthetic-{rows}" for rows in SYNTHETIC_ROWS]:
            command = [sys.executable, __file__, "--worker", "time-check", "--sets", name, "--seed", "0"]
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            time_check[name] = run_measurement(command + ["--data", str(data)], env, args.timeout, detail=300)
            print(f"time check {name}: {time_check[name]}", flush=True)
    reused: dict = {}
    elsewhere: dict = {}  # set → model → the processor its reused times were measured on
    for source in args.reuse:  # the first report that has a model's results provides them
        earlier = json.loads(Path(source).read_text())
        if time_check is None and earlier.get("time_check"):
            time_check = earlier["time_check"]
            reused["time check"] = earlier.get("reused", {}).get("time check", earlier["command"])
        for name in sets:
            for model, results in earlier["runs"].get(name, {}).items():
                # an ablation (glassnet:NAME) may have run on fewer seeds: compared on those seeds
                fewer = model.startswith("glassnet:") and 0 < len(results) <= args.seeds
                taken = model in models or runs[name].get(model)
                if not taken and (len(results) == args.seeds or fewer):
                    runs[name][model] = results
                    where = earlier.get("machine", {}).get("processor")
                    if where and where != cpu_name():  # its times are another machine's
                        elsewhere.setdefault(name, {})[model] = where
                    origin = earlier.get("reused", {}).get(model, earlier["command"])
                    if isinstance(origin, dict):  # the earlier report merged several runs: keep theirs
                        origin = next((c for c, s in origin.items() if name in s), earlier["command"])
                    reused.setdefault(model, {}).setdefault(origin, []).append(name)
                    if model in earlier.get("variants", {}):
                        variants.setdefault(model, earlier["variants"][model])
    report = {
        "command": " ".join(["python", "benchmarks/tabular.py"] + sys.argv[1:]),
        "reused": reused,
        "variants": variants,
        "machine": machine(),
        "seeds": args.seeds,
        "skipped": skipped,
        "failures": failures,
        "runs": runs,
        "time_check": time_check,
        "elsewhere": elsewhere,
        "note": args.note,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    write_markdown(report, args.markdown)


def machine() -> dict:
    processor = cpu_name()
    versions = {}
    for module in ("glassnet", "scikit-learn", "lightgbm", "xgboost", "pytabkit", "torch", "numpy"):
        probe = subprocess.run(
            [sys.executable, "-c", f"import importlib.metadata as m; print(m.version({module!r}))"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        versions[module] = probe.stdout.strip() if probe.returncode == 0 else "not installed"
    return {"processor": processor, "cores": os.cpu_count(), "python": platform.python_version(), **versions}


# ---------------------------------------------------------------------------------------- report
def summarize(report: dict) -> dict:
    """Mean score, seconds and CPU seconds per set and model, and glassnet's wins, ties and losses."""
    table: dict = {}
    for name, models in report["runs"].items():
        table[name] = {}
        for model, results in models.items():
            if results:
                table[name][model] = {
                    "score": statistics.mean(r["score"] for r in results),
                    "spread": statistics.pstdev(r["score"] for r in results) if len(results) > 1 else 0.0,
                    "seconds": statistics.mean(r["seconds"] for r in results),
                    "cpu_seconds": statistics.mean(r["cpu_seconds"] for r in results),
                }
                aucs = [r["roc_auc"] for r in results if r.get("roc_auc") is not None]
                if aucs and len(aucs) == len(results):  # binary sets (earlier runs recorded none)
                    table[name][model]["roc_auc"] = statistics.mean(aucs)
    counts: dict = {}
    for rival in ("best boosted", "realmlp", "mlp"):
        tally = {"win": 0, "tie": 0, "loss": 0}
        for scores in table.values():
            if "glassnet" not in scores:
                continue
            if rival == "best boosted":
                values = [scores[m]["score"] for m in BOOSTED if m in scores]
                if not values:
                    continue
                other = max(values)
            elif rival in scores:
                other = scores[rival]["score"]
            else:
                continue
            difference = scores["glassnet"]["score"] - other
            tally["tie" if abs(difference) <= TIE else ("win" if difference > 0 else "loss")] += 1
        counts[rival] = tally
    return {"table": table, "counts": counts}


def roc_auc_lines(table: dict, models: list[str]) -> list[str]:
    """The binary sets' test ROC AUC of every model (from its probabilities), when the runs recorded it."""
    binary = {name: scores for name, scores in table.items() if any("roc_auc" in s for s in scores.values())}
    if not binary:
        return []
    lines = [
        "## Binary sets: test ROC AUC",
        "",
        "The headline of `glassnet train` for a binary task; each peer's from its `predict_proba`. "
        f"Bold: within {TIE} of the best.",
        "",
        "| set | " + " | ".join(MODELS[m] for m in models) + " |",
        "|---|" + "---|" * len(models),
    ]
    for name, scores in binary.items():
        best = max((s["roc_auc"] for s in scores.values() if "roc_auc" in s), default=None)
        cells = []
        for model in models:
            value = scores.get(model, {}).get("roc_auc")
            text = "–" if value is None else f"{value:.4f}"
            cells.append(f"**{text}**" if value is not None and value >= best - TIE else text)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + [""]


def ablation_lines(report: dict, table: dict) -> list[str]:
    """The defaults against each variant (one ingredient changed): score differences per set, each on
    the seeds the variant ran (the first ones of the defaults' seeds)."""
    variants = report.get("variants") or {}
    if not variants:
        return []
    names = list(variants)
    seeds = {n: max((len(models.get(n, [])) for models in report["runs"].values()), default=0) for n in names}
    lines = [
        "",
        "## Ablations: the defaults with one ingredient changed",
        "",
        "Each column is glassnet with the options shown changed; the cells are its score minus the "
        "defaults' on the same seeded splits (negative: the ingredient helps).",
        "",
        "| set | "
        + " | ".join(f"{n.split(':', 1)[1]} `{json.dumps(variants[n])}` ({seeds[n]} seed(s))" for n in names)
        + " |",
        "|---|" + "---|" * len(names),
    ]
    totals: dict = {n: [] for n in names}
    for name, models in report["runs"].items():
        defaults = models.get("glassnet") or []
        if not defaults:
            continue
        cells = []
        for n in names:
            results = models.get(n) or []
            if results and len(defaults) >= len(results):
                same = defaults[: len(results)]
                difference = statistics.mean(r["score"] for r in results) - statistics.mean(r["score"] for r in same)
                totals[n].append(difference)
                cells.append(f"{difference:+.4f}")
            else:
                cells.append("–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    means = [f"{statistics.mean(totals[n]):+.4f}" if totals[n] else "–" for n in names]
    lines.append("| **mean** | " + " | ".join(means) + " |")
    return lines


def cpu_share_lines(table: dict, elsewhere: dict | None = None) -> list[str]:
    """glassnet's CPU seconds as a share of RealMLP-TD's, per set (the target: at most a third), where
    both were measured on the same machine."""
    elsewhere = elsewhere or {}
    shares = {
        name: scores["glassnet"]["cpu_seconds"] / scores["realmlp"]["cpu_seconds"]
        for name, scores in table.items()
        if "glassnet" in scores
        and "realmlp" in scores
        and scores["realmlp"]["cpu_seconds"] > 0
        and ("glassnet" in elsewhere.get(name, {})) == ("realmlp" in elsewhere.get(name, {}))
    }
    if not shares:
        return []
    worst = max(shares, key=shares.get)
    return [
        "",
        f"glassnet's CPU time is {min(shares.values()):.0%} to {shares[worst]:.0%} of RealMLP-TD's "
        f"(the most on {worst}; median {statistics.median(shares.values()):.0%}).",
    ]


def time_check_lines(check) -> list[str]:
    if not check:
        return []
    if "seconds" in check:  # an older report: one synthetic table
        check = {f"synthetic-{TIME_ROWS}": {**check, "rows": TIME_ROWS, "metric": "r2", "score": check["r2"]}}
    lines = [
        "",
        "## Time of `glassnet train` with every default",
        "",
        "Every phase (preparation, five cross-fit networks, the cross-validated baselines, permutation "
        "importance and the report) on each whole table, one process at a time, nothing else running; the "
        "synthetic tables have 10 columns (7 numeric, 3 categorical; `synthetic_table` in the script). The "
        "targets (2 cores): 60 s up to 10,000 rows, 120 s up to 62,000, 300 s above.",
        "",
        "| table | rows | wall s | CPU s | target s | training | baselines | importance | estimate |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in check.items():
        if isinstance(result, str):
            lines.append(f"| {name} | | failed: {result} | | | | | | |")
            continue
        phases = result.get("phases", {})
        limit = time_limit(result["rows"])
        wall = f"{result['seconds']:.0f}" + ("" if result["seconds"] <= limit else " (over)")
        lines.append(
            f"| {name} | {result['rows']:,} | {wall} | {result['cpu_seconds']:.0f} | {limit:.0f} | "
            + " | ".join(f"{phases[p]:.0f}" if p in phases else "–" for p in ("training", "baselines", "importance"))
            + f" | {result.get('estimate', '')} {result['metric']} {result['score']:.3f} |"
        )
    return lines


def reused_text(reused: dict) -> str:
    """Models taken from earlier runs, grouped by the command that produced them."""
    by_command: dict = {}
    for model, origins in reused.items():
        label = "the time check" if model == "time check" else MODELS.get(model, model)
        if isinstance(origins, str):  # one command for every set (the time check, older reports)
            origins = {origins: []}
        for command, names in origins.items():
            whole = len(origins) == 1  # one source for the model: no need to list its sets
            by_command.setdefault(command, []).append(label if whole else f"{label} ({', '.join(names)})")
    return "; ".join(f"{', '.join(models)} from `{command}`" for command, models in by_command.items())


def write_markdown(report: dict, path: str) -> None:
    summary = summarize(report)
    table, machine_info = summary["table"], report["machine"]
    models = [m for m in MODELS if any(m in scores for scores in table.values())]
    lines = [
        "# glassnet on tables: its defaults against gradient boosting and the best MLP recipe",
        "",
        f"Generated by `{report['command']}`; do not edit by hand: re-run the script.",
        "",
        f"- Machine: {machine_info['processor']}, {machine_info['cores']} cores; Python {machine_info['python']}.",
        "- Versions: "
        + ", ".join(f"{k} {v}" for k, v in machine_info.items() if k not in ("processor", "cores", "python")),
        f"- {report['seeds']} seeded 80/20 split(s) per set (stratified for classification); the mean over "
        "them (± the standard deviation with several). Score: test accuracy (classification) or R² "
        "(regression). A dash: not run (see the failures, and the script's --timeout).",
        "- glassnet runs as `glassnet train TRAIN.csv --target T --task TASK --test-data TEST.csv --no-baselines`, "
        "every other option at its default (the report's permutation importance off; the task is the set's, "
        "as the peers are told it): five networks cross-fitted on the training file's rows, their mean "
        "scored on the test file. Each peer runs with its library's defaults (see the script).",
        f"- Skipped: {report['skipped'] or 'none'}; failures: {report['failures'] or 'none'}.",
        "- Reused from earlier runs (same sets, splits and seeds; on another machine where the time table "
        "marks it): " + (reused_text(report.get("reused", {})) or "none") + ".",
        *([f"- Note: {report['note']}"] if report.get("note") else []),
        "",
        "| set | task | " + " | ".join(MODELS[m] for m in models) + " |",
        "|---|---|" + "---|" * len(models),
    ]
    for name, scores in table.items():
        cells = []
        best = max((s["score"] for s in scores.values()), default=None)
        for model in models:
            if model not in scores:
                cells.append("–")
                continue
            text = f"{scores[model]['score']:.4f}"
            if report["seeds"] > 1:
                text += f" ± {scores[model]['spread']:.3f}"
            cells.append(f"**{text}**" if best is not None and scores[model]["score"] >= best - TIE else text)
        lines.append(f"| {name} | {SETS[name][1]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Bold: within {TIE} of the best score on that set.",
        "",
        *roc_auc_lines(table, models),
        "## glassnet's wins, ties and losses",
        "",
        f"A tie is a mean score within {TIE}.",
        "",
        "| against | wins | ties | losses |",
        "|---|---|---|---|",
    ]
    names = {"best boosted": "the best of the boosted trees", "realmlp": "RealMLP-TD", "mlp": "scikit-learn MLP"}
    for rival, tally in summary["counts"].items():
        lines.append(f"| {names[rival]} | {tally['win']} | {tally['tie']} | {tally['loss']} |")
    lines += [
        "",
        "## Time per fit (wall seconds, and CPU seconds of the process)",
        "",
        "| set | " + " | ".join(MODELS[m] for m in models) + " |",
        "|---|" + "---|" * len(models),
    ]
    elsewhere = report.get("elsewhere", {})
    for name, scores in table.items():
        cells = [
            f"{scores[m]['seconds']:.1f} ({scores[m]['cpu_seconds']:.1f})"
            + ("†" if m in elsewhere.get(name, {}) else "")
            if m in scores
            else "–"
            for m in models
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    others = sorted({where for models_ in elsewhere.values() for where in models_.values()})
    if others:
        lines += [
            "",
            f"†: measured in an earlier run on another machine ({'; '.join(others)}), reused for its scores; "
            "compare times only within one machine (the scores do not depend on it).",
        ]
    lines += cpu_share_lines(table, elsewhere) + time_check_lines(report.get("time_check"))
    lines += ablation_lines(report, table)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
