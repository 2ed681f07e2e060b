"""Tests of your model: what it must get right. Your team owns this file; template updates never
touch it. The platform's own tests (test_contract, test_training, test_http, test_server) already
check the contract, the quality gate, the lineage and the HTTP behaviour."""

from iris_classifier.contract import EXAMPLES, FEATURES, TASK, predict
from iris_classifier.spec import TrainingResult, encode


def test_the_examples_get_their_known_species(training_result: TrainingResult) -> None:
    probabilities = predict(training_result.model, encode(FEATURES, EXAMPLES))
    labels = [TASK.classes[i] for i in probabilities.argmax(axis=1)]
    assert labels == ["setosa", "virginica"]
