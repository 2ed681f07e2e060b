"""Requests derived from the model contract, shared by the in-process and the real-server tests:
the contract's examples, and for every feature the bad values its type must reject."""

import json
import math
from typing import Any

from iris_classifier.model import CONTRACT
from iris_classifier.settings import MAX_BATCH_SIZE
from iris_classifier.spec import Categorical, Integer, Numeric

EXAMPLES = [dict(example) for example in CONTRACT.examples]
VALID = EXAMPLES[0]


def body(payload: object) -> bytes:
    return json.dumps(payload).encode()


def with_value(name: str, value: Any) -> dict[str, Any]:
    return {**VALID, name: value}


def without(name: str) -> dict[str, Any]:
    return {key: value for key, value in VALID.items() if key != name}


def bad_values(feature: Numeric | Categorical) -> list[tuple[str, bytes]]:
    """(case, a /predict body whose value for the feature its type rejects)."""
    name = feature.name
    cases = []
    if not feature.nullable:
        cases += [("missing", body(without(name))), ("null", body(with_value(name, None)))]
    if isinstance(feature, Categorical):
        cases += [
            ("unknown value", body(with_value(name, "no-such-value"))),
            ("a number", body(with_value(name, 1))),
        ]
    else:
        overflow = body(with_value(name, "OVERFLOW")).replace(b'"OVERFLOW"', b"1e400")
        fraction = math.floor(feature.minimum) + 0.5
        if isinstance(feature, Integer) and fraction <= feature.maximum:
            cases.append(("a fraction", body(with_value(name, fraction))))
        cases += [
            ("below its minimum", body(with_value(name, feature.minimum - 1))),
            ("above its maximum", body(with_value(name, feature.maximum + 1))),
            ("a string", body(with_value(name, "text"))),
            ("a boolean", body(with_value(name, True))),
            ("NaN", body(with_value(name, math.nan))),
            ("infinity", body(with_value(name, math.inf))),
            ("overflow to infinity", overflow),
        ]
    return cases


def bad_requests() -> list[tuple[str, str, bytes, str | None]]:
    """(case, endpoint, raw request body, the field the error must name; None if no field)."""
    cases: list[tuple[str, str, bytes, str | None]] = [
        ("malformed JSON", "/predict", b'{"' + next(iter(VALID)).encode(), None),
        ("not a JSON object", "/predict", body([1.0, 2.0]), None),
        ("unknown field", "/predict", body({**VALID, "no_such_feature": 1.0}), "no_such_feature"),
        ("empty batch", "/predict_batch", body({"instances": []}), "instances"),
        (
            "oversized batch",
            "/predict_batch",
            body({"instances": [VALID] * (MAX_BATCH_SIZE + 1)}),
            "instances",
        ),
        ("batch of lists", "/predict_batch", body({"instances": [[1.0]]}), "instances"),
    ]
    for feature in CONTRACT.features:
        values = bad_values(feature)
        for case, payload in values:
            cases.append((f"{feature.name} {case}", "/predict", payload, feature.name))
        case, payload = values[0]  # never the overflow, which JSON cannot load
        batch = body({"instances": [VALID, json.loads(payload)]})
        cases.append(
            (f"{feature.name} {case} in a batch row", "/predict_batch", batch, feature.name)
        )
    return cases


BAD_REQUESTS = bad_requests()
