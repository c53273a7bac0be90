"""Training watched where practitioners already look: TensorBoard and MLflow, each a callback.

Both are optional extras (``pip install 'glassnet[tensorboard]'``, ``'glassnet[mlflow]'``), written
with the libraries made for the job (tensorboardX's SummaryWriter, MLflow's client); ``glassnet
train --tensorboard DIR`` and ``--mlflow [URI]`` wire them into a job (``glassnet.app.tracking``).
"""

from .mlflow import MLflowLogger
from .tensorboard import TensorBoard

__all__ = ["MLflowLogger", "TensorBoard"]
