"""Generated artifacts against the schemas their own projects publish (docs/decisions/0010):
Prometheus Operator's CRD models, Grafana's dashboard model, Prometheus' query parser and
Backstage's catalog model (with the OpenAPI document its API entity reads, checked by
openapi-spec-validator), on every answer set and values file. Each check has a negative control
that shows it can fail; the controls break the committed golden render, once."""

import copy
import json
import shutil
import subprocess
from pathlib import Path

import yaml

from devkit.chart import by_kind, chart_dir, render, values_files
from devkit.schemas import BENTOML_OPENAPI_ERRORS, node_check, openapi_errors

MONITORING_KINDS = ("ServiceMonitor", "PrometheusRule")
GOLDEN = Path(__file__).parents[1] / "golden" / "default"


def test_monitoring_objects_match_the_operator_crds(rendered) -> None:
    _, repo = rendered
    chart = chart_dir(repo)
    documents, names = [], []
    for name, values in values_files(chart).items():
        objects = render(chart, values)
        for kind in MONITORING_KINDS:
            found = by_kind(objects, kind)
            assert found, f"{name}: no {kind} rendered"
            documents += found
            names += [f"{name}: {kind}"] * len(found)
    errors = node_check("prometheus-operator", documents)
    assert {n: e for n, e in zip(names, errors, strict=True) if e} == {}


def test_operator_crd_check_refuses_a_broken_monitor_and_rule() -> None:
    repo = GOLDEN
    objects = render(chart_dir(repo), {})
    (monitor,) = copy.deepcopy(by_kind(objects, "ServiceMonitor"))
    (rule,) = copy.deepcopy(by_kind(objects, "PrometheusRule"))
    monitor["spec"]["endpoints"][0]["interval"] = "30 seconds"
    monitor["spec"]["endpoints"][0]["metricRelabelings"][0]["action"] = "rename"
    rule["spec"]["groups"][0]["rules"][0]["for"] = "5 minutes"
    monitor_errors, rule_errors = node_check("prometheus-operator", [monitor, rule])
    assert any("/spec/endpoints/0/interval: must match pattern" in e for e in monitor_errors)
    assert any("/metricRelabelings/0/action: must be equal to one" in e for e in monitor_errors)
    assert any("/spec/groups/0/rules/0/for: must match pattern" in e for e in rule_errors), (
        rule_errors
    )


def dashboards(repo: Path) -> list[dict]:
    return [
        json.loads(p.read_text())
        for p in sorted((repo / "monitoring" / "dashboards").glob("*.json"))
    ]


def test_dashboard_matches_grafanas_dashboard_model(rendered) -> None:
    _, repo = rendered
    boards = dashboards(repo)
    assert boards
    assert node_check("grafana", boards) == [[] for _ in boards]


def test_grafana_check_refuses_a_broken_dashboard() -> None:
    repo = GOLDEN
    (board, *_) = dashboards(repo)
    broken, unknown = copy.deepcopy(board), copy.deepcopy(board)
    variables = {v["name"]: v for v in broken["templating"]["list"]}
    variables["datasource"]["current"] = {}  # what the template shipped before decision 0010
    broken["refresh"] = 60
    unknown["panelz"] = []
    errors, unknown_errors = node_check("grafana", [broken, unknown])
    missing = "missing the following properties from type 'VariableOption': text, value"
    assert any(missing in e for e in errors), errors
    assert any("Type 'number' is not assignable to type 'string'" in e for e in errors), errors
    assert any("'\"panelz\"' does not exist in type 'Dashboard'" in e for e in unknown_errors), (
        unknown_errors
    )


def promtool_parse(expressions: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Prometheus' own parser on each query: `promtool check rules`, one recording rule each."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make test` installs the prometheus package"
    rules = [{"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(expressions)]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    return subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)


def dashboard_queries(repo: Path) -> list[str]:
    """Every panel query, with the dashboard's variables given a value as Grafana would."""
    service = yaml.safe_load((repo / ".copier-answers.yml").read_text())["service_name"]
    queries = []
    for board in dashboards(repo):
        for panel in board["panels"]:
            queries += [t["expr"] for t in panel.get("targets", [])]
    return [q.replace("$service", service).replace("$namespace", "ml") for q in queries]


def test_every_panel_query_parses_with_prometheus(rendered, tmp_path) -> None:
    _, repo = rendered
    queries = dashboard_queries(repo)
    assert len(queries) >= 10
    done = promtool_parse(queries, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = promtool_parse([*queries[:1], "sum(rate(bentoml_service_request_total[5m])"], tmp_path)
    assert broken.returncode != 0 and "dashboard:query_1" in broken.stdout + broken.stderr, (
        broken.stdout + broken.stderr
    )


def catalog_entities(repo: Path) -> list[dict]:
    return [e for e in yaml.safe_load_all((repo / "catalog-info.yaml").read_text()) if e]


def resolve_placeholders(data, base: Path):
    """What Backstage's catalog does to an entity before it validates it (PlaceholderProcessor,
    plugin-catalog-backend `modules/core/PlaceholderProcessor.ts`): an object whose only key is
    `$text` becomes the text of the file it names, a path relative to the catalog file. The other
    placeholders (`$json`, `$yaml`, ...) are not used by the template and refused here."""
    if isinstance(data, list):
        return [resolve_placeholders(item, base) for item in data]
    if not isinstance(data, dict):
        return data
    if any(key.startswith("$") for key in data):
        assert list(data) == ["$text"], f"a placeholder this check does not model: {data}"
        path = base / data["$text"]
        assert path.is_file(), f"$text names {data['$text']}, which {base} does not have"
        return path.read_text(encoding="utf-8")
    return {key: resolve_placeholders(value, base) for key, value in data.items()}


def test_catalog_info_passes_backstages_entity_validators(rendered) -> None:
    _, repo = rendered
    entities = [resolve_placeholders(e, repo) for e in catalog_entities(repo)]
    assert {e["kind"] for e in entities} == {"Component", "API"}
    assert node_check("backstage", entities) == [[] for _ in entities]
    # Nothing in the repository defines a System, so no entity may name one.
    assert not [e for e in entities if "system" in e["spec"]]


def test_catalog_api_definition_is_the_committed_openapi_document(rendered) -> None:
    answers, repo = rendered
    (api,) = [e for e in catalog_entities(repo) if e["kind"] == "API"]
    assert api["spec"]["definition"] == {"$text": "./docs/openapi.json"}
    text = (repo / "docs" / "openapi.json").read_text(encoding="utf-8")
    document = json.loads(text)
    # Stable: sorted keys, two-space indent, one trailing newline (what `make openapi` writes).
    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert document["openapi"].startswith("3.0"), document["openapi"]
    assert document["info"]["title"] == answers.get("service_name", api["metadata"]["name"][:-4])
    assert {"/predict", "/predict_batch"} <= set(document["paths"])
    ours = {w: m for w, m in openapi_errors(document).items() if w not in BENTOML_OPENAPI_ERRORS}
    assert ours == {}, f"docs/openapi.json has OpenAPI errors: {ours}"


def test_backstage_check_refuses_broken_entities() -> None:
    repo = GOLDEN
    component, api = copy.deepcopy(catalog_entities(repo))
    del component["spec"]["lifecycle"]
    api["metadata"]["name"] = "Not A Name!"
    component_errors, api_errors = node_check("backstage", [component, api])
    assert any("must have required property 'lifecycle'" in e for e in component_errors)
    assert any("metadata.name" in e and "Not A Name!" in e for e in api_errors), api_errors
    # The API entity as written (the placeholder not resolved) is not a valid entity: what the
    # validators see is the document's text, so the resolution above is what makes it pass.
    (_, raw_api) = catalog_entities(repo)
    (raw_errors,) = node_check("backstage", [raw_api])
    assert any("definition" in e for e in raw_errors), raw_errors


def test_openapi_check_refuses_a_broken_document() -> None:
    document = json.loads((GOLDEN / "docs" / "openapi.json").read_text())
    del document["paths"]["/predict"]["post"]["responses"]
    document["components"]["schemas"]["Features"]["type"] = "row"
    errors = openapi_errors(document)
    assert ("paths", "/predict", "post") in errors, errors
    assert ("components", "schemas", "Features") in errors, errors
