"""Serving defaults that decide the speed of the service, in process: the prediction routes are left
out of tracing, and the garbage collector's thresholds and second freeze (service.py and
settings.py give the reasons beside them). How fast the service is gets measured by the template's
benchmark, not here.
"""

import gc

from iris_classifier.service import (
    GC_THRESHOLDS,
    HEAP,
    WARM_CALLS,
    HeapSettler,
)

from .contract_cases import VALID


def test_predictions_are_left_out_of_tracing(client) -> None:
    # BentoML returns the id of the request's trace span in this header: no span, no header.
    # TRACING=true traces them again (the template's tests start a server with it).
    response = client.post("/predict", json=VALID)
    assert response.status_code == 200, response.text
    assert "x-bentoml-request-id" not in response.headers


def test_the_collector_runs_with_the_service_thresholds(client) -> None:
    assert gc.get_threshold() == GC_THRESHOLDS


def test_warm_traffic_freezes_the_heap_a_second_time(client) -> None:
    for _ in range(max(0, WARM_CALLS - HEAP.calls)):
        client.post("/predict", json=VALID)
    assert HEAP.calls >= WARM_CALLS
    assert HEAP.frozen_objects > 0


def test_the_second_freeze_comes_once_after_the_set_number_of_calls() -> None:
    settler = HeapSettler(after=3)
    settler.count()
    settler.count()
    assert settler.frozen_objects == 0
    kept = [[n] for n in range(1000)]  # long-lived objects made after the first freeze
    settler.count()
    assert settler.frozen_objects >= len(kept)
    first = settler.frozen_objects
    more = [[n] for n in range(1000)]
    settler.count()
    assert (settler.frozen_objects, len(more)) == (first, 1000)
