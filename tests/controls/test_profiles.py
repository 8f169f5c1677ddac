"""PROFILES and the catalogue agree with the SPEC text (sections 2.x and 3)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from controls import CATALOGUE, PROFILE_SETTINGS, PROFILES
from tests.controls.helpers import shared_path

EXCERPT = Path(__file__).parent / "data" / "spec_excerpt.md"
"""A vendored copy of SPEC sections 2.x and 3, checked like the SPEC and kept equal to it."""


def spec_ids(text: str) -> list[str]:
    """Control IDs of section 3, in SPEC order."""
    return re.findall(r"^- ([A-Z0-9]+-\d{2}) ", text, flags=re.M)


def spec_profiles(text: str) -> dict[str, str]:
    """Stack name → raw "Controls:" text of its section 2.x."""
    found: dict[str, str] = {}
    pattern = r"^### 2\.\d+ (\w+) \(seed \d+\)\n(?:.*\n)*?Controls: ((?:.*\n)*?)(?=Specifics:|#)"
    for match in re.finditer(pattern, text, flags=re.M):
        found[match.group(1)] = " ".join(match.group(2).split())
    return found


def expand(controls: str, catalogue: list[str]) -> list[str]:
    """Expand "NET-01..04", "all of NET, ENC" (a bare area after "all of" means all of it)."""
    areas = {control_id.split("-")[0] for control_id in catalogue}
    expanded: list[str] = []
    for token in (t.strip() for t in controls.rstrip(".").split(",")):
        token = token.removeprefix("all of ").strip()
        if token in areas:
            expanded += [c for c in catalogue if c.split("-")[0] == token]
            continue
        match = re.fullmatch(r"([A-Z0-9]+)-(\d{2})\.\.(\d{2})", token)
        if match:
            area, low, high = match.group(1), int(match.group(2)), int(match.group(3))
            expanded += [f"{area}-{n:02d}" for n in range(low, high + 1)]
        else:
            assert re.fullmatch(r"[A-Z0-9]+-\d{2}", token), f"unparsed SPEC token {token!r}"
            expanded.append(token)
    return expanded


@pytest.fixture(scope="module", params=["spec", "excerpt"])
def spec_text(request: pytest.FixtureRequest) -> str:
    if request.param == "spec":
        return shared_path("SPEC.md").read_text(encoding="utf-8")
    return EXCERPT.read_text(encoding="utf-8")


def test_catalogue_implements_exactly_the_spec_ids_in_order(spec_text):
    assert list(CATALOGUE) == spec_ids(spec_text)


def test_profiles_are_the_expanded_spec_ranges(spec_text):
    catalogue = spec_ids(spec_text)
    raw = spec_profiles(spec_text)
    assert set(raw) == set(PROFILES)
    for stack, controls in raw.items():
        assert PROFILES[stack] == expand(controls, catalogue), stack


def test_excerpt_agrees_with_the_spec():
    spec = shared_path("SPEC.md").read_text(encoding="utf-8")
    excerpt = EXCERPT.read_text(encoding="utf-8")
    assert spec_ids(excerpt) == spec_ids(spec)
    assert spec_profiles(excerpt) == spec_profiles(spec)


def test_expansion_examples():
    catalogue = [f"NET-{n:02d}" for n in range(1, 11)] + ["ENC-01", "ENC-02"]
    assert expand("NET-01..04", catalogue) == ["NET-01", "NET-02", "NET-03", "NET-04"]
    assert expand("all of NET, ENC, NET-02.", catalogue) == [*catalogue, "NET-02"]


def test_profile_keys_and_members_are_catalogue_ids():
    assert list(PROFILES) == [
        "TapStack",
        "EnterpriseWebAppStack",
        "CorpEnterpriseAppStack",
        "FinSecureStack",
        "PayFlowStack",
    ]
    for stack, ids in PROFILES.items():
        assert len(ids) == len(set(ids)), stack
        assert set(ids) <= set(CATALOGUE), stack
    assert set(PROFILE_SETTINGS) <= set(PROFILES)


def test_every_control_has_report_texts():
    for control in CATALOGUE.values():
        for text in (control.title, control.requirement, control.impact, control.fix, control.how):
            assert text.strip(), control.id
        assert control.area.name == control.id.split("-")[0]
