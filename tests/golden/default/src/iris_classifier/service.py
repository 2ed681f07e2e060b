"""The BentoML service: a typed contract, a single and a batched prediction endpoint, readiness
that waits for a warm-up prediction, and model metrics.

Serve it with `make serve`. Everything model-specific comes from the team's contract.py: the
request fields (payloads.py), the model loading (model.py) and the predictions.
"""

from __future__ import annotations

import gc
import logging
import random
from typing import Any

import bentoml
from bentoml.exceptions import ServiceUnavailable

from . import credentials
from . import model as model_store
from .drift import DriftMonitor
from .metrics import (
    ALERT_THRESHOLD,
    MODEL_INFO,
    MODEL_READY,
    InputObserver,
    PredictionRecorder,
)
from .model import CONTRACT
from .observability import STATE, RequestContextMiddleware, configure_logging, logger
from .payloads import Batch, Features, Prediction, rows_of
from .settings import (
    ACCESS_LOG,
    ALERTS_CONFIG,
    BATCH_MAX_LATENCY_MS,
    FAULT_ERROR_RATE,
    MAX_BATCH_SIZE,
    MAX_CONCURRENCY,
    MODEL_NAME,
    MODEL_REGISTRY_VERSION,
    MODEL_TAG,
    REGISTERED_MODEL_NAME,
    SERVICE_NAME,
    SLO_LATENCY_SECONDS,
    TRACING,
    WORKERS,
    alert_thresholds,
)
from .spec import encode

TASK = CONTRACT.task
PREDICTION_PATHS = ("/predict", "/predict_batch")

# Routes BentoML's OpenTelemetry middleware skips unless TRACING is on (settings.py). The patterns
# are regular expressions searched in the request URL.
UNTRACED_URLS = [*PREDICTION_PATHS, "/livez", "/readyz", "/metrics"]

# The garbage collector. Its thresholds: a young collection every 10,000 net allocations instead
# of 700, and a full one a hundred middle ones later instead of ten (CPython's defaults). And a
# second freeze after the first WARM_CALLS prediction calls: BentoML, OpenTelemetry and the model
# library build tens of thousands of long-lived objects lazily on the first requests, and full
# collections walking them every few seconds were the p99 at low concurrency.
GC_THRESHOLDS = (10_000, 20, 100)
WARM_CALLS = 500

# BentoML's default request duration buckets, plus the latency SLO as a boundary of its own.
DURATION_BUCKETS = sorted(
    {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, SLO_LATENCY_SECONDS}
)


class InjectedFault(RuntimeError):
    """A failure injected on purpose through FAULT_ERROR_RATE."""


class HeapSettler:
    """Freezes the heap out of the garbage collector once more, after `after` prediction calls."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.calls = 0
        self.frozen_objects = 0  # objects the second freeze moved out of the collector's reach

    def count(self) -> None:
        self.calls += 1
        if self.calls == self.after:
            gc.collect()
            before = gc.get_freeze_count()
            gc.freeze()
            self.frozen_objects = gc.get_freeze_count() - before


HEAP = HeapSettler(after=WARM_CALLS)


@bentoml.service(
    name=SERVICE_NAME,
    workers=WORKERS,
    traffic={"timeout": 10, "max_concurrency": MAX_CONCURRENCY},
    metrics={"enabled": True, "duration": {"buckets": DURATION_BUCKETS}},
    logging={"access": {"enabled": ACCESS_LOG}},
    tracing={} if TRACING else {"excluded_urls": UNTRACED_URLS},
)
class ModelService:
    """Serves the model registered under MODEL_TAG (default: the newest version)."""

    def __init__(self) -> None:
        configure_logging()
        MODEL_READY.set(0)
        # The team's alert thresholds (config/alerts.toml), whatever becomes of the model.
        for alert, threshold in alert_thresholds(ALERTS_CONFIG).items():
            ALERT_THRESHOLD.labels(alert=alert).set(threshold)
        self.model: model_store.LoadedModel | None = None
        # The contract's code may need its credentials to load or predict: the model is loaded
        # and warmed up once they are all present (now, or at a later readiness probe).
        self.missing_credentials: list[str] = []
        self._check_credentials()
        if not self.missing_credentials:
            self._load()

    def _load(self) -> None:
        try:
            loaded = model_store.load(MODEL_TAG)
            # Warm-up: ready only once the contract's examples predict with the right shape.
            loaded.predict(encode(CONTRACT.features, CONTRACT.examples))
        except Exception as error:
            STATE.unavailable = (
                f"model {MODEL_TAG} is not loaded: train and register it with `make train`"
                " (or set MODEL_TAG to a version `bentoml models list` shows)"
            )
            logger.error(
                "%s; not ready (%s: %s)",
                STATE.unavailable,
                type(error).__name__,
                error,
                exc_info=logger.isEnabledFor(logging.DEBUG),
                extra={"fields": {"model_tag": MODEL_TAG, "event": "model_load_failed"}},
            )
            return
        self.inputs = InputObserver(loaded.reference)
        self.drift = DriftMonitor(loaded.reference, CONTRACT.feature_names)
        self.predictions = PredictionRecorder(loaded.version, loaded.reference)
        self.model = loaded
        # The registry version (MODEL_REGISTRY_VERSION, from the image or `make serve`) beside the
        # BentoML version, on every response's X-Model-Version and in model_info.
        STATE.model_version = (
            loaded.version
            if MODEL_REGISTRY_VERSION == "none"
            else f"{loaded.version}; registry={REGISTERED_MODEL_NAME}/{MODEL_REGISTRY_VERSION}"
        )
        STATE.unavailable = ""
        MODEL_INFO.labels(
            model_name=MODEL_NAME,
            model_version=loaded.version,
            registered_model=REGISTERED_MODEL_NAME,
            registry_version=MODEL_REGISTRY_VERSION,
        ).set(1)
        MODEL_READY.set(1)
        logger.info("model %s loaded and warmed up", loaded.tag)
        # Everything loaded so far (BentoML, the model) lives as long as the process. Freezing it
        # keeps the garbage collector from walking it again: a full collection over it took 100 to
        # 200 ms and was the p99 of the service. HEAP freezes what the first requests
        # add.
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)

    def __is_ready__(self) -> bool:
        if self.missing_credentials:
            self._check_credentials()
            if self.missing_credentials:
                return False
            self._load()
        return self.model is not None

    def _check_credentials(self) -> None:
        """Not ready while a credential the contract declares is missing (a mounted Secret may
        arrive after the pod starts); the log and the 503 name it, never its value."""
        missing = credentials.missing(CONTRACT.credentials)
        if missing == self.missing_credentials:
            return
        self.missing_credentials = missing
        if missing:
            STATE.unavailable = credentials.describe_missing(missing)
            logger.error(
                "%s; not ready",
                STATE.unavailable,
                extra={"fields": {"event": "credentials_missing", "missing": missing}},
            )
        else:
            STATE.unavailable = ""
            logger.info("the declared credentials are present; loading the model")

    def _ready_model(self) -> model_store.LoadedModel:
        if self.model is None:
            raise ServiceUnavailable(f"model {MODEL_TAG} is not loaded; see the service logs")
        return self.model

    def _predict(self, rows: list[dict[str, Any]]) -> list[Any]:
        loaded = self._ready_model()
        HEAP.count()
        if FAULT_ERROR_RATE and random.random() < FAULT_ERROR_RATE:  # noqa: S311 (not crypto)
            raise InjectedFault("fault injected by FAULT_ERROR_RATE")
        matrix = encode(CONTRACT.features, rows)
        self.inputs.observe(matrix)
        output = loaded.predict(matrix)
        observed = TASK.observed(output)
        self.predictions.observe(observed)
        self.drift.observe(matrix, observed)
        version = loaded.version
        return [Prediction(**fields, model_version=version) for fields in TASK.responses(output)]

    # `async def`: the call runs on the event loop, no thread hand-off. For a model that answers in
    # well under a millisecond that is +60% throughput per worker, and under overload the worker
    # keeps answering at capacity: as a `def` in BentoML's thread, the model waited for the GIL
    # behind a loop busy refusing requests, and answered 5 requests/s. A model that takes more than
    # a few milliseconds per call must be a plain `def` (BentoML then runs it in a thread), or the
    # probes wait behind it.
    @bentoml.api(route="/predict", input_spec=Features, output_spec=Prediction)
    async def predict(self, **features: Any) -> Any:
        """Predict one row: the request body is an object of named features."""
        prediction = self._predict([features])[0]
        # Per-request lines are DEBUG: at INFO they cost a third of the throughput. Warnings and
        # errors always carry the request id and model version.
        logger.debug("predicted", extra={"fields": {"rows": 1}})
        return prediction

    @bentoml.api(
        route="/predict_batch",
        batchable=True,
        max_batch_size=MAX_BATCH_SIZE,
        max_latency_ms=BATCH_MAX_LATENCY_MS,
    )
    def predict_batch(self, instances: Batch) -> list[Prediction]:
        """Predict a batch of rows, in order; concurrent requests are batched together."""
        predictions = self._predict(rows_of(instances))
        logger.debug("predicted a batch", extra={"fields": {"rows": len(instances)}})
        return predictions


ModelService.add_asgi_middleware(RequestContextMiddleware, prediction_paths=PREDICTION_PATHS)
