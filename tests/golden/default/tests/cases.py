"""Requests the service must answer, shared by the in-process and the real-server tests."""

import json

from iris_classifier.schema import EXAMPLE_ROW, MAX_BATCH_SIZE, N_FEATURES

VALID_ROW = list(EXAMPLE_ROW)


def body(payload: object) -> bytes:
    return json.dumps(payload).encode()


# (case, endpoint, raw request body, the field the error must name; None where there is no field)
BAD_REQUESTS = [
    ("malformed JSON", "/predict", b'{"features": [5.1, 3.5', None),
    ("not a JSON object", "/predict", body([5.1, 3.5, 1.4, 0.2]), None),
    ("missing field", "/predict", body({}), "features"),
    ("wrong type", "/predict", body({"features": ["a", 3.5, 1.4, 0.2]}), "features"),
    ("too few features", "/predict", body({"features": VALID_ROW[:-1]}), "features"),
    ("too many features", "/predict", body({"features": [*VALID_ROW, 1.0]}), "features"),
    ("NaN", "/predict", b'{"features": [NaN, 3.5, 1.4, 0.2]}', "features"),
    ("infinity", "/predict", b'{"features": [Infinity, 3.5, 1.4, 0.2]}', "features"),
    ("overflow to infinity", "/predict", b'{"features": [1e400, 3.5, 1.4, 0.2]}', "features"),
    ("below range", "/predict", body({"features": [-1.0, 3.5, 1.4, 0.2]}), "features"),
    ("empty batch", "/predict_batch", body({"instances": []}), "instances"),
    (
        "oversized batch",
        "/predict_batch",
        body({"instances": [VALID_ROW] * (MAX_BATCH_SIZE + 1)}),
        "instances",
    ),
    (
        "batch row with the wrong feature count",
        "/predict_batch",
        body({"instances": [VALID_ROW, [1.0] * (N_FEATURES + 1)]}),
        "instances",
    ),
    ("batch row with NaN", "/predict_batch", b'{"instances": [[NaN, 1, 1, 1]]}', "instances"),
]
