"""Audit the locked dependencies against PyPI's vulnerability database with pip-audit.

`make lint` runs it. uv.lock is exported as hashed requirements and audited without installing
anything. A known vulnerability fails the check; to accept one, add its id to ACCEPTED with the
reason and a review date. When the database cannot be reached, or answers for none of the packages,
the audit says plainly that it did not run, and fails only where AUDIT_REQUIRED=1 (the CI
pipelines set it).
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# Vulnerability id -> why it does not apply here, and until when that holds.
ACCEPTED: dict[str, str] = {}

UNREACHABLE = (
    "ConnectionError",
    "ProxyError",
    "Max retries",
    "NameResolution",
    "SSLError",
    "timed out",
)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        report = Path(tmp) / "audit.json"
        subprocess.run(
            [
                "uv",
                "export",
                "--locked",
                "--all-groups",
                "--no-emit-project",
                "--quiet",
                "--format",
                "requirements-txt",
                "--output-file",
                str(requirements),
            ],
            check=True,
        )
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--requirement",
            str(requirements),
            "--format",
            "json",
            "--output",
            str(report),
        ]
        for vulnerability in ACCEPTED:
            command += ["--ignore-vuln", vulnerability]
        done = subprocess.run(command, capture_output=True, text=True)
        findings = json.loads(report.read_text()) if report.exists() else None
    output = (done.stdout + done.stderr).strip()
    if findings is None:
        if any(marker in output for marker in UNREACHABLE):
            print("dependency audit DID NOT RUN: the vulnerability database could not be reached.")
            print(output.splitlines()[-1] if output else "")
            return 1 if os.environ.get("AUDIT_REQUIRED") == "1" else 0
        print(output)
        return done.returncode or 1
    lines, status = summarise(findings)
    print("\n".join(lines))
    return status


def summarise(findings: dict) -> tuple[list[str], int]:
    """pip-audit's JSON report as lines to print, and the exit status."""
    dependencies = findings["dependencies"]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    if dependencies and len(skipped) == len(dependencies):
        # The database answered for none of them (an index mirror without PyPI's JSON API, say):
        # nothing was audited, which must not read as "no vulnerabilities".
        lines = [
            "dependency audit DID NOT RUN: none of the"
            f" {len(dependencies)} locked packages could be looked up.",
            skipped[0]["skip_reason"],
        ]
        return lines, 1 if os.environ.get("AUDIT_REQUIRED") == "1" else 0
    lines = []
    vulnerable = [d for d in dependencies if d.get("vulns")]
    for dependency in vulnerable:
        for vulnerability in dependency["vulns"]:
            fixes = ", ".join(vulnerability["fix_versions"]) or "no fix yet"
            name = f"{dependency['name']} {dependency['version']}"
            lines.append(f"{name}: {vulnerability['id']} (fixed in {fixes})")
    for dependency in skipped:  # a private package the database does not know, say
        lines.append(f"not audited: {dependency['skip_reason']}")
    audited = len(dependencies) - len(skipped)
    lines.append(
        f"dependency audit: {audited} locked packages audited,"
        f" {len(vulnerable)} with known vulnerabilities"
        + (f", {len(skipped)} not audited" if skipped else "")
    )
    return lines, 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
