"""Training: held-out quality, the quality gate, and the lineage a registered model carries."""

import bentoml
import numpy as np

from iris_classifier import model, train
from iris_classifier.schema import EXAMPLE_ROW, FEATURE_NAMES


def test_model_meets_its_quality_gate(training_result: train.TrainingResult, config: dict) -> None:
    assert train.quality_gate_failures(training_result.metrics, config["quality_gate"]) == []


def test_quality_gate_names_each_failed_metric() -> None:
    failures = train.quality_gate_failures(
        {"accuracy": 0.5, "f1_macro": 0.95}, {"min_accuracy": 0.9, "min_f1_macro": 0.9}
    )
    assert failures == ["accuracy 0.5000 is below the threshold 0.9"]


def test_quality_gate_rejects_an_unknown_metric() -> None:
    assert train.quality_gate_failures({"accuracy": 1.0}, {"min_auc": 0.5}) == [
        "auc: no such metric (the gate names min_auc)"
    ]


def test_failed_gate_registers_nothing(tmp_path, config: dict, bentoml_home) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text(
        "[data]\ntest_size = 0.25\nrandom_state = 42\n"
        "[model]\nC = 1.0\nmax_iter = 500\n"
        "[quality_gate]\nmin_accuracy = 1.01\n"
    )
    before = {str(m.tag) for m in bentoml.models.list()}
    assert train.main(["--config", str(strict)]) == 1
    assert {str(m.tag) for m in bentoml.models.list()} == before


def test_data_hash_is_stable_and_sensitive() -> None:
    features = np.arange(12, dtype=float).reshape(3, 4)
    target = np.array([0, 1, 2])
    assert train.dataset_sha256(features, target) == train.dataset_sha256(features.copy(), target)
    changed = features.copy()
    changed[0, 0] = 0.5
    assert train.dataset_sha256(changed, target) != train.dataset_sha256(features, target)


def test_registered_model_carries_lineage(model_tag: str) -> None:
    stored = bentoml.models.get(model_tag)
    metadata = stored.info.metadata
    assert set(metadata["metrics"]) == {"accuracy", "f1_macro"}
    assert len(metadata["training_data_sha256"]) == 64
    assert metadata["git_commit"]
    assert metadata["template_version"]
    assert metadata["params"]["max_iter"] > 0
    assert metadata["feature_names"] == list(FEATURE_NAMES)
    reference = model.load(model_tag)
    label, probability = reference.predict([EXAMPLE_ROW])[0]
    assert label in metadata["class_names"]
    assert 0.0 <= probability <= 1.0


def test_reference_statistics_cover_every_feature(model_tag: str) -> None:
    import json
    from pathlib import Path

    stored = bentoml.models.get(model_tag)
    reference = json.loads(Path(stored.path_of(model.REFERENCE_FILE)).read_text())
    assert set(reference["features"]) == set(FEATURE_NAMES)
    for stats in reference["features"].values():
        assert abs(sum(stats["proportions"]) - 1.0) < 1e-9
        assert len(stats["bin_edges"]) == len(stats["proportions"]) + 1
