"""docs/controls.md is generated from the package and kept in sync."""

from __future__ import annotations

from controls import CATALOGUE, PROFILES
from controls.matrix import DEFAULT_PATH, main, render_matrix


def test_docs_controls_md_is_up_to_date():
    assert DEFAULT_PATH.read_text(encoding="utf-8") == render_matrix(), (
        "docs/controls.md is stale: run `python -m controls.matrix`"
    )
    assert main(["--check"]) == 0


def test_matrix_rows_and_marks_follow_the_profiles():
    text = render_matrix()
    rows = {
        line.split(" | ")[0].lstrip("| "): line
        for line in text.splitlines()
        if line.startswith("| ") and "-" in line.split(" | ")[0]
    }
    assert set(CATALOGUE) <= set(rows)
    for column, (stack, ids) in enumerate(PROFILES.items()):
        for control_id in CATALOGUE:
            cells = [c.strip() for c in rows[control_id].strip("|").split("|")]
            assert (cells[3 + column] == "✓") == (control_id in ids), (stack, control_id)


def test_check_mode_detects_a_stale_file(tmp_path):
    stale = tmp_path / "controls.md"
    stale.write_text("old\n")
    assert main(["--check", "--output", str(stale)]) == 1
    assert main(["--output", str(stale)]) == 0
    assert main(["--check", "--output", str(stale)]) == 0
