"""DNNClassifier: binary, multiclass and multilabel classification."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import type_of_target, unique_labels

from .. import recipe
from .estimator_base import BaseDNN


class DNNClassifier(ClassifierMixin, BaseDNN):
    """A deep feed-forward classifier (binary, multiclass or multilabel), scikit-learn style.

    The defaults are the recipe of ``glassnet train`` (``glassnet/recipe.py``): five networks of 256
    and 128 units with dropout 0.1, cross-fitted (network k trains on four fifths of the rows and
    stops early on the fifth it did not see), trained by Adam at 3e-3 on batches of 64 with an L2
    prior on the weights; the prediction is their mean probability. ``docs/estimators.md`` compares
    them with scikit-learn's MLP.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 128)
        Units of each hidden layer.
    activation : {"relu", "leaky_relu", "tanh", "logistic", "identity"}, default="relu"
    solver : {"adam", "sgd", "adamw"}, default="adam"
    alpha : float, default=2.0
        L2 penalty: each network's objective is its mean loss plus 0.5·alpha·‖W‖² / n over its n
        training rows (``MLPClassifier``'s objective as documented; its default is 1e-4). The
        recipe's prior (``glassnet.recipe.L2_PRIOR``): it keeps a network on a few hundred rows near
        small weights and fades as rows grow.
    batch_size : int or "auto", default="auto"
        ``min(64, n_samples)`` when "auto".
    learning_rate_init : float or None, default=None
        None: the recipe's rate for the solver (Adam and AdamW 3e-3, SGD 0.01).
    max_iter : int, default=200
        Maximum epochs.
    shuffle : bool, default=True
        Reshuffle the training set every epoch.
    random_state : int, RandomState or None
    tol : float, default=1e-4
        Minimum improvement of the monitored loss.
    early_stopping : bool, default=True
        Stop when the validation *loss* has not improved by ``tol`` for ``n_iter_no_change`` epochs
        (more on few rows: at least 100 optimizer steps), and restore the best weights. With several
        networks the validation rows are each network's own fold; with one, ``validation_fraction``
        of the rows (stratified). Otherwise training stops when the training loss stops improving.
    validation_fraction : float, default=0.1
        The held-out share when ``n_networks=1`` and ``early_stopping``.
    n_iter_no_change : int, default=10
    batch_norm : bool, default=False
        Batch normalization before each hidden activation.
    dropout : float, default=0.1
        Dropout rate after each hidden activation.
    dtype : "float32" or "float64", default="float32"
    class_weight : "balanced", dict or None, default=None
        Weights of the classes in the loss, scikit-learn's semantics: "balanced" weighs class c by
        ``n_samples / (n_classes · n_c)``, a dict maps labels to weights (others 1); multiplied into
        ``sample_weight``. Single-label targets only.
    n_networks : int, default=5
        Networks averaged. With ``early_stopping`` the rows are dealt into this many folds (stratified
        by class) and each network stops on its own fold (cross-fitting), so every row trains all but
        one of them; without it they differ by seed only. 1: one network, as in ``MLPClassifier``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_, feature_names_in_
    networks_ : list of glassnet.Sequential
        The trained networks (inspect their layers and parameters).
    network_ : glassnet.Sequential
        The first of ``networks_``; the curves below are its run.
    loss_curve_ : list of float
        Training loss per epoch.
    validation_loss_curve_, validation_scores_ : list of float
        Validation loss and accuracy per epoch (with ``early_stopping``).
    best_loss_ : float
    n_iter_ : int
    history_ : glassnet.History
        The first network's last training run: curves, gradient norms, overfitting onset.
    histories_ : list of glassnet.History
        Every network's last run.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import glassnet as gn
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = gn.DNNClassifier(hidden_layer_sizes=(16, 16), max_iter=50, random_state=0).fit(X, y)
    >>> clf.predict(X[:2]).shape
    (2,)
    """

    _validation_score_key = "val_accuracy"
    _parameter_constraints: dict = {
        **BaseDNN._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

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
        class_weight=None,
    ):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate_init=learning_rate_init, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change, batch_norm=batch_norm,
            dropout=dropout, dtype=dtype, n_networks=n_networks,
        )  # fmt: skip
        self.class_weight = class_weight

    def _weighted(self, y, sample_weight):
        """``sample_weight`` times each row's class weight (scikit-learn's compute_sample_weight)."""
        if self.class_weight is None:
            return sample_weight
        if self._multilabel:
            raise ValueError("class_weight applies to single-label targets; y is a multilabel indicator matrix.")
        from sklearn.utils.class_weight import compute_sample_weight

        weights = compute_sample_weight(self.class_weight, np.asarray(y).ravel())
        return weights if sample_weight is None else weights * sample_weight

    def _prepare_y(self, y, first: bool, sample_weight=None, classes=None):
        target_type = type_of_target(y, input_name="y")
        if target_type not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(
                f"Unknown label type: {target_type!r}. DNNClassifier needs class labels "
                "(binary, multiclass or a multilabel indicator matrix); use DNNRegressor "
                "for continuous targets."
            )
        if target_type == "multilabel-indicator":
            y = np.asarray(y)
            if first:
                self._multilabel = True
                self.classes_ = np.arange(y.shape[1])
                self._n_network_outputs, self._output_activation = y.shape[1], "sigmoid"
            elif not getattr(self, "_multilabel", False) or y.shape[1] != len(self.classes_):
                raise ValueError("y does not match the multilabel outputs of the first fit.")
            return y.astype(np.dtype(self.dtype))
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            from sklearn.exceptions import DataConversionWarning

            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change "
                "the shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning,
                stacklevel=3,
            )
            y = y.ravel()
        if first:
            self._multilabel = False
            labels = unique_labels(y) if classes is None else np.asarray(classes)
            if len(labels) < 2:
                raise ValueError(f"DNNClassifier needs at least 2 classes; got 1 class ({labels[0]!r}).")
            self._encoder = LabelEncoder().fit(labels)
            self.classes_ = self._encoder.classes_
            self._n_network_outputs, self._output_activation = len(self.classes_), "softmax"
        unseen = np.setdiff1d(unique_labels(y), self.classes_)
        if len(unseen):
            raise ValueError(f"y contains labels not seen in the first fit/classes: {unseen[:5]}.")
        return self._encoder.transform(y)

    def _task_name(self) -> str:
        return "multilabel" if self._multilabel else ("binary" if len(self.classes_) == 2 else "multiclass")

    def _classes_for_file(self) -> list:
        return [label.item() if isinstance(label, np.generic) else label for label in self.classes_.tolist()]

    def _fitted_for_file(self) -> dict:
        return {"multilabel": bool(self._multilabel), "classes_dtype": self.classes_.dtype.str}

    def _restore_fitted(self, fitted: dict, model) -> None:
        self._multilabel = bool(fitted["multilabel"])
        dtype = np.dtype(fitted["classes_dtype"])
        if dtype.kind not in "biufUSO":
            raise ValueError(f"unsupported class label dtype {dtype}")
        self.classes_ = np.asarray(model.classes, dtype=dtype)
        self._n_network_outputs = model.network.output_dim
        self._output_activation = "sigmoid" if self._multilabel else "softmax"
        if not self._multilabel:
            self._encoder = LabelEncoder().fit(self.classes_)
        if len(self.classes_) != self._n_network_outputs:
            raise ValueError(f"{len(self.classes_)} classes for {self._n_network_outputs} network outputs")

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` (n_samples, n_features) and labels ``y``; returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``(X, y)``; ``classes`` is required on the first call."""
        if not hasattr(self, "network_") and classes is None and type_of_target(y) != "multilabel-indicator":
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _log_probabilities(self, X) -> tuple[np.ndarray, np.ndarray | None]:
        """The log of the networks' mean probability, and for multilabel also of its complement.

        Averaged in the log domain (log-mean-exp), so rows the networks are sure of keep their
        precision; with one network this is its log-softmax (or log-sigmoid).
        """
        logits = self._member_logits(X)
        count = np.log(len(logits))
        if self._multilabel:
            present, absent = -np.logaddexp(0.0, -logits), -np.logaddexp(0.0, logits)
            return np.logaddexp.reduce(present, axis=0) - count, np.logaddexp.reduce(absent, axis=0) - count
        log_p = logits - np.logaddexp.reduce(logits, axis=2, keepdims=True)
        return np.logaddexp.reduce(log_p, axis=0) - count, None

    def decision_function(self, X):
        """Log-odds of the mean probability: (n_samples,) for binary (class 1 against class 0); for
        multiclass the log mean probability of each class; for multilabel each label's log-odds."""
        log_p, log_q = self._log_probabilities(X)
        if self._multilabel:
            return log_p - log_q
        return log_p[:, 1] - log_p[:, 0] if log_p.shape[1] == 2 else log_p

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes): the networks' mean, computed in float64."""
        return np.exp(self._log_probabilities(X)[0])

    def predict_log_proba(self, X):
        return self._log_probabilities(X)[0]

    def predict(self, X):
        """Predicted labels (or a multilabel indicator matrix)."""
        log_p, log_q = self._log_probabilities(X)
        if self._multilabel:
            return (log_p > log_q).astype(int)
        return self.classes_[np.argmax(log_p, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
