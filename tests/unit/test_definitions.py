"""Every default definition: each allowed move works, every other move raises."""

from __future__ import annotations

import itertools

import pytest

from tickets.core.definitions import default_definitions
from tickets.domain.definitions import Definition, StateDef, transition
from tickets.domain.errors import InvalidTransition, ValidationFailed

DEFINITIONS = {d.code: d for d in default_definitions()}

EXPECTED_ALLOWED = {
    "ZS": {
        ("reported", "analysing"),
        ("reported", "in_progress"),
        ("reported", "cancelled"),
        ("analysing", "in_progress"),
        ("analysing", "completed"),
        ("analysing", "cancelled"),
        ("in_progress", "analysing"),
        ("in_progress", "completed"),
        ("in_progress", "cancelled"),
        ("completed", "in_progress"),
        ("cancelled", "reported"),
    },
    "ZW": {
        ("reported", "in_progress"),
        ("reported", "cancelled"),
        ("in_progress", "completed"),
        ("in_progress", "cancelled"),
        ("completed", "in_progress"),
        ("cancelled", "reported"),
    },
    "KOM": {
        ("reported", "in_progress"),
        ("reported", "cancelled"),
        ("in_progress", "completed"),
        ("in_progress", "cancelled"),
        ("completed", "in_progress"),
        ("cancelled", "reported"),
    },
    "SZ": {
        ("reported", "in_progress"),
        ("reported", "cancelled"),
        ("in_progress", "completed"),
        ("in_progress", "cancelled"),
        ("completed", "in_progress"),
        ("cancelled", "reported"),
    },
    "ZT": {("in_progress", "completed")},
}


def test_the_five_defaults_exist_with_their_states() -> None:
    assert set(DEFINITIONS) == {"ZS", "ZW", "KOM", "SZ", "ZT"}
    assert DEFINITIONS["ZS"].state_codes() == (
        "reported",
        "analysing",
        "in_progress",
        "completed",
        "cancelled",
    )
    assert DEFINITIONS["ZT"].kind == "event"
    assert DEFINITIONS["ZT"].initial_state == "in_progress"
    assert DEFINITIONS["ZS"].label("analysing") == "Analizowany"
    for d in DEFINITIONS.values():
        d.validate()


@pytest.mark.parametrize(
    ("code", "current", "target"),
    [
        (code, a, b)
        for code, d in DEFINITIONS.items()
        for a, b in itertools.product(d.state_codes(), repeat=2)
    ],
)
def test_every_pair_of_states(code: str, current: str, target: str) -> None:
    definition = DEFINITIONS[code]
    if (current, target) in EXPECTED_ALLOWED[code]:
        event = transition(definition, current, target)
        assert (event.old, event.new) == (current, target)
        if target == "completed" and definition.kind == "task":
            assert event.resolution == "resolved"
    else:
        with pytest.raises(InvalidTransition) as info:
            transition(definition, current, target)
        assert info.value.current == current
        assert info.value.target == target
        assert set(info.value.allowed) == {b for a, b in EXPECTED_ALLOWED[code] if a == current}


def test_reopen_is_flagged_and_resolution_checked() -> None:
    zs = DEFINITIONS["ZS"]
    assert transition(zs, "completed", "in_progress").reopened
    assert transition(zs, "analysing", "completed", resolution="rejected").resolution == "rejected"
    with pytest.raises(ValidationFailed):
        transition(zs, "analysing", "completed", resolution="maybe")


def test_inconsistent_definition_is_refused() -> None:
    bad = Definition(
        code="X",
        name="x",
        kind="task",
        number_pattern="X/{year}/{n}",
        states=(StateDef("a", "A", "A"),),
        transitions={"a": ("b",)},
        initial_state="a",
        final_states=(),
    )
    with pytest.raises(ValidationFailed) as info:
        bad.validate()
    assert info.value.field == "transitions"
