"""The shared body of the estimators: parameters, training, the model file and ONNX."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import recipe
from ..builders import mlp
from ..layers import activation_class
from ..optim import make_optimizer, optimizer_class
from ..training.callbacks import EarlyStopping
from ..training.fit import make_trainer
from ..training.folds import fold_assignment, member_seed
from ..training.progress import EpochPrinter
from .files import ModelFiles
from .params import PARAMETER_CONSTRAINTS


class BaseDNN(ModelFiles, BaseEstimator):
    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    def __init__(
        self,
        hidden_layer_sizes=recipe.HIDDEN,
        activation="relu",
        *,
        solver="adam",
        alpha=recipe.L2_PRIOR,
        batch_size="auto",
        learning_rate_init=None,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=recipe.PATIENCE,
        batch_norm=False,
        dropout=recipe.DROPOUT,
        dtype="float32",
        n_networks=recipe.FOLDS,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.dtype = dtype
        self.n_networks = n_networks

    # -- pieces the two estimators share ---------------------------------------------------
    def _hidden(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if not sizes or any(not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers; got {self.hidden_layer_sizes!r}.")
        return [int(s) for s in sizes]

    def _batch(self, n_samples: int) -> int:
        return min(recipe.BATCH_SIZE if self.batch_size == "auto" else int(self.batch_size), n_samples)

    def _seed(self) -> int:
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _decay(self, rows: int, sample_weight) -> float:
        """The L2 coefficient of ``alpha`` for a network trained on ``rows`` rows.

        The objective is scikit-learn's as its documentation states it, ``(Σ wᵢ·lossᵢ + 0.5·alpha·‖W‖²)
        / Σ wᵢ`` over the network's training rows, so the penalty's gradient is ``alpha / Σ wᵢ``
        times W: the recipe's prior (``glassnet.recipe.L2_PRIOR``), which fades as rows grow. (scikit-learn's
        MLP divides by each batch's size instead, the same thing when one batch holds every row.) A
        row of weight k counts as k copies of it.
        """
        total = float(rows) if sample_weight is None else float(np.sum(sample_weight))
        return self.alpha / total if total > 0 else 0.0

    def _make_optimizer(self, network):
        """The solver for ``network``; its L2 coefficient is set from the rows of each run (``_decay``)."""
        sgd = optimizer_class(self.solver).takes_momentum  # scikit-learn's momentum parameters apply
        return make_optimizer(
            self.solver,
            network.parameters(),
            lr=recipe.learning_rate(self.solver, self.learning_rate_init),
            momentum=self.momentum if sgd else None,
            nesterov=self.nesterovs_momentum and self.momentum > 0 if sgd else None,
        )

    def _build(self, n_features: int, n_outputs: int, output_activation: str, seed: int):
        activation = activation_class(self.activation).kind  # scikit-learn's aliases: "logistic", "identity"
        return mlp(
            self._hidden(),
            n_outputs,
            activation=activation,
            init=recipe.INIT,
            output_activation=output_activation,
            batch_norm=self.batch_norm,
            dropout=self.dropout,
            input_dim=n_features,
            dtype=np.dtype(self.dtype),
            seed=seed,
        )

    def _folds(self, x, targets) -> np.ndarray | None:
        """Each row's fold when the networks are cross-fitted (early stopping, two or more networks).

        None when there is no early stopping, one network, or fewer than two rows per fold (the
        networks then all train on every row, and a warning says so).
        """
        if not self.early_stopping or self.n_networks < 2:
            return None
        if len(x) < 2 * self.n_networks:
            warnings.warn(
                f"{type(self).__name__}: {len(x)} rows are too few for {self.n_networks} folds (two rows per "
                "fold at least); every network trains on all rows and stops on its training loss. Pass "
                "n_networks=1 and early_stopping=False to train one network, or bring more rows.",
                UserWarning,
                stacklevel=4,
            )
            return None
        labels = targets if targets.ndim == 1 else None  # class indices: each class dealt evenly
        return fold_assignment(len(x), self.n_networks, self._random_seed, labels)

    def _network_seed(self, k: int) -> int:
        """Network ``k``'s seed: the estimator's own for one network, else one stream per network."""
        return self._random_seed if self.n_networks == 1 else member_seed(self._random_seed, k)

    def _train(self, x, targets, sample_weight, epochs: int, incremental: bool) -> None:
        """Train ``networks_`` (building them when needed) and update the fitted attributes."""
        fresh = not (incremental or self.warm_start) or not hasattr(self, "networks_")
        if not fresh and len(self.networks_) != self.n_networks:
            raise ValueError(
                f"n_networks={self.n_networks} but the fitted estimator has {len(self.networks_)} network(s); "
                "set it back, or fit without warm_start."
            )
        if fresh:
            self._random_seed = self._seed()
            self.networks_ = [
                self._build(x.shape[1], self._n_network_outputs, self._output_activation, self._network_seed(k))
                for k in range(self.n_networks)
            ]
            self._optimizers = None
            self.loss_curve_, self.validation_loss_curve_, self.validation_scores_ = [], [], []
            self.n_iter_ = 0
            self.t_ = 0
        if getattr(self, "_optimizers", None) is None:  # fresh, or after unpickling or loading
            self._optimizers = [None] * len(self.networks_)
        folds = None if incremental else self._folds(x, targets)
        use_validation = self.early_stopping and not incremental and (folds is not None or self.n_networks == 1)
        runs = self._runner(x, targets, incremental).map(
            lambda k, _: self._train_network(k, x, targets, sample_weight, folds, epochs, incremental, use_validation),
            list(range(len(self.networks_))),
            None,
        )
        self._record([history for history, _ in runs], runs[0][1], use_validation)
        if not incremental and epochs > 1 and any(history.stopped_epoch is None for history, _ in runs):
            warnings.warn(
                f"{type(self).__name__} reached max_iter={self.max_iter} before the "
                f"{'validation' if use_validation else 'training'} loss stopped improving; "
                "raise max_iter or learning_rate_init.",
                ConvergenceWarning,
            )

    def _runner(self, x, targets, incremental: bool):
        """Where the networks train: side by side in threads (one BLAS thread each) on a machine with
        several cores, as ``glassnet train``'s members do, to the same weights; here, one after the other,
        for one network or a ``partial_fit``."""
        from ..training.executors import SequentialExecutor, ThreadExecutor, usable_cores

        if incremental or len(self.networks_) < 2 or usable_cores() < 2:
            return SequentialExecutor()

        def warm_up(_shared) -> None:  # one short epoch of a throwaway network: the kernels compile here
            rows = min(len(x), 2 * self._batch(len(x)))
            network = self._build(x.shape[1], self._n_network_outputs, self._output_activation, 0)
            make_trainer(network, x[:rows], targets[:rows], optimizer=self._make_optimizer(network), epochs=1,
                         batch_size=self._batch(len(x)), diagnostics=True).run()  # fmt: skip

        return ThreadExecutor(warm_up=warm_up)

    def _train_network(self, k, x, targets, sample_weight, folds, epochs, incremental, use_validation):
        """Network ``k``'s run: on every fold but its own (which it stops on), or on every row.

        Returns its history and the number of rows it trained on.
        """
        network, batch_size = self.networks_[k], self._batch(len(x))
        rows = np.ones(len(x), dtype=bool) if folds is None else folds != k
        if self._optimizers[k] is None:
            self._optimizers[k] = self._make_optimizer(network)
        held_out = None
        if folds is not None:
            held = ~rows
            held_out = (x[held], targets[held]) + (() if sample_weight is None else (sample_weight[held],))
        trainer = make_trainer(
            network,
            x[rows],
            targets[rows],
            optimizer=self._optimizers[k],
            epochs=epochs,
            batch_size=batch_size,
            validation_data=held_out,
            validation_split=self.validation_fraction if use_validation and folds is None else None,
            callbacks=self._callbacks(
                incremental, use_validation, self.verbose and k == 0, int(rows.sum()), batch_size
            ),
            shuffle=self.shuffle,
            seed=self._network_seed(k) + self.n_iter_,
            sample_weight=None if sample_weight is None else sample_weight[rows],
            on_divergence="raise",
            diagnostics=k == 0,  # the gradient story is told on the first network
        )
        # the rows it trains on, after any validation split; partial_fit calls may bring other rows
        self._optimizers[k].weight_decay = self._decay(trainer.n_samples, trainer.sample_weight)
        history = trainer.run()
        return history, trainer.n_samples

    def _callbacks(self, incremental: bool, use_validation: bool, verbose: bool, rows: int, batch_size: int) -> list:
        """Early stopping (not for partial_fit) and a line per epoch when verbose.

        The patience is ``n_iter_no_change`` epochs, or more on few rows (``glassnet.recipe.patience``).
        """
        callbacks: list = []
        if not incremental:
            monitor = "val_loss" if use_validation else "loss"
            callbacks.append(
                EarlyStopping(
                    monitor=monitor,
                    patience=recipe.patience(self.n_iter_no_change, rows, batch_size),
                    min_delta=self.tol,
                    restore_best_weights=use_validation,
                )
            )
        if verbose:
            callbacks.append(EpochPrinter())
        return callbacks

    def _record(self, histories: list, n_rows: int, use_validation: bool) -> None:
        """The fitted attributes after a training run: the curves and counts are the first network's
        (every network's run is in ``histories_``); the float64 predictors of all of them."""
        history = histories[0]
        self.network_ = self.networks_[0]
        self.history_, self.histories_ = history, histories
        self.n_iter_ += len(history)
        self.t_ += len(history) * n_rows
        self.loss_curve_ += history["loss"]
        if use_validation:
            self.validation_loss_curve_ += history["val_loss"]
            self.validation_scores_ += history[self._validation_score_key]
            self.best_validation_loss_ = float(min(self.validation_loss_curve_))
        self.best_loss_ = float(min(self.loss_curve_))
        # Predictions run in float64 from the trained weights: float32 GEMM kernels round
        # differently for different batch sizes, and a row's prediction should not depend on
        # which other rows share the call.
        self._predictors = [network.astype(np.float64) for network in self.networks_]

    _y_numeric = False

    def _fit(self, X, y, sample_weight, incremental: bool, **prepare_kwargs):
        """Shared body of fit (all epochs) and partial_fit (one epoch)."""
        first = not hasattr(self, "network_") if incremental else not (self.warm_start and hasattr(self, "network_"))
        if first or not incremental:
            self._validate_params()
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=self._y_numeric,
            dtype=[np.float64, np.float32],
            reset=first or not incremental,
        )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        targets = self._prepare_y(y, first=first, sample_weight=sample_weight, **prepare_kwargs)
        sample_weight = self._weighted(y, sample_weight)
        self._train(
            np.ascontiguousarray(X, dtype=np.dtype(self.dtype)),
            targets,
            sample_weight,
            1 if incremental else self.max_iter,
            incremental=incremental,
        )
        return self

    def _weighted(self, y, sample_weight):
        """The rows' weights for training (the classifier multiplies in its class weights)."""
        return sample_weight

    def _check_x(self, X, reset: bool):
        return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32], ensure_min_samples=1)

    def _member_logits(self, X) -> np.ndarray:
        """Every network's outputs before the output activation, in float64: (networks, rows, outputs)."""
        check_is_fitted(self, "networks_")
        x = np.ascontiguousarray(self._check_x(X, reset=False), dtype=np.float64)
        return np.stack([predictor.logits(x) for predictor in self._predictors])

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_optimizers", None)  # rebuilt on the next warm/partial fit
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags
