"""The HTTP contract, in process: shapes, headers, every bad input as a 4xx, and metrics."""

import pytest

from .cases import BAD_REQUESTS, VALID_ROW, body

JSON = {"content-type": "application/json"}


def test_ready_after_start(client) -> None:
    assert client.get("/readyz").status_code == 200
    assert client.get("/livez").status_code == 200


def test_predict_returns_a_label_and_the_model_version(client, model_tag: str) -> None:
    response = client.post("/predict", json={"features": VALID_ROW})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"label", "probability", "model_version"}
    assert body["model_version"] == model_tag.split(":")[1]
    assert response.headers["x-model-version"] == body["model_version"]


def test_request_id_is_echoed(client) -> None:
    response = client.post(
        "/predict", json={"features": VALID_ROW}, headers={"x-request-id": "trace-42"}
    )
    assert response.headers["x-request-id"] == "trace-42"


def test_batch_keeps_order_and_length(client) -> None:
    rows = [VALID_ROW, [6.7, 3.0, 5.2, 2.3], VALID_ROW]
    response = client.post("/predict_batch", json={"instances": rows})
    assert response.status_code == 200
    labels = [p["label"] for p in response.json()]
    assert len(labels) == 3
    assert labels[0] == labels[2] != labels[1]


@pytest.mark.parametrize(
    ("case", "path", "payload", "field"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS]
)
def test_bad_input_is_a_4xx_naming_the_field(client, case, path, payload, field) -> None:
    response = client.post(path, content=payload, headers=JSON)
    assert 400 <= response.status_code < 500, response.text
    if field is not None:
        assert field in response.text


NOT_JSON = ["multipart/form-data", "application/x-www-form-urlencoded"]


@pytest.mark.parametrize("content_type", NOT_JSON)
def test_a_body_declared_as_not_json_is_a_415_naming_the_header(client, content_type) -> None:
    for path in ("/predict", "/predict_batch"):
        response = client.post(path, content=b"{}", headers={"content-type": content_type})
        assert response.status_code == 415, response.text
        assert response.json()["detail"][0]["loc"] == ["header", "content-type"]
        assert response.headers["x-request-id"]
    rejected = 'model_rejected_inputs_total{endpoint="/predict",reason="unsupported_media_type"}'
    assert rejected in client.get("/metrics").text


def test_json_with_a_charset_is_accepted(client) -> None:
    headers = {"content-type": "application/json; charset=utf-8"}
    response = client.post("/predict", content=body({"features": VALID_ROW}), headers=headers)
    assert response.status_code == 200, response.text


def test_metrics_show_predictions_and_rejections(client) -> None:
    client.post("/predict", json={"features": VALID_ROW})
    client.post("/predict", json={"features": []})
    metrics = client.get("/metrics").text
    assert "model_predictions_total{" in metrics
    assert 'model_rejected_inputs_total{endpoint="/predict",reason="too_short"}' in metrics
    assert 'model_input_feature_value_bucket{feature="' in metrics
    assert "model_ready 1.0" in metrics
