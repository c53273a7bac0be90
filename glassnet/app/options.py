"""What ``glassnet train`` can be told, and the names of what it writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import recipe

MODEL_FILE, METRICS_FILE, REPORT_FILE = "model.glassnet", "metrics.json", "report.html"
#: The file ``glassnet demo`` leaves in its folder, so that it replaces only its own output.
DEMO_MARKER = ".glassnet-demo"
#: Every name glassnet writes into an output folder; ``--overwrite`` replaces a folder holding only these.
OUTPUT_NAMES = (MODEL_FILE, METRICS_FILE, REPORT_FILE, DEMO_MARKER)
#: ``out_of_core="auto"`` streams a table of more cells (rows × columns) than this. The in-memory
#: path needed 2.6 GB of peak memory for 2·10⁷ cells (docs/scale.md), about 130 bytes a cell.
OUT_OF_CORE_CELLS = 10_000_000


@dataclass
class JobOptions:
    """Everything ``glassnet train`` can be told (defaults are the command's defaults)."""

    data: str
    target: list[str] = field(default_factory=list)
    task: str | None = None
    labels: str | None = None
    test_data: str | None = None
    #: The recipe's network (glassnet/recipe.py, shared with the estimators): 256 and 128 units with
    #: dropout 0.1, trained by Adam at 3e-3. Against 128-64 at 1e-3 without dropout, on the 12 tables
    #: of docs/tabular.md (five cross-fit members, one seed): +0.004 on average; see its ablations.
    hidden: tuple[int, ...] = recipe.HIDDEN
    activation: str = "relu"
    #: The weights' initialization (glassnet.init.INITIALIZERS); None: the recipe's.
    init: str | None = recipe.INIT
    batch_norm: bool = False
    dropout: float = recipe.DROPOUT
    epochs: int = 100
    batch_size: int = recipe.BATCH_SIZE
    optimizer: str = "adam"
    #: None: the recipe's rate for the optimizer (glassnet.recipe.learning_rate).
    lr: float | None = None
    momentum: float = 0.9
    #: The L2 coefficient; None: the recipe's prior over each network's training rows
    #: (glassnet.recipe.weight_decay).
    weight_decay: float | None = None
    schedule: str | None = None
    early_stopping: bool = True
    patience: int = recipe.PATIENCE
    #: What counts as an improvement for the patience (EarlyStopping(min_relative_improvement=...)).
    min_relative_improvement: float = recipe.MIN_RELATIVE_IMPROVEMENT
    monitor: str = "val_loss"
    #: The headline metric (``--metric``); None: the task's default (app/tasks.headline_metric). When
    #: given, early stopping and ``--grow`` judge by it on the validation rows too.
    metric: str | None = None
    #: A binary task's positive class (its label as text); None: chosen (app/scoring.positive_class).
    positive_class: str | None = None
    #: Weights of the classes while training: None, "balanced" or {label: weight} (app/decision.py).
    class_weight: Any = None
    #: A binary task's decision threshold: None (the arg-max), "auto", "cost:R" or a probability.
    threshold: Any = None
    #: Calibrate the cross-fit ensemble's probabilities when held out it helps (app/calibration.py).
    calibration: bool = True
    #: A folder for TensorBoard's event files, one run per network (app/tracking.py).
    tensorboard: str | None = None
    #: An MLflow tracking URI ("" for MLflow's default store); None: no MLflow run.
    mlflow: str | None = None
    #: The job's MLflow run, set by the job itself (app/tracking.mlflow_run); not recorded.
    mlflow_run: str | None = None
    #: Declared column kinds: name → "categorical", "numeric" or "ignore" (the others are guessed).
    columns: dict[str, str] = field(default_factory=dict)
    #: Keywords of TablePreprocessor.fit (switch single preprocessing ingredients off).
    table_options: dict[str, Any] = field(default_factory=dict)
    grow: bool = False
    seed: int = 0
    test_fraction: float = 0.2
    validation_fraction: float = 0.15
    image_size: tuple[int, int] | None = None
    image_mode: str | None = None
    delimiter: str | None = None
    #: The CSV's text encoding; None: UTF-8.
    encoding: str | None = None
    #: An Excel workbook's sheet, by name or number from 1 (``--sheet``); None: the first.
    sheet: str | None = None
    checkpoint: str | None = None
    resume: bool = False
    verbose: int = 1
    importance: bool = True
    baselines: bool = True
    #: Seconds each baseline model may take over all its folds: the boosted trees stop adding trees
    #: when their share would run out (the report says so).
    baseline_budget: float = 60.0
    #: Cross-fit this many members on the table's rows (out-of-fold estimate, the members' mean as
    #: the model); 1: one network with a validation split (and the refit).
    folds: int = recipe.FOLDS
    #: Where cross-fit members train: None (here), "joblib", or a Dask scheduler address.
    executor: str | None = None
    #: After choosing the epoch count on the validation rows, train the final network on them too
    #: (one network only: cross-fit members already learn from every row but their own fold's).
    refit: bool = True
    #: Label smoothing of the cross-entropy for single-label classification (0: none).
    label_smoothing: float = 0.0
    #: Stream a table through an on-disk cache: "auto" (when it is large), "on" or "off".
    out_of_core: str = "auto"
    #: Where the out-of-core cache is written (None: the system's temporary folder), and whether it stays.
    cache: str | None = None
    keep_cache: bool = False
    #: Seconds the whole job may take (``--max-time``; app/budget.py shares them among the phases).
    max_time: float | None = None
    #: When the network being trained must stop (wall clock, ``time.time()``): set by the job from
    #: ``max_time`` for each training run, not by the user; not recorded.
    deadline: float | None = None
    frame: Any = None  # an in-memory table instead of a file (used by the demo)

    @property
    def declared_numeric(self) -> list[str]:
        """The columns declared numeric (``--numeric``): their numbers written with a sign or
        separators are read as numbers however few they are (io/tables.local_numbers)."""
        return [name for name, kind in self.columns.items() if kind == "numeric"]

    def reading(self, path) -> dict:
        """How the table at ``path`` is read (io/tables.iter_table's keywords): the delimiter and encoding
        told, and ``--sheet``, which names the data's sheet (not ``--test-data``'s)."""
        return {
            "delimiter": self.delimiter,
            "encoding": self.encoding,
            "sheet": self.sheet if path == self.data else None,
        }


def cross_fitting(options: JobOptions, kind: str = "table") -> bool:
    """Whether the run cross-fits: ``folds`` ≥ 2 on a table, without ``grow``.

    Image folders keep one network with a hold-out (K members would cost K times as long on
    data that is usually large); ``--grow`` searches one network at a time. A checkpoint is written
    member by member (:func:`member_checkpoint`).
    """
    return options.folds >= 2 and kind == "table" and not options.grow


def member_checkpoint(path: str, member: int | None) -> str:
    """Where cross-fit member ``member`` (from 0) keeps its checkpoint, beside ``--checkpoint PATH``:
    ``run.ckpt`` → ``run.member1.ckpt``; ``member=None``: the pattern of them all, ``run.member*.ckpt``."""
    from pathlib import Path

    target = Path(path)
    number = "*" if member is None else str(member + 1)
    return str(target.with_name(f"{target.stem}.member{number}{target.suffix}"))


def not_applied(options: JobOptions, task: str, kind: str) -> dict[str, str]:
    """The options that did not shape this model, each with why (the model file records the rest as used).

    >>> not_applied(JobOptions(data="t.csv", optimizer="adam"), "binary", "table")["momentum"]
    'applies to sgd only'
    """
    from ..optim import OPTIMIZERS

    crossing = cross_fitting(options, kind)
    takers = " or ".join(name for name, cls in sorted(OPTIMIZERS.items()) if cls.takes_momentum)
    rules = {
        "momentum": (not OPTIMIZERS[options.optimizer].takes_momentum, f"applies to {takers} only"),
        "label_smoothing": (task not in ("binary", "multiclass"), "applies to single-label classification only"),
        "patience": (not options.early_stopping, "early stopping is off"),
        "min_relative_improvement": (not options.early_stopping, "early stopping is off"),
        "monitor": (not options.early_stopping, "early stopping is off"),
        "refit": (crossing, "cross-fit members already learn from every row but their own fold's"),
        "validation_fraction": (crossing, "each cross-fit member validates on its own fold"),
        "test_fraction": (crossing and not options.test_data, "the estimate is out of fold"),
        "image_size": (kind == "table", "applies to images only"),
        "image_mode": (kind == "table", "applies to images only"),
        "max_time": (options.max_time is None, "no time limit was given"),
        "positive_class": (task != "binary", "applies to binary tasks only"),
        "threshold": (task != "binary" and options.threshold is not None, "applies to binary tasks only"),
        "class_weight": (
            options.class_weight is not None and (task not in ("binary", "multiclass") or options.grow),
            "applies to single-label classification without --grow",
        ),
        "calibration": (
            task not in ("binary", "multiclass") or not crossing,
            "checked on the cross-fit members' out-of-fold probabilities of a classification",
        ),
    }
    return {name: why for name, (applies_not, why) in rules.items() if applies_not}
