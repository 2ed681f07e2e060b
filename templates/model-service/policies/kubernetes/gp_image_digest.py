"""GP_K8S_3: every container image is pinned by digest (the manifests as the release deploys them).

Why: a tag can move; a digest cannot, so production runs exactly the bytes that staging tested,
scanned and signed, and a rollback brings back exactly what ran before. `make policy` renders
the chart with the digest the release pipeline sets (`make deploy` passes image.digest), so this
fails on an image the pipeline does not control. Explained in docs/policies.md.
"""

import re

from checkov.common.models.enums import CheckResult
from checkov.kubernetes.checks.resource.base_container_check import BaseK8sContainerCheck

DIGEST = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")


class ImageByDigest(BaseK8sContainerCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Every container image is pinned by digest (name@sha256:...)",
            id="GP_K8S_3",
            guideline="docs/policies.md#gp_k8s_3",
        )

    def scan_container_conf(self, metadata: dict, conf: dict) -> CheckResult:
        self.evaluated_container_keys = ["image"]
        image = conf.get("image")
        if isinstance(image, str) and DIGEST.match(image):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = ImageByDigest()
