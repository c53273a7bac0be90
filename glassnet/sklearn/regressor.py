"""DNNRegressor: single- and multi-output regression on standardized targets."""

from __future__ import annotations

import numpy as np
from sklearn.base import MultiOutputMixin, RegressorMixin

from .. import recipe
from .estimator_base import BaseDNN


class DNNRegressor(MultiOutputMixin, RegressorMixin, BaseDNN):
    """A deep feed-forward regressor (single or multi-output), scikit-learn style.

    Same parameters and defaults as :class:`DNNClassifier` (the prediction is the networks' mean),
    plus:

    Parameters
    ----------
    scale_target : bool, default=True
        Standardize the targets with their training mean and standard deviation (predictions are
        mapped back). This makes the learning rate independent of the targets' units; the loss
        curves are then in standardized units.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> import glassnet as gn
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = gn.DNNRegressor(hidden_layer_sizes=(32, 32), max_iter=30, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _validation_score_key = "val_r2"
    _y_numeric = True
    _parameter_constraints = {**BaseDNN._parameter_constraints, "scale_target": ["boolean"]}

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
        scale_target=True,
    ):
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            batch_norm=batch_norm,
            dropout=dropout,
            dtype=dtype,
            n_networks=n_networks,
        )
        self.scale_target = scale_target

    def _prepare_y(self, y, first: bool, sample_weight=None):
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1 if first else self._y_1d
        y2 = y.reshape(len(y), -1)
        if first:
            self.n_outputs_ = y2.shape[1]
            self._n_network_outputs, self._output_activation = y2.shape[1], "linear"
            if self.scale_target:
                # Weighted like the loss: a row of weight k moves the mean and spread as k copies would.
                weights = None if sample_weight is None or not np.sum(sample_weight) > 0 else sample_weight
                self._y_mean = np.average(y2, axis=0, weights=weights)
                std = np.sqrt(np.average((y2 - self._y_mean) ** 2, axis=0, weights=weights))
                self._y_scale = np.where(std > 0, std, 1.0)
            else:
                self._y_mean, self._y_scale = np.zeros(y2.shape[1]), np.ones(y2.shape[1])
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y2.shape[1]} outputs; the first fit had {self.n_outputs_}.")
        return ((y2 - self._y_mean) / self._y_scale).astype(np.dtype(self.dtype))

    def _task_name(self) -> str:
        return "regression"

    def _classes_for_file(self) -> None:
        return None

    def _fitted_for_file(self) -> dict:
        return {"y_1d": bool(self._y_1d), "n_outputs_": int(self.n_outputs_)}

    def _arrays_for_file(self) -> dict:
        return {
            "target_mean": np.asarray(self._y_mean, dtype=np.float64),
            "target_scale": np.asarray(self._y_scale, dtype=np.float64),
        }

    def _restore_fitted(self, fitted: dict, model) -> None:
        self._y_1d, self.n_outputs_ = bool(fitted["y_1d"]), int(fitted["n_outputs_"])
        self._y_mean = np.asarray(model.preprocessing_arrays["target_mean"], dtype=np.float64)
        self._y_scale = np.asarray(model.preprocessing_arrays["target_scale"], dtype=np.float64)
        self._n_network_outputs, self._output_activation = self.n_outputs_, "linear"
        if (
            self._y_mean.shape != (self.n_outputs_,)
            or self._y_scale.shape != (self.n_outputs_,)
            or model.network.output_dim != self.n_outputs_
        ):
            raise ValueError("the target scaling does not match the network's outputs")

    def _output_affine(self):
        return self._y_scale, self._y_mean

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` (n_samples, n_features) and targets ``y`` (n_samples,) or (n_samples, n_outputs)."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predicted targets, (n_samples,) or (n_samples, n_outputs)."""
        outputs = self._member_logits(X).mean(axis=0) * self._y_scale + self._y_mean
        return outputs.ravel() if self._y_1d else outputs
