"""The model registry: versions beyond this repository, promotion by alias, deployment records.

    python -m <package>.registry publish --tag NAME:VERSION        (`make train` calls it)
    python -m <package>.registry register --artifact DIR | --tag NAME:VERSION [--force]
    python -m <package>.registry promote --version N --alias ALIAS
    python -m <package>.registry pull --alias ALIAS | --version N
    python -m <package>.registry record --environment ENV --digest sha256:... [--kind deploy]
    python -m <package>.registry rollback-plan
    python -m <package>.registry deployments

The registry is MLflow's, at MLFLOW_TRACKING_URI; with none set, a SQLite registry and an
artifact folder inside the repository (model_registry/, git-ignored), so everything works
offline. Credentials come only from the environment (MLFLOW_TRACKING_USERNAME and
MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN). A version holds the BentoML model exported to
one file (its artifact, metadata, lineage and drift reference) and its lineage as version tags;
a version is created only after its artifact is stored, and only for a model that passed the
quality gate. MLflow is imported only here, and only when a command needs it: the service and its
image never import it.
"""

from .connection import RegistryError
from .versions import publish_trained

__all__ = ["RegistryError", "publish_trained"]
