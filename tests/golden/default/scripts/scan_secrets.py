"""Scan the repository's files for committed secrets with detect-secrets.

`make lint` runs it over every file git tracks or would track (ignored files are skipped). A
finding fails the check, naming file, line and kind. A false positive is allowed on its line
with the comment `pragma: allowlist secret`.
"""

import subprocess
import sys

# Lock files are all package hashes, which the entropy detectors would report.
SKIPPED = {"uv.lock"}


def main() -> int:
    done = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(
            "secret scan: this folder is not a git repository yet (the scan reads git's file list"
            " so ignored files stay out). Run `git init && git add -A` first, then `make lint`.",
            file=sys.stderr,
        )
        return 2
    listed = done.stdout.split("\0")
    # Imported here: the message above needs no dependencies.
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    files = [name for name in listed if name and name not in SKIPPED]
    secrets = SecretsCollection()
    with default_settings():
        for name in files:
            secrets.scan_file(name)
    findings = [(name, secret) for name, found in secrets.data.items() for secret in found]
    for name, secret in sorted(findings, key=lambda f: (f[0], f[1].line_number)):
        print(f"{name}:{secret.line_number}: possible secret ({secret.type})")
    print(f"secret scan: {len(files)} files, {len(findings)} possible secrets")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
