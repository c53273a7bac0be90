"""The estimators' files: glassnet's safe model file (save/load) and the ONNX export."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .params import json_param


class ModelFiles:
    """``save``, ``load`` and ``export_onnx`` for a fitted DNNClassifier or DNNRegressor.

    The estimator provides ``networks_``, its parameters, and the hooks below that differ between
    the classifier and the regressor (classes, the target scaling).
    """

    def save(self, path, *, overwrite: bool = True):
        """Write the fitted estimator to a glassnet model file (safetensors + JSON; loading runs no code).

        The file holds the network, the estimator's parameters, its classes or target scaling and
        its training curves; :meth:`load` gives back an estimator that predicts identically.

        Parameters
        ----------
        path : str or Path
            Conventionally ``*.glassnet``.
        overwrite : bool, default=True
            When False, an existing file is never replaced.

        Returns
        -------
        Path
        """
        from ..io.modelfile import save_model

        check_is_fitted(self, "networks_")
        params = {key: json_param(key, value) for key, value in self.get_params(deep=False).items()}
        fitted = {
            "n_features_in_": int(self.n_features_in_),
            "n_iter_": int(self.n_iter_),
            "t_": int(self.t_),
            "loss_curve_": [float(v) for v in self.loss_curve_],
            "validation_loss_curve_": [float(v) for v in self.validation_loss_curve_],
            "validation_scores_": [float(v) for v in self.validation_scores_],
            "random_seed": int(self._random_seed),
        }
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(name) for name in self.feature_names_in_]
        fitted.update(self._fitted_for_file())
        arrays = self._arrays_for_file()
        return save_model(
            self._model(),
            path,
            task=self._task_name(),
            classes=self._classes_for_file(),
            preprocessing=None,
            preprocessing_arrays=arrays,
            history=self.history_,
            metadata={"estimator": {"class": type(self).__name__, "params": params, "fitted": fitted}},
            overwrite=overwrite,
        )

    @classmethod
    def load(cls, path):
        """Read an estimator written by :meth:`save`; raises ModelFileError for any other file."""
        from ..io.modelfile import ModelFileError, load_model
        from ..training.history import History

        model = load_model(path)
        spec = (model.metadata or {}).get("estimator")
        if not isinstance(spec, dict) or spec.get("class") != cls.__name__:
            found = spec.get("class") if isinstance(spec, dict) else "no estimator"
            raise ModelFileError(
                f"{path} holds {found!r}, not a saved {cls.__name__}; use {found}.load or glassnet.load_model."
            )
        try:
            params = dict(spec["params"])
            params.setdefault("n_networks", len(model.members))  # files written before the ensembles
            if isinstance(params.get("hidden_layer_sizes"), list):
                params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
            estimator = cls(**params)
            estimator._validate_params()
            fitted = spec["fitted"]
            if len(model.members) != estimator.n_networks:
                raise ValueError(f"n_networks={estimator.n_networks} but the file holds {len(model.members)}")
            estimator.networks_, estimator.network_ = list(model.members), model.network
            estimator._predictors = [network.astype(np.float64) for network in model.members]
            estimator.n_features_in_ = int(fitted["n_features_in_"])
            if "feature_names_in_" in fitted:
                estimator.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
            estimator.n_iter_, estimator.t_ = int(fitted["n_iter_"]), int(fitted["t_"])
            estimator.loss_curve_ = list(fitted["loss_curve_"])
            estimator.validation_loss_curve_ = list(fitted["validation_loss_curve_"])
            estimator.validation_scores_ = list(fitted["validation_scores_"])
            estimator.best_loss_ = float(min(estimator.loss_curve_)) if estimator.loss_curve_ else float("nan")
            if estimator.validation_loss_curve_:
                estimator.best_validation_loss_ = float(min(estimator.validation_loss_curve_))
            estimator._random_seed = int(fitted["random_seed"])
            estimator.history_ = History.from_dict(model.history) if model.history else History()
            estimator.histories_ = [estimator.history_]  # the file keeps the first network's run
            estimator._restore_fitted(fitted, model)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(
                f"{path}: the saved {cls.__name__} is incomplete or invalid: {type(exc).__name__}: {exc}"
            ) from None
        if estimator.network_.input_dim != estimator.n_features_in_:
            raise ModelFileError(
                f"{path}: the network takes {estimator.network_.input_dim} features but the "
                f"estimator was fitted on {estimator.n_features_in_}."
            )
        return estimator

    def export_onnx(self, path, *, fold_batch_norm: bool = True, opset: int = 17):
        """Write an ONNX graph computing :meth:`predict_proba` (classifier) or :meth:`predict` (regressor).

        The graph takes float32 rows of ``n_features_in_`` features; the regressor's graph maps the
        outputs back to the targets' units (its target scaling is part of the graph).

        Returns
        -------
        Path
        """
        from ..io.onnx_export import export_onnx

        check_is_fitted(self, "networks_")
        scale, shift = self._output_affine()
        return export_onnx(
            self._model(), path, fold_batch_norm=fold_batch_norm, opset=opset, output_scale=scale, output_shift=shift
        )

    def _model(self):
        """What predicts: the one network, or the Ensemble of them (their mean output)."""
        from ..ensemble import Ensemble

        return self.networks_[0] if len(self.networks_) == 1 else Ensemble(self.networks_)

    def _output_affine(self):
        return None, None

    def _restore_fitted(self, fitted: dict, model) -> None:
        """Set the subclass's own fitted attributes from a model file (see :meth:`load`)."""
        raise NotImplementedError

    def _arrays_for_file(self) -> dict:
        return {}
