"""`goldenpath verify` says what it could not check: without promtool the alert rules are not
tested, and verify says so instead of passing in silence."""

from pathlib import Path

import pytest

from goldenpath import verify

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "default"


def test_verify_notes_that_it_could_not_test_the_rules_without_promtool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(verify.shutil, "which", lambda name: None)
    notes: list[str] = []
    assert verify.check_rules(GOLDEN, notes) == []
    assert len(notes) == 1 and notes[0].startswith("promtool not found"), notes
