"""GP_K8S_6: every alert has a runbook link (annotations.runbook_url, an https URL).

Why: whoever is paged at night needs the first five minutes written down, not a search; the
template's alerts link to their section of docs/runbook.md, and an alert a team adds needs one
too. Recording rules are not alerts and need none. Explained in docs/policies.md.
"""

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class AlertRunbooks(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Every alert has a runbook link (annotations.runbook_url, https)",
            id="GP_K8S_6",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=["PrometheusRule"],
            guideline="docs/policies.md#gp_k8s_6",
        )

    def scan_spec_conf(self, conf: dict) -> CheckResult:
        self.evaluated_keys = ["spec/groups"]
        for group in (conf.get("spec") or {}).get("groups") or []:
            for rule in group.get("rules") or []:
                if "alert" not in rule:
                    continue
                url = (rule.get("annotations") or {}).get("runbook_url")
                if not (isinstance(url, str) and url.startswith("https://")):
                    return CheckResult.FAILED
        return CheckResult.PASSED


check = AlertRunbooks()
