"""Value classes as `dataclasses` makes them, without its start-up cost on the headless path.

Importing `dataclasses` takes about 5 ms (it loads inspect, ast, dis and tokenize), and each
class costs about 0.3 ms more (every generated method is compiled with `exec`): `xenwizard plan`
defines some 30 of them, a third of its own time. `record` builds the same methods from plain
closures instead. Type checkers are shown `dataclasses` itself, so fields, defaults, `replace`
and frozenness are checked exactly as before; `tests/test_record.py` holds the two to the same
behaviour. Only what the project uses is supported: `frozen`, and `field`'s `default`,
`default_factory`, `init`, `repr` and `compare`.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: see the module docstring
if TYPE_CHECKING:
    from collections.abc import Callable
    from dataclasses import FrozenInstanceError, field, fields, replace
    from dataclasses import dataclass as record
else:

    class FrozenInstanceError(AttributeError):
        """Assigning to a field of a frozen record (dataclasses' exception of the same name)."""

    _MISSING = object()
    _MUTABLE_DEFAULTS = (list, dict, set)

    class Field:
        """One field: its name (set when its class is decorated) and how it takes part."""

        __slots__ = ("compare", "default", "default_factory", "init", "name", "repr")

        def __init__(
            self,
            default: object = _MISSING,
            default_factory: Callable[[], object] | object = _MISSING,
            init: bool = True,
            repr: bool = True,
            compare: bool = True,
        ) -> None:
            if default is not _MISSING and default_factory is not _MISSING:
                raise ValueError("cannot specify both default and default_factory")
            self.name = ""
            self.default = default
            self.default_factory = default_factory
            self.init = init
            self.repr = repr
            self.compare = compare

        def has_default(self) -> bool:
            return self.default is not _MISSING or self.default_factory is not _MISSING

        def initial(self) -> object:
            if self.default_factory is not _MISSING:
                return self.default_factory()
            return self.default

        def __repr__(self) -> str:
            return f"Field(name={self.name!r})"

    def field(**options: object) -> Field:
        """How a field is made, as `dataclasses.field` says it."""
        return Field(**options)

    def fields(instance_or_class: object) -> tuple[Field, ...]:
        """The record's fields in their declared order, as `dataclasses.fields` gives them."""
        try:
            return instance_or_class.__record_fields__
        except AttributeError:
            raise TypeError("must be called with a record type or instance") from None

    def replace(instance: object, /, **changes: object) -> object:
        """A copy of the record with some fields changed, as `dataclasses.replace` makes it."""
        for item in fields(instance):
            if not item.init:
                if item.name in changes:
                    raise ValueError(
                        f"field {item.name} is declared with init=False, it cannot be "
                        "specified with replace()"
                    )
            elif item.name not in changes:
                changes[item.name] = getattr(instance, item.name)
        return type(instance)(**changes)

    def _declared_fields(cls: type) -> tuple[Field, ...]:
        """The fields from the class's own annotations, in order; class attributes become
        defaults (and a `field()` placeholder is taken off the class, as dataclasses does)."""
        declared = []
        seen_default = False
        for name, annotation in vars(cls).get("__annotations__", {}).items():
            if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
                continue
            value = cls.__dict__.get(name, _MISSING)
            item = value if isinstance(value, Field) else Field(default=value)
            item.name = name
            if isinstance(item.default, _MUTABLE_DEFAULTS):
                raise ValueError(
                    f"mutable default {type(item.default)} for field {name} is not "
                    "allowed: use default_factory"
                )
            if isinstance(value, Field):
                if item.default is _MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, item.default)
            if item.init:
                if item.has_default():
                    seen_default = True
                elif seen_default:
                    raise TypeError(f"non-default argument {name!r} follows default argument")
            declared.append(item)
        return tuple(declared)

    def _make_init(cls: type, declared: tuple[Field, ...]) -> Callable[..., None]:
        init_names = tuple(item.name for item in declared if item.init)
        post_init = getattr(cls, "__post_init__", None)
        title = cls.__qualname__

        def __init__(self: object, *args: object, **kwargs: object) -> None:
            if len(args) > len(init_names):
                raise TypeError(
                    f"{title}.__init__() takes {len(init_names) + 1} positional "
                    f"arguments but {len(args) + 1} were given"
                )
            values = dict(zip(init_names, args, strict=False))
            for name, value in kwargs.items():
                if name not in init_names:
                    raise TypeError(
                        f"{title}.__init__() got an unexpected keyword argument {name!r}"
                    )
                if name in values:
                    raise TypeError(f"{title}.__init__() got multiple values for argument {name!r}")
                values[name] = value
            for item in declared:
                if item.init and item.name in values:
                    value = values[item.name]
                elif item.has_default():
                    value = item.initial()
                else:
                    raise TypeError(
                        f"{title}.__init__() missing 1 required argument: {item.name!r}"
                    )
                object.__setattr__(self, item.name, value)
            if post_init is not None:
                post_init(self)

        return __init__

    def _make_methods(cls: type, declared: tuple[Field, ...], frozen: bool) -> dict[str, object]:
        shown = tuple(item.name for item in declared if item.repr)
        compared = tuple(item.name for item in declared if item.compare)

        def __repr__(self: object) -> str:
            inside = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
            return f"{type(self).__qualname__}({inside})"

        def __eq__(self: object, other: object) -> bool:
            if other.__class__ is not self.__class__:
                return NotImplemented
            mine = tuple(getattr(self, name) for name in compared)
            return mine == tuple(getattr(other, name) for name in compared)

        def __hash__(self: object) -> int:
            return hash(tuple(getattr(self, name) for name in compared))

        def __setattr__(self: object, name: str, value: object) -> None:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")

        def __delattr__(self: object, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r}")

        methods = {"__init__": _make_init(cls, declared), "__repr__": __repr__, "__eq__": __eq__}
        own_hash = cls.__dict__.get("__hash__", _MISSING)
        if own_hash is _MISSING or (own_hash is None and "__eq__" in cls.__dict__):
            methods["__hash__"] = __hash__ if frozen else None
        if frozen:
            methods["__setattr__"] = __setattr__
            methods["__delattr__"] = __delattr__
        return methods

    def record(cls: type | None = None, /, *, frozen: bool = False) -> object:
        """`@record` or `@record(frozen=True)` over a class with annotated fields, as with
        `@dataclass`: an `__init__` taking the fields in order, a field-by-field `__repr__` and
        `__eq__`, a `__hash__` when frozen (assignment then raises FrozenInstanceError)."""

        def build(cls: type) -> type:
            declared = _declared_fields(cls)
            for name, method in _make_methods(cls, declared, frozen).items():
                if name == "__hash__" or name not in cls.__dict__:
                    if callable(method):
                        method.__qualname__ = f"{cls.__qualname__}.{name}"
                    setattr(cls, name, method)
            cls.__record_fields__ = declared
            cls.__match_args__ = tuple(item.name for item in declared if item.init)
            return cls

        return build if cls is None else build(cls)


__all__ = ["FrozenInstanceError", "field", "fields", "record", "replace"]
