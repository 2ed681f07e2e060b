"""The generated repo's dependency audit reads pip-audit's report honestly: a report in which the
database answered for no package is an audit that did not run, not a clean one."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "golden/default/scripts/audit_dependencies.py"


def summarise(findings: dict) -> tuple[list[str], int]:
    spec = importlib.util.spec_from_file_location("audit_dependencies", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.summarise(findings)


def skipped(name: str) -> dict:
    reason = f"Dependency not found on PyPI and could not be audited: {name} (1.0)"
    return {"name": name, "skip_reason": reason}


def test_a_report_that_looked_up_no_package_is_an_audit_that_did_not_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    findings = {"dependencies": [skipped("numpy"), skipped("pandas")]}
    monkeypatch.delenv("AUDIT_REQUIRED", raising=False)
    lines, status = summarise(findings)
    assert lines[0].startswith("dependency audit DID NOT RUN: none of the 2 locked packages")
    assert status == 0
    monkeypatch.setenv("AUDIT_REQUIRED", "1")  # as CI sets it: fatal
    assert summarise(findings)[1] == 1


def test_a_vulnerable_package_fails_and_the_ones_not_looked_up_are_named() -> None:
    vulnerable = {
        "name": "jinja2",
        "version": "2.0",
        "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["3.1.6"]}],
    }
    clean = {"name": "numpy", "version": "2.0", "vulns": []}
    lines, status = summarise({"dependencies": [vulnerable, clean, skipped("our-private-lib")]})
    assert status == 1
    assert "jinja2 2.0: GHSA-xxxx (fixed in 3.1.6)" in lines
    assert any("our-private-lib" in line and line.startswith("not audited") for line in lines)
    assert lines[-1] == (
        "dependency audit: 2 locked packages audited, 1 with known vulnerabilities, 1 not audited"
    )
    assert summarise({"dependencies": [clean]}) == (
        ["dependency audit: 1 locked packages audited, 0 with known vulnerabilities"],
        0,
    )
