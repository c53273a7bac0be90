"""Training and prediction speed of glassnet against PyTorch and scikit-learn, in one run.

Each contender trains ``--epochs`` epochs in one run of its training loop (glassnet: one
``fit(epochs=...)``, each epoch timed from its start to the next one's, the diagnostics probe
included; scikit-learn: one ``partial_fit`` per epoch). Every measurement runs in its own process
(an OpenBLAS thread spinning after a NumPy call slows a PyTorch call issued right after it), and
contenders are interleaved round by round (A B A B ...).

What counts, and what does not:

- the machine is named: CPU model, family, flags, cores, the clock *measured* with a dependent
  integer chain, and the theoretical float32 peak they allow. A measured GEMM peak above the
  theoretical one stops the run: the clock or the unit is wrong, and no figure would be trusted;
- each epoch records the CPU time other processes used meanwhile (/proc/stat, steal included).
  Epochs with other load above 10% of a core are dropped and counted; a process's figure is the
  median of its clean epochs (not the fastest), ratios are medians of per-round ratios;
- when a contender's clean epochs fall into two speed states (a jump of 1.25× between the sorted
  times, with enough epochs on each side), both states are reported instead of a median of them.

    python benchmarks/train_speed.py                       # all configs, 3 rounds
    python benchmarks/train_speed.py --configs A,C --rounds 5 --threads 1
    python benchmarks/train_speed.py --configs A,C --contenders glassnet --baseline f4a318c --markdown ""

``--baseline REF`` adds the contender ``glassnet@REF``: the same worker run on glassnet as it was
at git revision REF (checked out into a temporary worktree), in the same rounds, so that a change
can be shown not to slow the training step down on the machine at hand.

Writes ``benchmarks/results/train_speed.json`` and regenerates ``docs/performance.md``.
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, set on some machines to work around old OpenBLAS bugs,
are removed for every contender (they force a slower kernel on a current NumPy); the kernel
actually used is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _process import LoadMeter, cpu_name, is_clean, machine_record, run_measurement, two_states

ROOT = Path(__file__).resolve().parent.parent

CONFIGS = {
    "A": {
        "sizes": [784, 256, 256, 10],
        "batch": 128,
        "activation": "relu",
        "batch_norm": False,
        "label": "784-256-256-10 ReLU, batch 128",
    },
    "B": {
        "sizes": [784, 1024, 1024, 10],
        "batch": 256,
        "activation": "relu",
        "batch_norm": False,
        "label": "784-1024-1024-10 ReLU, batch 256 (GEMM-bound)",
    },
    "C": {
        "sizes": [64, 32, 32, 10],
        "batch": 32,
        "activation": "relu",
        "batch_norm": False,
        "label": "64-32-32-10 ReLU, batch 32 (overhead-bound)",
    },
    "D": {
        "sizes": [784, 100, 100, 100, 10],
        "batch": 60,
        "activation": "sigmoid",
        "batch_norm": True,
        "label": "784-100-100-100-10 sigmoid + batch norm, batch 60 (BN paper)",
    },
}
N_SAMPLES = 60_000
#: E: the network of the tabular recipe (glassnet/recipe.py: 256-128, dropout 0.1, Adam 3e-3,
#: batch 64, the L2 prior 2 over the rows) on a table of 64 encoded columns; `glassnet train` trains
#: five of them, one at a time.
CONFIGS["E"] = {
    "sizes": [64, 256, 128, 2],
    "batch": 64,
    "activation": "relu",
    "batch_norm": False,
    "dropout": 0.1,
    "optimizer": "adam",
    "weight_decay": 2.0 / N_SAMPLES,
    "label": "64-256-128-2 ReLU, dropout 0.1, Adam with L2, batch 64 (the tabular recipe's network)",
}
CONTENDERS = ("glassnet", "glassnet_nodiag", "glassnet_numpy", "glassnet_policy", "torch", "torch_compile", "sklearn")


def policy_threads(config: dict) -> int | None:
    """The BLAS threads ``glassnet train`` gives one network of this config (glassnet/app/threads.py:
    one for small products, else None: every thread the run allows)."""
    from glassnet.app.threads import product_threads

    return product_threads(config["sizes"], config["batch"])


def weights_of(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


# ----------------------------------------------------------------------------------------- worker
def make_data(config: dict):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((N_SAMPLES, config["sizes"][0]), dtype=np.float32)
    y = rng.integers(0, config["sizes"][-1], N_SAMPLES)
    return x, y


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info

        return "; ".join(
            f"{i['internal_api']} {i.get('version', '')} {i.get('architecture', '')} {i['num_threads']} threads"
            for i in threadpool_info()
        )
    except ImportError:
        return "threadpoolctl not installed"


#: With --baseline, the glassnet workers also time every training step (STEP_CLOCK=1 in their
#: environment): the 10th percentile and the median of ~10⁴ step intervals are far steadier on a
#: machine with two performance states than the fastest epoch.
STEP_CLOCK = os.environ.get("STEP_CLOCK") == "1"


def step_clock_class():
    """A callback timing the interval between consecutive batch ends (one full training step)."""
    import numpy as np

    import glassnet as gn

    class StepClock(gn.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.last = None
            self.intervals = getattr(self, "intervals", [])

        def on_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            if self.last is not None:
                self.intervals.append(now - self.last)
            self.last = now

        def summary(self) -> dict:
            micro = np.asarray(self.intervals) * 1e6
            return {"step_p10_us": float(np.percentile(micro, 10)), "step_median_us": float(np.median(micro))}

    return StepClock


def worker_glassnet(config: dict, epochs: int, threads: int, diagnostics: bool = True, kernels: str = "auto") -> dict:
    import glassnet as gn

    gn.kernels.set_backend(kernels)
    StepClock = step_clock_class()

    x, y = make_data(config)
    sizes = config["sizes"]
    net = gn.mlp(
        sizes[1:-1],
        sizes[-1],
        activation=config["activation"],
        batch_norm=config["batch_norm"],
        dropout=config.get("dropout", 0.0),
        output_activation="softmax",
        input_dim=sizes[0],
        seed=0,
    )
    optimizer = (
        gn.Adam(net.parameters(), lr=3e-3, weight_decay=config.get("weight_decay", 0.0))
        if config.get("optimizer") == "adam"
        else gn.SGD(net.parameters(), lr=0.01, momentum=0.9)
    )
    gn.fit(
        net, x[:5000], y[:5000], epochs=1, batch_size=config["batch"], optimizer=optimizer, diagnostics=diagnostics
    )  # warm-up

    class EpochClock(gn.Callback):
        """Wall time from one epoch's start to the next: every step, the epoch-end diagnostics
        probe and bookkeeping included; the one-time set-up of ``fit`` (input validation, the
        probe before training) excluded, as PyTorch's loop excludes its set-up."""

        def on_train_begin(self, logs=None):
            self.marks = []

        def on_epoch_begin(self, epoch, logs=None):
            self.marks.append(meter.read())

        def on_train_end(self, logs=None):
            self.marks.append(meter.read())

    meter = LoadMeter()
    clock = EpochClock()
    steps = StepClock() if STEP_CLOCK else None
    gn.fit(
        net,
        x,
        y,
        epochs=epochs,
        batch_size=config["batch"],
        optimizer=optimizer,
        seed=0,
        diagnostics=diagnostics,
        callbacks=[clock] if steps is None else [clock, steps],
    )
    epochs = [LoadMeter.between(a, b) for a, b in zip(clock.marks[:-1], clock.marks[1:])]
    result = {"epochs": epochs, "kernels": gn.kernels.name()}
    if steps is not None:
        result.update(steps.summary())
    result.update(predict_latency(lambda rows: net.predict(rows), x))
    return result


def predict_latency(predict, x) -> dict:
    one, thousand = x[:1], x[:1000]
    for _ in range(50):
        predict(one)
    samples = []
    for _ in range(2000):
        started = time.perf_counter()
        predict(one)
        samples.append(time.perf_counter() - started)
    batch = []
    for _ in range(50):
        started = time.perf_counter()
        predict(thousand)
        batch.append(time.perf_counter() - started)
    return {"predict_1_us": statistics.median(samples) * 1e6, "predict_1000_us": statistics.median(batch) * 1e6}


def torch_model(config: dict):
    import torch

    sizes = config["sizes"]
    layers = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(torch.nn.Linear(fan_in, fan_out, bias=not config["batch_norm"]))
        if config["batch_norm"]:
            layers.append(torch.nn.BatchNorm1d(fan_out))
        layers.append(torch.nn.ReLU() if config["activation"] == "relu" else torch.nn.Sigmoid())
        if config.get("dropout"):
            layers.append(torch.nn.Dropout(config["dropout"]))
    layers.append(torch.nn.Linear(sizes[-2], sizes[-1]))
    return torch.nn.Sequential(*layers)


def worker_torch(config: dict, epochs: int, threads: int, compiled: bool = False) -> dict:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x, y = make_data(config)
    model = torch_model(config)
    optimizer = (
        torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=config.get("weight_decay", 0.0))
        if config.get("optimizer") == "adam"
        else torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    )
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    batch = config["batch"]
    step_model = torch.compile(model) if compiled else model

    def epoch(n: int) -> None:
        model.train()
        order = torch.randperm(n)
        for start in range(0, n, batch):
            index = order[start : start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(step_model(x_t[index]), y_t[index])
            loss.backward()
            optimizer.step()

    compile_started = time.perf_counter()
    epoch(5000)  # warm-up (and compilation)
    result = {"warmup_seconds": time.perf_counter() - compile_started}
    meter, times = LoadMeter(), []
    for _ in range(epochs):
        mark = meter.read()
        epoch(N_SAMPLES)
        times.append(meter.since(mark))
    result["epochs"] = times
    if not compiled:
        model.eval()

        def predict(rows):
            with torch.inference_mode():
                return torch.softmax(model(torch.from_numpy(rows)), dim=1).numpy()

        result.update(predict_latency(predict, x))
    return result


def worker_sklearn(config: dict, epochs: int, threads: int) -> dict:
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x, y = make_data(config)
    sizes = config["sizes"]
    model = MLPClassifier(
        hidden_layer_sizes=tuple(sizes[1:-1]),
        activation="relu" if config["activation"] == "relu" else "logistic",
        solver="sgd",
        momentum=0.9,
        nesterovs_momentum=False,
        learning_rate_init=0.01,
        batch_size=config["batch"],
        random_state=0,
    )
    classes = np.arange(sizes[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.partial_fit(x[:5000], y[:5000], classes=classes)  # warm-up
        meter, times = LoadMeter(), []
        for _ in range(epochs):
            mark = meter.read()
            model.partial_fit(x, y)
            times.append(meter.since(mark))
    result = {"epochs": times}
    result.update(predict_latency(lambda rows: model.predict_proba(rows), x))
    return result


def worker_gemm(threads: int) -> dict:
    import numpy as np

    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    b = np.random.default_rng(1).random((2048, 2048), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(10):
        started = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - started)
    return {"gflops": 2 * 2048**3 / best / 1e9}


def worker_gemm_shapes(config: dict, library: str = "numpy", threads: int = 2) -> dict:
    """The matrix products of one training step alone, at this config's shapes: the GEMM-only limit.

    Forward x·W per layer; backward xᵀ·δ per layer and δ·Wᵀ for every layer but the first, each
    into a preallocated output, with ``library``'s product: NumPy's ``matmul`` (glassnet's BLAS) or
    PyTorch's ``torch.mm`` (its own BLAS), so that each side's time outside the products can be
    told apart. Two figures:

    - ``samples_per_s``: the best of many back-to-back repetitions in warm caches, an optimistic
      bound;
    - ``streamed_samples_per_s``: the median of repetitions that each follow a pass over as many
      bytes as Adam streams in a step (weights, gradients and two moments), which is what the
      products of a training loop find in the caches. Only the products are timed.
    """
    import numpy as np

    if library == "torch":
        import torch

        torch.set_num_threads(threads)

        def product(a, b, out):
            return lambda: torch.mm(a, b, out=out)

        def tensor(array):
            return torch.from_numpy(array)
    else:

        def product(a, b, out):
            return lambda: np.matmul(a, b, out=out)

        def tensor(array):
            return array

    rng = np.random.default_rng(0)
    sizes, batch = config["sizes"], config["batch"]
    products = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        x = tensor(rng.random((batch, fan_in), dtype=np.float32))
        w = tensor(rng.random((fan_in, fan_out), dtype=np.float32))
        delta = tensor(rng.random((batch, fan_out), dtype=np.float32))
        y, grad_w, grad_x = (tensor(np.empty(shape, np.float32)) for shape in (delta.shape, w.shape, x.shape))
        products.append(product(x, w, y))
        products.append(product(x.T, delta, grad_w))
        if i > 0:
            products.append(product(delta, w.T, grad_x))

    def step() -> None:
        for run in products:
            run()

    for _ in range(20):
        step()
    best = float("inf")
    for _ in range(7):
        started = time.perf_counter()
        for _ in range(20):
            step()
        best = min(best, (time.perf_counter() - started) / 20)
    optimizer_state = tensor(np.zeros(4 * weights_of(sizes), dtype=np.float32))
    streamed = []
    for _ in range(60):
        optimizer_state += 1.0  # the optimizer's pass over the parameters, not timed
        started = time.perf_counter()
        step()
        streamed.append(time.perf_counter() - started)
    return {"samples_per_s": batch / best, "streamed_samples_per_s": batch / statistics.median(streamed)}


def typical(result: dict) -> float | None:
    """The median of one process's clean epochs (None: every epoch ran beside other load)."""
    clean = [e["seconds"] for e in result["epochs"] if is_clean(e)]
    return statistics.median(clean) if clean else None


def paired(results: list[dict], others: list[dict]) -> list[tuple[float, float]]:
    """(mine, theirs): each round's typical epoch seconds, for the rounds where both have clean epochs."""
    pairs = [(typical(r), typical(o)) for r, o in zip(results, others)]
    return [(a, b) for a, b in pairs if a and b]


def run_worker(args) -> None:
    if args.worker == "gemm":
        result = worker_gemm(args.threads)
    elif args.worker in ("gemm_shapes", "gemm_shapes_torch"):
        library = "torch" if args.worker == "gemm_shapes_torch" else "numpy"
        result = worker_gemm_shapes(CONFIGS[args.config], library, args.threads)
    else:
        config = CONFIGS[args.config]
        if args.worker in ("glassnet", "glassnet_baseline"):
            result = worker_glassnet(config, args.epochs, args.threads)
        elif args.worker == "glassnet_nodiag":
            result = worker_glassnet(config, args.epochs, args.threads, diagnostics=False)
        elif args.worker == "glassnet_numpy":
            result = worker_glassnet(config, args.epochs, args.threads, kernels="numpy")
        elif args.worker == "glassnet_policy":
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=policy_threads(config)):
                result = worker_glassnet(config, args.epochs, args.threads)
        elif args.worker == "torch":
            result = worker_torch(config, args.epochs, args.threads)
        elif args.worker == "torch_compile":
            result = worker_torch(config, args.epochs, args.threads, compiled=True)
        else:
            result = worker_sklearn(config, args.epochs, args.threads)
    result["peak_rss_mb"] = peak_rss_mb()
    result["blas"] = blas_info()
    print("RESULT " + json.dumps(result))


# ------------------------------------------------------------------------------------- orchestrator
def available(contender: str) -> str | None:
    """None when the contender can run, else the reason it is skipped."""
    module = {
        "glassnet": "glassnet",
        "glassnet_baseline": "glassnet",
        "glassnet_nodiag": "glassnet",
        "glassnet_numpy": "glassnet",
        "glassnet_policy": "glassnet",
        "torch": "torch",
        "torch_compile": "torch",
        "sklearn": "sklearn",
    }[contender]
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return None if probe.returncode == 0 else f"{module} is not installed"


#: Where the ``glassnet_baseline`` contender imports glassnet from (``--baseline``).
SOURCES = {"glassnet_baseline": None}


def spawn(worker: str, config: str | None, epochs: int, threads: int, timeout: float) -> dict | str:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = str(threads)
    source = SOURCES.get(worker) or ROOT
    if SOURCES["glassnet_baseline"] is not None and worker.startswith("glassnet"):
        env["STEP_CLOCK"] = "1"
    env["PYTHONPATH"] = str(source) + os.pathsep + env.get("PYTHONPATH", "")
    command = [sys.executable, __file__, "--worker", worker, "--epochs", str(epochs), "--threads", str(threads)]
    if config:
        command += ["--config", config]
    return run_measurement(command, env, timeout)


def versions() -> dict:
    out = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "processor": cpu_name(),
    }
    for module in ("numpy", "torch", "sklearn", "glassnet"):
        probe = subprocess.run(
            [sys.executable, "-c", f"import {module}; print({module}.__version__)"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        out[module] = probe.stdout.strip() if probe.returncode == 0 else "not installed"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="A,B,C,D,E")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per process")
    parser.add_argument("--threads", type=int, default=2, help="threads for every contender")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "train_speed.json"))
    parser.add_argument("--markdown", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--render", metavar="JSON", help="only re-render the Markdown from a saved run")
    parser.add_argument("--baseline", metavar="REF", help="also run glassnet as of git revision REF")
    args = parser.parse_args()
    if args.worker:
        run_worker(args)
        return
    if args.render:
        report = json.loads(Path(args.render).read_text())
        markdown = render_markdown(report, report.get("command", "python benchmarks/train_speed.py"))
        Path(args.markdown).write_text(markdown)
        print(markdown)
        return

    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    if args.baseline:
        SOURCES["glassnet_baseline"] = checkout(args.baseline)
        contenders.append("glassnet_baseline")
    try:
        measure(args, configs, contenders)
    finally:
        if SOURCES["glassnet_baseline"] is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", SOURCES["glassnet_baseline"]])
            os.rmdir(os.path.dirname(SOURCES["glassnet_baseline"]))  # the empty mkdtemp folder around it


def checkout(ref: str) -> str:
    """A temporary git worktree of revision ``ref`` (removed when the run ends)."""
    import tempfile

    folder = os.path.join(tempfile.mkdtemp(prefix="glassnet-baseline-"), "tree")
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", folder, ref], check=True, capture_output=True
    )
    return folder


def measure(args: argparse.Namespace, configs: list[str], contenders: list[str]) -> None:
    """Run the rounds, then write the JSON and the Markdown."""
    skipped = {}
    for contender in contenders:
        reason = available(contender)
        if reason:
            skipped[contender] = reason
    active = [c for c in contenders if c not in skipped]
    print(f"threads per contender: {args.threads}; rounds: {args.rounds}; skipped: {skipped or 'none'}", flush=True)

    machine = machine_record(args.threads)
    gemm = [spawn("gemm", None, 1, args.threads, 120) for _ in range(3)]
    peak = max(g["gflops"] for g in gemm if isinstance(g, dict))
    theoretical = machine["theoretical_gflops"]
    print(
        f"{machine['processor']} ({machine['family_model']}, {', '.join(machine['flags'])}), {machine['cores']} cores, "
        f"clock {machine['measured_ghz'] or machine['nominal_ghz']:.2f} GHz ({machine['clock_basis']}); float32 "
        f"GEMM peak (2048^3, {args.threads} threads): {peak:.0f} GFLOP/s measured, {theoretical or 0:.0f} theoretical",
        flush=True,
    )
    if theoretical and peak > theoretical:
        raise SystemExit(
            f"error: the measured GEMM peak {peak:.0f} GFLOP/s is above the theoretical {theoretical:.0f} "
            f"({args.threads} threads × {machine['vector_unit']} × "
            f"{machine['measured_ghz'] or machine['nominal_ghz']:.2f} GHz): "
            "the clock or the vector unit is wrong, so no figure of this run would be trustworthy."
        )

    raw: dict[str, dict[str, list]] = {c: {k: [] for k in active} for c in configs}
    gemm_only: dict[str, list[float]] = {c: [] for c in configs}
    gemm_streamed: dict[str, list[float]] = {c: [] for c in configs}
    torch_streamed: dict[str, list[float]] = {c: [] for c in configs}
    failures: dict[str, str] = {}
    for round_index in range(args.rounds):
        for config in configs:
            shapes = spawn("gemm_shapes", config, 1, args.threads, 300)
            if isinstance(shapes, dict):
                gemm_only[config].append(shapes["samples_per_s"])
                gemm_streamed[config].append(shapes["streamed_samples_per_s"])
            if "torch" in active:
                shapes = spawn("gemm_shapes_torch", config, 1, args.threads, 300)
                if isinstance(shapes, dict):
                    torch_streamed[config].append(shapes["streamed_samples_per_s"])
            order = active if round_index % 2 == 0 else list(reversed(active))
            for contender in order:
                if contender == "sklearn" and (CONFIGS[config]["batch_norm"] or CONFIGS[config].get("dropout")):
                    continue  # MLPClassifier has no batch norm and no dropout
                if contender == "glassnet_policy" and policy_threads(CONFIGS[config]) is None:
                    continue  # the policy keeps every thread here: the same run as `glassnet`
                key = f"{config}/{contender}"
                if key in failures:
                    continue
                result = spawn(contender, config, args.epochs, args.threads, args.timeout)
                if isinstance(result, str):
                    failures[key] = result
                    print(f"  round {round_index + 1} {key}: {result}", flush=True)
                    continue
                raw[config][contender].append(result)
                seconds = typical(result)
                shown = f"{N_SAMPLES / seconds:,.0f} samples/s" if seconds else "every epoch had other load"
                dropped = sum(not is_clean(e) for e in result["epochs"])
                print(f"  round {round_index + 1} {key}: {shown} ({dropped} epoch(s) dropped)", flush=True)

    command = " ".join(["python", "benchmarks/train_speed.py"] + sys.argv[1:])
    report = {
        "command": command,
        "threads": args.threads,
        "rounds": args.rounds,
        "epochs": args.epochs,
        "gemm_peak_gflops": peak,
        "machine": machine,
        "versions": versions(),
        "skipped": skipped,
        "failures": failures,
        "configs": {},
    }
    for config in configs:
        weights = weights_of(CONFIGS[config]["sizes"])
        entry = {
            "label": CONFIGS[config]["label"],
            "weights": weights,
            "contenders": {},
            "gemm_only_samples_per_s": max(gemm_only[config]) if gemm_only[config] else None,
            "gemm_streamed_samples_per_s": statistics.median(gemm_streamed[config]) if gemm_streamed[config] else None,
            "torch_gemm_streamed_samples_per_s": (
                statistics.median(torch_streamed[config]) if torch_streamed[config] else None
            ),
            "policy_threads": policy_threads(CONFIGS[config]),
        }
        torch_rounds = raw[config].get("torch", [])
        for contender, results in raw[config].items():
            if not results:
                continue
            rates = [N_SAMPLES / t for t in map(typical, results) if t]
            if not rates:
                entry.setdefault("loaded_out", []).append(contender)
                continue
            epochs = [e for r in results for e in r["epochs"]]
            clean = [e["seconds"] for e in epochs if is_clean(e)]
            info = {
                "samples_per_s": statistics.median(rates),
                "min": min(rates),
                "max": max(rates),
                "gemm_share": statistics.median(rates) * 6 * weights / (peak * 1e9),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
                "blas": results[0]["blas"],
                "epochs": len(epochs),
                "epochs_dropped": len(epochs) - len(clean),
                "two_states": two_states(clean),
                # each round's figure, in order (None: no clean epoch), so that any ratio can be re-derived
                "round_seconds": [typical(r) for r in results],
            }
            if torch_rounds and contender != "torch":
                ratios = [theirs / mine for mine, theirs in paired(results, torch_rounds)]
                if ratios:
                    info["ratio_to_torch"] = statistics.median(ratios)
                    info["ratio_min"], info["ratio_max"] = min(ratios), max(ratios)
                if "predict_1_us" in results[0]:
                    info["predict_1_vs_torch"] = statistics.median(
                        r["predict_1_us"] / t["predict_1_us"] for r, t in zip(results, torch_rounds)
                    )
            compiled_rounds = raw[config].get("torch_compile", [])
            if compiled_rounds and contender.startswith("glassnet"):
                ratios = [theirs / mine for mine, theirs in paired(results, compiled_rounds)]
                if ratios:
                    info["ratio_to_compile"] = statistics.median(ratios)
            sklearn_rounds = raw[config].get("sklearn", [])
            if sklearn_rounds and contender.startswith("glassnet"):
                ratios = [theirs / mine for mine, theirs in paired(results, sklearn_rounds)]
                if ratios:
                    info["ratio_to_sklearn"] = statistics.median(ratios)
                    info["sklearn_min"], info["sklearn_max"] = min(ratios), max(ratios)
            if "kernels" in results[0]:
                info["kernels"] = results[0]["kernels"]
            baseline = raw[config].get("glassnet_baseline", [])
            if contender == "glassnet" and baseline:
                ratios = [theirs / mine for mine, theirs in paired(results, baseline)] or [float("nan")]
                info["ratio_to_baseline"] = statistics.median(ratios)
                info["baseline_min"], info["baseline_max"] = min(ratios), max(ratios)
                for key in ("step_p10_us", "step_median_us"):
                    info[key] = statistics.median(r[key] for r in results)
                    info[f"baseline_{key}"] = statistics.median(b[key] for b in baseline)
                print(
                    f"{config}: glassnet@{args.baseline} → glassnet, fastest epoch: samples/s × "
                    f"{info['ratio_to_baseline']:.3f} (per round {min(ratios):.3f}–{max(ratios):.3f}); "
                    "training step, 10th percentile "
                    f"{info['baseline_step_p10_us']:.1f} → {info['step_p10_us']:.1f} µs, "
                    f"median {info['baseline_step_median_us']:.1f} → {info['step_median_us']:.1f} µs "
                    "(medians over the rounds)",
                    flush=True,
                )
            policy = raw[config].get("glassnet_policy", [])
            if contender == "glassnet" and policy:
                # per round: the policy's throughput over glassnet's (seconds: glassnet's over the policy's)
                ratios = [mine / theirs for mine, theirs in paired(results, policy)]
                if ratios:
                    info["policy_cost"] = 1 - statistics.median(ratios)
                    info["policy_min"], info["policy_max"] = 1 - max(ratios), 1 - min(ratios)
            nodiag = raw[config].get("glassnet_nodiag", [])
            if contender == "glassnet" and nodiag:
                ratios = [theirs / mine for mine, theirs in paired(results, nodiag)]
                if ratios:
                    info["diagnostics_cost"] = 1 - statistics.median(ratios)
            if "predict_1_us" in results[0]:
                info["predict_1_us"] = statistics.median(r["predict_1_us"] for r in results)
                info["predict_1000_us"] = statistics.median(r["predict_1000_us"] for r in results)
            if "warmup_seconds" in results[0]:
                info["warmup_seconds"] = statistics.median(r["warmup_seconds"] for r in results)
            entry["contenders"][contender] = info
        report["configs"][config] = entry

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    markdown = render_markdown(report, command)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(markdown)
    print(markdown)


def machine_line(report: dict) -> str:
    """The machine: CPU, flags, cores, clock, and the measured peak against the theoretical one."""
    v, m = report["versions"], report.get("machine")
    if not m:
        return f"- Machine: {v['processor']}, {v['cpu_count']} cores ({v['machine']}); Python {v['python']}"
    clock = m["measured_ghz"] or m["nominal_ghz"]
    theoretical = m["theoretical_gflops"]
    share = f" ({report['gemm_peak_gflops'] / theoretical:.0%} of it)" if theoretical else ""
    return (
        f"- Machine: {m['processor']} (family/model {m['family_model']}; {', '.join(m['flags'])}), {m['cores']} cores "
        f"({v['machine']}); Python {v['python']}. Clock {clock:.2f} GHz, {m['clock_basis']} (nominal "
        f"{m['nominal_ghz'] or 0:.2f} GHz); vector unit {m['vector_unit']}: theoretical float32 peak "
        f"{theoretical or 0:.0f} GFLOP/s for {report['threads']} threads; measured GEMM peak "
        f"{report['gemm_peak_gflops']:.0f} GFLOP/s{share}."
    )


def two_state_lines(report: dict) -> list[str]:
    """Contenders whose clean epochs fall in two speed states, each state said, not folded into a median."""
    found = [
        (name, contender, info["two_states"])
        for name, entry in report["configs"].items()
        for contender, info in entry["contenders"].items()
        if info.get("two_states")
    ]
    if not found:
        return ["", "No contender's clean epochs fell into two speed states (a jump of 1.25× or more)."]
    title = "Two speed states (clean epochs whose sorted times jump by 1.25× or more; both named, not averaged):"
    lines = ["", title, ""]
    for name, contender, state in found:
        lines.append(
            f"- {name} {contender}: {N_SAMPLES / state['fast_seconds']:,.0f} samples/s in {state['fast_epochs']} "
            f"epoch(s), {N_SAMPLES / state['slow_seconds']:,.0f} in {state['slow_epochs']}"
        )
    return lines


#: The throughput targets against PyTorch eager (issue 31), for every machine kind.
TARGETS = {"A": 1.4, "B": 1.1, "C": 8.0, "D": 2.0, "E": 3.0}


def memory_lines(report: dict) -> list[str]:
    """Peak RSS on A against PyTorch's: NumPy kernels at most half of it, compiled kernels at most all of it."""
    contenders = report["configs"].get("A", {}).get("contenders", {})
    torch = contenders.get("torch", {}).get("peak_rss_mb")
    if not torch:
        return []
    lines = ["", f"Memory on A (peak RSS of the training process; PyTorch eager {torch:.0f} MB):", ""]
    for contender, share, what in (("glassnet_numpy", 0.5, "NumPy kernels"), ("glassnet", 1.0, "compiled kernels")):
        mine = contenders.get(contender, {}).get("peak_rss_mb")
        if mine:
            met = "met" if mine <= share * torch else "**not met**"
            lines.append(
                f"- {what} (`{contender}`): {mine:.0f} MB, {mine / torch:.2f} of PyTorch's; target ≤ {share:g}: {met}"
            )
    return lines


def policy_lines(report: dict) -> list[str]:
    """What the BLAS thread policy (threads by product size) costs one network, per config."""
    parts = []
    for name, entry in report["configs"].items():
        info = entry["contenders"].get("glassnet", {})
        if "policy_threads" not in entry:
            continue  # a run from before the policy was measured
        if entry["policy_threads"] is None:
            parts.append(f"{name}: every thread (the same run as `glassnet`)")
        elif "policy_cost" in info:
            parts.append(
                f"{name}: {entry['policy_threads']} thread, {info['policy_cost']:+.1%} "
                f"(per round {info['policy_min']:+.1%} to {info['policy_max']:+.1%})"
            )
    if not parts:
        return []
    return [
        "",
        "The BLAS thread policy of `glassnet train` (one thread for small products) against every thread, "
        "as throughput lost by `glassnet_policy` against `glassnet` (negative: gained): " + "; ".join(parts) + ".",
    ]


def breakdown_lines(report: dict) -> list[str]:
    """Where each training step's time goes, glassnet against PyTorch: the products alone in each side's
    own BLAS (streamed replay) and the rest of the step; the gap split into the BLAS's part and the rest's."""
    rows = []
    for name, entry in report["configs"].items():
        mine, theirs = entry["contenders"].get("glassnet"), entry["contenders"].get("torch")
        ours_only, torch_only = entry.get("gemm_streamed_samples_per_s"), entry.get("torch_gemm_streamed_samples_per_s")
        if not (mine and theirs and ours_only and torch_only):
            continue
        batch = CONFIGS[name]["batch"]
        step, gemm = batch / mine["samples_per_s"] * 1e6, batch / ours_only * 1e6
        their_step, their_gemm = batch / theirs["samples_per_s"] * 1e6, batch / torch_only * 1e6
        rows.append(
            f"| {name} | {step:,.0f} | {gemm:,.0f} | {step - gemm:,.0f} | {their_step:,.0f} | {their_gemm:,.0f} | "
            f"{their_step - their_gemm:,.0f} | {step - their_step:+,.0f} | {gemm - their_gemm:+,.0f} | "
            f"{(step - gemm) - (their_step - their_gemm):+,.0f} |"
        )
    if not rows:
        return []
    return [
        "",
        "Where a training step's time goes (µs per step, medians over the rounds): each side's matrix products "
        "replayed alone at the config's shapes in its own BLAS (NumPy's `matmul` for glassnet, `torch.mm` for "
        "PyTorch; the streamed replay, in its own process), and the rest of the step (element-wise work, loss, "
        "optimizer, Python). The gap (glassnet − PyTorch; negative: glassnet faster) splits into the BLAS's part "
        "(the replays' difference) and the rest's:",
        "",
        "| config | glassnet step | its products (NumPy's BLAS) | its rest | PyTorch step | its products "
        "(PyTorch's BLAS) | its rest | gap | from the BLAS | from the rest |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]


def render_markdown(report: dict, command: str) -> str:
    v = report["versions"]
    lines = [
        "# Performance",
        "",
        f"Generated by `{command}` — do not edit by hand; re-run the script.",
        "",
        machine_line(report),
        f"- Versions: glassnet {v['glassnet']}, NumPy {v['numpy']}, PyTorch {v['torch']}, scikit-learn {v['sklearn']}",
        f"- Threads: {report['threads']} for every contender (OpenBLAS/OMP/MKL env vars and "
        "`torch.set_num_threads`); each measurement in its own process; contenders interleaved; "
        f"{report['rounds']} rounds. Each process times {report.get('epochs', 1)} epoch(s) of one training run; "
        "an epoch during which other processes used more than 10% of a core (from /proc/stat, steal time "
        "included) is dropped, and the process's figure is the median of its clean epochs; the table gives "
        "the median (min–max) over the rounds, and ratios are medians of per-round ratios.",
        f"- Measured float32 GEMM peak (NumPy, 2048³): {report['gemm_peak_gflops']:.0f} GFLOP/s. "
        "Share of peak counts training FLOPs as 6 × weights × samples (an overestimate: no gradient "
        "is needed for the input, about 0.75× of it for a 784-input net).",
        f"- Skipped contenders: {report['skipped'] or 'none'}; failures: {report['failures'] or 'none'}.",
        *(f"- Corrected after the run: {fix}" for fix in report.get("corrections", [])),
        "",
        "- Contenders: `glassnet` (defaults: diagnostics on, compiled kernels when numba is installed), "
        "`glassnet_nodiag` (diagnostics off), `glassnet_numpy` (diagnostics on, NumPy only: no numba), "
        "`glassnet_policy` (BLAS threads as `glassnet train` gives one network: one thread when its largest "
        "product is small, run only where that differs from `glassnet`), "
        "PyTorch eager, `torch.compile`, scikit-learn `MLPClassifier` (sgd, float32 input).",
        "",
        "| config | contender | samples/s (median, min–max) | × PyTorch eager | × scikit-learn | share of GEMM peak | "
        "predict 1 row (µs) | predict 1,000 rows (µs) | peak RSS (MB) | epochs dropped |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in report["configs"].items():
        for contender, info in entry["contenders"].items():
            ratio = (
                f"{info['ratio_to_torch']:.2f} ({info['ratio_min']:.2f}–{info['ratio_max']:.2f})"
                if "ratio_to_torch" in info
                else ("1.00" if contender == "torch" else "–")
            )
            versus_sklearn = (
                f"{info['ratio_to_sklearn']:.2f} ({info['sklearn_min']:.2f}–{info['sklearn_max']:.2f})"
                if "ratio_to_sklearn" in info
                else "–"
            )
            p1 = f"{info['predict_1_us']:.1f}" if "predict_1_us" in info else "–"
            p1000 = f"{info['predict_1000_us']:.0f}" if "predict_1000_us" in info else "–"
            label = contender + (f" ({info['kernels']})" if "kernels" in info else "")
            lines.append(
                f"| {name}: {entry['label']} | {label} | {info['samples_per_s']:,.0f} "
                f"({info['min']:,.0f}–{info['max']:,.0f}) | {ratio} | {versus_sklearn} | "
                f"{info['gemm_share']:.0%} | {p1} | {p1000} | {info['peak_rss_mb']:.0f} | "
                f"{info.get('epochs_dropped', 0)} of {info.get('epochs', '?')} |"
            )
    for name, entry in report["configs"].items():
        if entry.get("loaded_out"):
            lines.append(
                f"\n{name}: no figure for {', '.join(entry['loaded_out'])}: other processes loaded the CPU "
                "in every epoch of every round."
            )
    lines += two_state_lines(report)
    costs = [
        (name, e["contenders"]["glassnet"]["diagnostics_cost"])
        for name, e in report["configs"].items()
        if "diagnostics_cost" in e["contenders"].get("glassnet", {})
    ]
    if costs:
        lines += [
            "",
            "Cost of the default diagnostics (per-step gradient norms, per-epoch probe): "
            + ", ".join(f"{name} {cost:+.1%}" for name, cost in costs)
            + " of glassnet's throughput (`glassnet` vs `glassnet_nodiag`, median of per-round ratios).",
        ]
    lines += [
        "",
        "Against the targets (glassnet with its defaults; medians of per-round ratios):",
        "",
        "| config | × PyTorch eager | target | met | × torch.compile | × scikit-learn | share of GEMM peak "
        "| predict 1 row ÷ PyTorch's |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in report["configs"].items():
        info = entry["contenders"].get("glassnet")
        if not info:
            continue
        ratio, target = info.get("ratio_to_torch"), TARGETS.get(name)
        cells = [
            f"{ratio:.2f}" if ratio else "–",
            f"≥ {target:g}" if target else "–",
            ("yes" if ratio >= target else "**no**") if ratio and target else "–",
            f"{info['ratio_to_compile']:.2f}" if "ratio_to_compile" in info else "–",
            f"{info['ratio_to_sklearn']:.2f}" if "ratio_to_sklearn" in info else "–",
            f"{info['gemm_share']:.0%}",
            f"{info['predict_1_vs_torch']:.2f}" if "predict_1_vs_torch" in info else "–",
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += memory_lines(report) + policy_lines(report) + breakdown_lines(report)
    peak = report["gemm_peak_gflops"] * 1e9
    lines += [
        "",
        "Ceilings: the GEMM work of one training sample is 6 × weights FLOPs as counted above, or "
        "6 × weights − 2 × (first layer's weights) without the input gradient nobody needs (what "
        "glassnet computes). At 100% of the measured peak, with zero time for everything else; and "
        "the *GEMM-only* rate: the matrix products of one training step at this config's shapes, "
        "timed alone: best of 140 back-to-back repetitions in warm caches (the fastest round), and "
        "*streamed*, the median of repetitions that each follow a pass over the bytes Adam streams "
        "in a step, as the products of a training loop find the caches (the median round):",
        "",
        "| config | samples/s at the peak (true FLOPs) | glassnet's share of that | "
        "× scikit-learn at the peak | GEMM-only samples/s | glassnet's share of GEMM-only | "
        "GEMM-only streamed | glassnet's share of that | "
        "× scikit-learn at the GEMM-only rate | glassnet × scikit-learn |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in report["configs"].items():
        sizes = CONFIGS[name]["sizes"] if name in CONFIGS else None
        info = entry["contenders"].get("glassnet")
        if not info or not sizes:
            continue
        flops = 6 * entry["weights"] - 2 * sizes[0] * sizes[1]
        limit = peak / flops
        sklearn = entry["contenders"].get("sklearn")
        best = f"{limit / sklearn['samples_per_s']:.2f}" if sklearn else "–"
        actual = f"{info['ratio_to_sklearn']:.2f}" if "ratio_to_sklearn" in info else "–"
        only = entry.get("gemm_only_samples_per_s")
        only_cells = f"{only:,.0f} | {info['samples_per_s'] / only:.0%}" if only else "– | –"
        streamed = entry.get("gemm_streamed_samples_per_s")
        only_cells += f" | {streamed:,.0f} | {info['samples_per_s'] / streamed:.0%}" if streamed else " | – | –"
        only_sklearn = f"{only / sklearn['samples_per_s']:.2f}" if only and sklearn else "–"
        lines.append(
            f"| {name} | {limit:,.0f} | {info['samples_per_s'] / limit:.0%} | {best} | {only_cells} | "
            f"{only_sklearn} | {actual} |"
        )
    blas = {c: i["blas"] for e in report["configs"].values() for c, i in e["contenders"].items()}
    lines += ["", "BLAS as each contender's process reported it:", ""]
    lines += [f"- {c}: {b}" for c, b in blas.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
