"""The one way this package runs commands: echoed, checked, with a readable failure."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO


class CommandError(RuntimeError):
    """A command exited non-zero; the message carries the command and the end of its output."""

    def __init__(self, command: Sequence[str], returncode: int, output: str) -> None:
        tail = "\n".join(output.strip().splitlines()[-30:])
        super().__init__(f"`{shlex.join(command)}` exited with {returncode}\n{tail}")
        self.returncode = returncode
        self.output = output
        self.command = list(command)

    @property
    def brief(self) -> str:
        """One line: the command, its exit status and what it said: its first `fatal:` or
        `error:` line (git's), else its last line."""
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
        last = (errors or lines or [""])[0 if errors else -1]
        head = f"`{shlex.join(self.command)}` exited with {self.returncode}"
        return f"{head}: {last}" if last else head


def run(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    echo: bool = True,
    check: bool = True,
    stdin_text: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, stdin_text on its stdin, capturing its output.

    Raises CommandError when it fails and check is set, and always when it cannot be started or
    outlives timeout seconds (killed; exit status 124, as timeout(1) reports it).
    """
    if echo:
        where = f" (in {cwd})" if cwd else ""
        print(f"$ {shlex.join(command)}{where}", file=sys.stderr, flush=True)
    merged = {**os.environ, **(env or {})}
    try:
        done = subprocess.run(
            list(command),
            cwd=cwd,
            env=merged,
            capture_output=True,
            text=True,
            check=False,
            input=stdin_text,
            timeout=timeout,
        )
    except OSError as error:  # the program is missing or cannot be run
        raise CommandError(command, 127, str(error)) from error
    except subprocess.TimeoutExpired as error:
        output = "".join(
            part.decode(errors="replace") if isinstance(part, bytes) else part
            for part in (error.stdout, error.stderr)
            if part
        )
        raise CommandError(command, 124, f"{output}\nstill running after {timeout}s") from error
    if check and done.returncode != 0:
        raise CommandError(command, done.returncode, done.stdout + done.stderr)
    return done


def git(repo: Path, *args: str, check: bool = True) -> str:
    """A git command in repo, quietly; its stdout, stripped."""
    return run(["git", *args], cwd=repo, echo=False, check=check).stdout.strip()


def spawn(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | int | None = None,
    new_session: bool = False,
) -> subprocess.Popen[str]:
    """Start a command and return at once, for a process watched while it runs (its memory
    sampled, its process group signalled); servers start through goldenpath.localservice.
    env is added to this process's environment; OSError when it cannot be started."""
    return subprocess.Popen(
        list(command),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=stdout,
        stderr=stderr,
        text=True,
        start_new_session=new_session,
    )
