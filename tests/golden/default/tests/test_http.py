"""The HTTP contract, in process: shapes, headers, every bad input as a 4xx naming the field, and
metrics. Driven by the model contract: nothing here names a feature or a class."""

import math

import pytest

from iris_classifier import score, settings
from iris_classifier.model import CONTRACT
from iris_classifier.spec import Categorical, Classification

from .contract_cases import BAD_REQUESTS, EXAMPLES, VALID, body

JSON = {"content-type": "application/json"}


def assert_is_a_prediction(prediction: dict, version: str) -> None:
    """The response shape the task promises."""
    assert prediction["model_version"] == version
    if isinstance(CONTRACT.task, Classification):
        assert set(prediction) == {"label", "probability", "probabilities", "model_version"}
        assert prediction["label"] in CONTRACT.task.classes
        assert list(prediction["probabilities"]) == list(CONTRACT.task.classes)
        assert math.isclose(sum(prediction["probabilities"].values()), 1.0, abs_tol=1e-4)
        assert prediction["probability"] == max(prediction["probabilities"].values())
    else:
        assert set(prediction) == {"value", "model_version"}
        assert math.isfinite(prediction["value"])


def test_ready_after_start(client) -> None:
    assert client.get("/readyz").status_code == 200
    assert client.get("/livez").status_code == 200


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_every_example_predicts(client, model_tag: str, index: int) -> None:
    response = client.post("/predict", json=EXAMPLES[index])
    assert response.status_code == 200, response.text
    version = model_tag.split(":")[1]
    assert_is_a_prediction(response.json(), version)
    assert response.headers["x-model-version"] == version


def test_request_id_is_echoed(client) -> None:
    response = client.post("/predict", json=VALID, headers={"x-request-id": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"


def test_batch_answers_each_row_as_predict_does_in_order(client, model_tag: str) -> None:
    rows = [*EXAMPLES, *reversed(EXAMPLES)]
    response = client.post("/predict_batch", json={"instances": rows})
    assert response.status_code == 200, response.text
    batch = response.json()
    assert len(batch) == len(rows)
    for row, prediction in zip(rows, batch, strict=True):
        assert_is_a_prediction(prediction, model_tag.split(":")[1])
        single = client.post("/predict", json=row).json()
        for key, value in single.items():
            expected = pytest.approx(value, rel=1e-6) if isinstance(value, float | dict) else value
            assert prediction[key] == expected, key


def test_nullable_features_may_be_left_out(client) -> None:
    nullable = [feature.name for feature in CONTRACT.features if feature.nullable]
    row = {key: value for key, value in VALID.items() if key not in nullable}
    response = client.post("/predict", json=row)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("case", "path", "payload", "field"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS]
)
def test_bad_input_is_a_4xx_naming_the_field(client, case, path, payload, field) -> None:
    response = client.post(path, content=payload, headers=JSON)
    assert 400 <= response.status_code < 500, response.text
    if field is not None:
        assert field in response.text


@pytest.mark.parametrize("feature", CONTRACT.features, ids=lambda feature: feature.name)
def test_a_400_says_what_a_batch_reject_says_with_the_value_sent(client, feature) -> None:
    row = {**VALID, feature.name: "ZZ"}  # no number, and no categorical's value
    response = client.post("/predict", json=row)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    _, _, reasons = score.validate([row])
    assert error == reasons[0], (error, reasons)
    assert error.startswith(feature.name + ": ") and error.endswith("(got 'ZZ')"), error


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
    response = client.post("/predict", content=body(VALID), headers=headers)
    assert response.status_code == 200, response.text


def test_the_openapi_document_names_every_feature(client) -> None:
    document = client.get("/docs.json").json()
    request = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    text = str(request) + str(document.get("components", {}))
    for feature in CONTRACT.features:
        assert feature.name in text, feature.name


def test_metrics_show_predictions_inputs_and_rejections(client) -> None:
    client.post("/predict", json=VALID)
    client.post("/predict_batch", json={"instances": []})
    metrics = client.get("/metrics").text
    assert "model_predictions_total{" in metrics
    assert 'model_rejected_inputs_total{endpoint="/predict_batch",reason="too_short"}' in metrics
    for feature in CONTRACT.features:
        label = 'feature="' + feature.name + '"'
        if isinstance(feature, Categorical):
            assert "model_input_category_total{" + label in metrics
        else:
            assert "model_input_feature_quantile_bucket{" + label in metrics
    if not isinstance(CONTRACT.task, Classification):
        assert "model_prediction_value_bucket{" in metrics
    assert "model_ready 1.0" in metrics


def test_the_team_alert_thresholds_are_exported_for_the_rules(client) -> None:
    """config/alerts.toml's values (the team's), as the alert rules read them from /metrics."""
    metrics = client.get("/metrics").text
    thresholds = settings.alert_thresholds(settings.ALERTS_CONFIG)
    assert set(thresholds) == set(settings.DEFAULT_ALERT_THRESHOLDS)
    for alert, value in thresholds.items():
        assert 'model_alert_threshold{alert="' + alert + '"} ' + str(value) in metrics, alert


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("NoSuchAlert = 0.1", "no such alert"),
        ("InputRejectionRateHigh = 5", "must be from 0 to 1"),
        ("InputDriftDetected = 0", "must be above 0"),
        ('InputOutOfRangeOrNaN = "1%"', "must be a number"),
    ],
)
def test_a_bad_alert_threshold_is_refused_naming_it(tmp_path, line, says) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(f"[thresholds]\n{line}\n")
    with pytest.raises(SystemExit, match=says) as refused:
        settings.alert_thresholds(path)
    assert line.split(" = ")[0] in str(refused.value)
