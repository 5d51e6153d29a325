"""The code MLflow runs to serve a logged fieldlab forecaster ("models from code").

A model logged as a Python object is pickled with CloudPickle, which ties it to the exact classes
and versions that pickled it. fieldlab logs its models from this file instead: MLflow copies it
into the model directory and runs it on ``mlflow.pyfunc.load_model``; it registers a
:class:`~fieldlab.training.serving.ServedForecaster`.
"""

from mlflow.models import set_model

from fieldlab.training.serving import ServedForecaster

set_model(ServedForecaster())
