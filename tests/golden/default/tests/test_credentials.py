"""The chart gives the pods every credential the contract declares, and nothing more.

contract.py (CREDENTIALS) changes after the chart was generated, so the chart cannot know the
names itself: each values file lists them under `secrets.credentials` with a source (an existing
Secret or an ExternalSecret), and this test holds the contract and the values together.
"""

from pathlib import Path
from typing import Any

import pytest
import yaml

from iris_classifier import credentials
from iris_classifier.model import CONTRACT
from iris_classifier.settings import SERVICE_NAME

CHART = Path(__file__).resolve().parents[1] / "deploy" / "helm" / SERVICE_NAME
ENVIRONMENTS = [None, *sorted(CHART.glob("values-*.yaml"))]


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of a values file over values.yaml: maps merge, everything else is replaced."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def secrets_of(values_file: Path | None) -> dict[str, Any]:
    values = yaml.safe_load((CHART / "values.yaml").read_text()) or {}
    if values_file is not None:
        values = merged(values, yaml.safe_load(values_file.read_text()) or {})
    return values.get("secrets") or {}


@pytest.mark.parametrize(
    "values_file", ENVIRONMENTS, ids=[p.name if p else "values.yaml" for p in ENVIRONMENTS]
)
def test_the_values_give_each_declared_credential_a_source(values_file: Path | None) -> None:
    label = values_file.name if values_file else "values.yaml"
    secrets = secrets_of(values_file)
    listed = [entry.get("name") for entry in secrets.get("credentials") or []]
    declared = list(CONTRACT.credentials)
    missing = [name for name in declared if name not in listed]
    assert not missing, (
        f"{label}: the contract declares {', '.join(missing)} but secrets.credentials does not list"
        " it: add `- name: <NAME>` (and remoteKey for an ExternalSecret) to secrets.credentials"
    )
    extra = [name for name in listed if name not in declared]
    assert not extra, (
        f"{label}: secrets.credentials lists {', '.join(map(str, extra))}, which the contract does"
        " not declare: add it to CREDENTIALS in contract.py or remove it from the values"
    )
    if declared:
        external = (secrets.get("externalSecret") or {}).get("enabled")
        assert secrets.get("existingSecret") or external, (
            f"{label}: the contract declares {', '.join(declared)} but the values give no source:"
            " set secrets.existingSecret or secrets.externalSecret.enabled: true"
        )


def test_a_credential_is_a_variable_or_a_file_and_a_missing_one_is_named(tmp_path: Path) -> None:
    folder = {"CREDENTIALS_DIR": str(tmp_path)}
    assert credentials.missing(["SERVICE_TOKEN"], folder) == ["SERVICE_TOKEN"]
    (tmp_path / "SERVICE_TOKEN").write_text("from-a-file\n")
    assert credentials.missing(["SERVICE_TOKEN"], folder) == []
    assert credentials.read("SERVICE_TOKEN", folder) == "from-a-file"
    assert credentials.read("SERVICE_TOKEN", {"SERVICE_TOKEN": "from-a-variable"}) == (
        "from-a-variable"
    )
    with pytest.raises(KeyError, match="credential SERVICE_TOKEN missing") as missing:
        credentials.read("SERVICE_TOKEN", {"SERVICE_TOKEN": ""})
    assert "from-a" not in str(missing.value)
