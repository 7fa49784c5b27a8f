"""`xenwizard.record` behaves as `dataclasses` does for everything the project uses.

Each shape is declared twice from one body, once with `dataclasses` and once with `record`,
and every check runs on both: where they disagree, the record is wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from tests.helpers import package_modules
from xenwizard import record as records

DATACLASSES = SimpleNamespace(
    name="dataclasses",
    make=dataclasses.dataclass,
    field=dataclasses.field,
    fields=dataclasses.fields,
    replace=dataclasses.replace,
    frozen_error=dataclasses.FrozenInstanceError,
)
RECORD = SimpleNamespace(
    name="record",
    make=records.record,
    field=records.field,
    fields=records.fields,
    replace=records.replace,
    frozen_error=records.FrozenInstanceError,
)
KINDS = pytest.mark.parametrize("kind", [DATACLASSES, RECORD], ids=lambda kind: kind.name)


def shapes(kind: SimpleNamespace) -> SimpleNamespace:
    """The project's shapes of value class, made with `kind`."""

    @kind.make(frozen=True)
    class Point:
        x: int
        y: int = 0
        tags: tuple[str, ...] = ()
        cache: dict[str, int] = kind.field(default_factory=dict, compare=False, repr=False)

        def __str__(self) -> str:
            return f"{self.x},{self.y}"

    @kind.make
    class Box:
        label: str
        items: list[int] = kind.field(default_factory=list)
        derived: str = kind.field(init=False, default="")

        def __post_init__(self) -> None:
            self.derived = self.label.upper()

    return SimpleNamespace(Point=Point, Box=Box)


@KINDS
def test_init_takes_fields_in_order_with_defaults(kind: SimpleNamespace) -> None:
    made = shapes(kind)
    point = made.Point(1, tags=("a",))
    assert (point.x, point.y, point.tags, point.cache) == (1, 0, ("a",), {})
    assert made.Point(2, 3).y == 3
    assert made.Point(1).cache is not made.Point(1).cache  # a fresh default from the factory
    box = made.Box("eth0")
    assert (box.items, box.derived) == ([], "ETH0")  # __post_init__ ran after the fields


@KINDS
@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda made: made.Point(), "missing"),
        (lambda made: made.Point(1, 2, (), {}, 5), "positional"),
        (lambda made: made.Point(1, z=2), "unexpected keyword"),
        (lambda made: made.Point(1, x=2), "multiple values"),
        (lambda made: made.Box("a", derived="b"), "unexpected keyword"),
    ],
    ids=["missing", "too-many", "unknown", "twice", "init-false"],
)
def test_bad_arguments_are_refused(
    kind: SimpleNamespace, call: Callable[[SimpleNamespace], object], error: str
) -> None:
    with pytest.raises(TypeError, match=error):
        call(shapes(kind))


@KINDS
def test_repr_eq_and_hash(kind: SimpleNamespace) -> None:
    made = shapes(kind)
    point = made.Point(1, 2, ("a",), {"seen": 1})
    assert repr(point) == "shapes.<locals>.Point(x=1, y=2, tags=('a',))"  # repr=False left out
    assert str(point) == "1,2"  # the class's own method is kept
    same = made.Point(1, 2, ("a",), {"other": 2})  # compare=False: the cache does not count
    assert point == same
    assert hash(point) == hash(same)
    assert point != made.Point(1, 3, ("a",))
    assert point != (1, 2, ("a",))
    assert made.Box("a") == made.Box("a")
    with pytest.raises(TypeError, match="unhashable"):
        hash(made.Box("a"))  # eq without frozen: not hashable, as dataclasses makes it


@KINDS
def test_frozen_refuses_assignment(kind: SimpleNamespace) -> None:
    point = shapes(kind).Point(1)
    with pytest.raises(kind.frozen_error, match="cannot assign to field 'x'"):
        point.x = 2
    with pytest.raises(AttributeError):  # FrozenInstanceError is an AttributeError
        del point.y
    box = shapes(kind).Box("a")
    box.label = "b"  # not frozen: assignment works
    assert box.label == "b"


@KINDS
def test_fields_replace_and_match_args(kind: SimpleNamespace) -> None:
    made = shapes(kind)
    point = made.Point(1, 2)
    assert [item.name for item in kind.fields(point)] == ["x", "y", "tags", "cache"]
    assert [item.name for item in kind.fields(made.Point)] == ["x", "y", "tags", "cache"]
    moved = kind.replace(point, y=5)
    assert (moved.x, moved.y, point.y) == (1, 5, 2)
    assert kind.replace(made.Box("a", [1]), label="b").derived == "B"
    with pytest.raises(ValueError, match="init=False"):
        kind.replace(made.Box("a"), derived="x")
    with pytest.raises(TypeError):
        kind.fields(object())
    assert made.Point.__match_args__ == ("x", "y", "tags", "cache")
    assert made.Box.__match_args__ == ("label", "items")


@KINDS
def test_class_attributes_as_dataclasses_leaves_them(kind: SimpleNamespace) -> None:
    made = shapes(kind)
    assert made.Point.y == 0  # a plain default stays on the class
    assert "x" not in vars(made.Point)  # no default: nothing on the class
    assert "items" not in vars(made.Box)  # a default_factory placeholder is taken off
    assert made.Box.derived == ""  # field(default=...) leaves the default


@KINDS
def test_bad_declarations_are_refused(kind: SimpleNamespace) -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @kind.make
        class Order:
            a: int = 0
            b: int

    with pytest.raises(ValueError, match="mutable default"):

        @kind.make
        class Shared:
            items: list[int] = []  # noqa: RUF012 - the mistake under test

    with pytest.raises(ValueError, match="both default and default_factory"):
        kind.field(default=1, default_factory=int)


def test_every_product_record_is_a_record() -> None:
    """No module of the package uses dataclasses: one kind of value class, and the headless
    path never pays for dataclasses' import."""
    found = [
        name
        for name, path in package_modules().items()
        if name != "xenwizard.record" and "dataclass" in path.read_text()
    ]
    assert not found
