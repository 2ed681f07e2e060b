"""Model metrics exported on /metrics next to BentoML's own request metrics.

BentoML runs each worker as its own process and points prometheus_client at a shared multiprocess
directory, so these counters and histograms add up across workers on one scrape.
"""

from prometheus_client import Counter, Gauge, Histogram

from .schema import FEATURE_NAMES

PREDICTIONS = Counter(
    "model_predictions_total",
    "Predictions served, by predicted class and model version.",
    ["label", "model_version"],
)

REJECTED_INPUTS = Counter(
    "model_rejected_inputs_total",
    "Requests rejected before reaching the model, by endpoint and validation reason.",
    ["endpoint", "reason"],
)

# Input feature distributions, the raw material for drift dashboards and alerts. Buckets cover the
# feature range of the example model; set them from your own features' training quantiles.
FEATURE_BUCKETS = (0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 8.0)
INPUT_FEATURES = Histogram(
    "model_input_feature_value",
    "Distribution of each input feature as received.",
    ["feature"],
    buckets=FEATURE_BUCKETS,
)

MODEL_INFO = Gauge(
    "model_info",
    "1 for the model version each live worker serves.",
    ["model_name", "model_version"],
    multiprocess_mode="livemax",
)

INPUT_DRIFT = Gauge(
    "model_input_drift_psi",
    "Population stability index of each input feature over the recent window against training.",
    ["feature"],
    multiprocess_mode="livemax",
)

PREDICTION_DRIFT = Gauge(
    "model_prediction_drift_psi",
    "Population stability index of the predicted classes over the recent window against training.",
    multiprocess_mode="livemax",
)

MODEL_READY = Gauge(
    "model_ready",
    "1 when every live worker has loaded its model and passed the warm-up prediction.",
    multiprocess_mode="livemin",
)


# One histogram child per feature, looked up once instead of on every request.
_FEATURE_CHILDREN = tuple(INPUT_FEATURES.labels(feature=name) for name in FEATURE_NAMES)


def observe_features(rows: list[list[float]]) -> None:
    """Record each feature of each row in its histogram."""
    for row in rows:
        for child, value in zip(_FEATURE_CHILDREN, row, strict=True):
            child.observe(value)
