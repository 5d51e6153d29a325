"""The code that MLflow runs to serve a logged fieldlab forecaster ("models from code").

A model logged as a Python object is pickled with CloudPickle, which ties it to the exact
classes and versions that pickled it (MLflow warns about this on every log). fieldlab logs its
models from this file instead: MLflow copies it into the model directory and runs it on
``mlflow.pyfunc.load_model``, and it registers a :class:`ServedForecaster`, which reads the
model's config ``kind`` (``"particles"`` or ``"grid"``) and serves the artifact
``forecaster.pt`` through the matching wrapper: :class:`~fieldlab.training.pyfunc.ForecasterModel`
or :class:`~fieldlab.training.grid_pyfunc.GridForecasterModel` (their docstrings give the
inputs and outputs).
"""

from __future__ import annotations

from typing import Any

from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

KINDS = ("particles", "grid")


class ServedForecaster(PythonModel):
    """Serves a particle or grid forecaster, as the logged model's config says."""

    _skip_type_hint_validation = True  # inputs are checked against the logged signature
    impl: PythonModel

    def load_context(self, context: Any) -> None:
        kind = (context.model_config or {}).get("kind", "particles")
        if kind == "grid":
            from fieldlab.training.grid_pyfunc import GridForecasterModel

            self.impl = GridForecasterModel()
        elif kind == "particles":
            from fieldlab.training.pyfunc import ForecasterModel

            self.impl = ForecasterModel()
        else:
            raise ValueError(f"unknown fieldlab model kind {kind!r}; expected one of {KINDS}")
        self.impl.load_context(context)

    @property
    def forecaster(self) -> Any:
        """The torch forecaster being served (``Forecaster`` or ``GridForecaster``)."""
        return self.impl.forecaster

    def predict(self, context, model_input, params=None):
        """The wrapped forecaster's prediction (untyped: the logged signature is checked)."""
        return self.impl.predict(context, model_input, params)


set_model(ServedForecaster())
