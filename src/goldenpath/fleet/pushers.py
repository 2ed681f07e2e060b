"""How an update branch is published: behind one small interface, so tests never need a network.

- LocalBranchPusher (the default): the branch stays in the local repository.
- GitHubPullRequestPusher: pushes the branch to a remote and opens a pull request through the
  GitHub REST API (`POST /repos/{owner}/{repo}/pulls`). The token is read from an environment
  variable at publish time and never stored or logged.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..proc import run


class Pusher(Protocol):
    def publish(self, repo: Path, branch: str, base: str, title: str, body: str) -> str:
        """Publish branch; return where it can be found (a branch name, a pull request URL)."""
        ...


@dataclass(frozen=True)
class LocalBranchPusher:
    def publish(self, repo: Path, branch: str, base: str, title: str, body: str) -> str:
        return f"local branch {branch}"


class PublishError(RuntimeError):
    """The branch could not be pushed or the pull request could not be opened."""


@dataclass(frozen=True)
class GitHubPullRequestPusher:
    api_url: str = "https://api.github.com"
    remote: str = "origin"
    token_env: str = "GITHUB_TOKEN"
    repository: str | None = None  # owner/name; read from the remote's URL when not given

    def _repository(self, repo: Path) -> str:
        if self.repository:
            return self.repository
        url = run(["git", "remote", "get-url", self.remote], cwd=repo, echo=False).stdout.strip()
        match = re.search(r"github\.com[:/]([^/]+/[^/]+?)(?:\.git)?$", url)
        if not match:
            raise PublishError(f"cannot tell the GitHub repository from remote URL {url!r}")
        return match.group(1)

    def publish(self, repo: Path, branch: str, base: str, title: str, body: str) -> str:
        token = os.environ.get(self.token_env)
        if not token:
            raise PublishError(f"${self.token_env} is not set")
        name = self._repository(repo)
        run(["git", "push", "--quiet", self.remote, f"refs/heads/{branch}"], cwd=repo, echo=False)
        request = urllib.request.Request(
            f"{self.api_url.rstrip('/')}/repos/{name}/pulls",
            data=json.dumps({"title": title, "head": branch, "base": base, "body": body}).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())["html_url"]
        except (urllib.error.URLError, KeyError, ValueError) as error:
            raise PublishError(f"opening the pull request on {name} failed: {error}") from error
