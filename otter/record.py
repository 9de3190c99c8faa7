"""Immutable typed records: `dataclasses` semantics without its start-up cost.

`import dataclasses` pulls in `inspect` (and with it ast, dis, tokenize, enum): about 20 ms
on this machine, plus a millisecond per class, paid by every `otter` invocation. The commands
a user waits for (`run`, `ps`, `images`) cannot afford that, so records are declared with
`@record` instead of `@dataclass(frozen=True)`:

    @record
    class Mount:
        destination: str
        options: tuple[str, ...] = ()
        labels: dict = field(default_factory=dict)

Vocabulary and behaviour follow `dataclasses`: fields in declaration order, defaults and
`field(default_factory=...)`, keyword or positional construction, value equality and hashing,
`repr`, immutability (`@record(frozen=False)` for mutable reports), `fields()`, `replace()`,
`asdict()` and `is_record()`. Static checkers see the real `dataclasses` (the `TYPE_CHECKING`
branch), so the types are checked exactly as for dataclasses.
"""

from __future__ import annotations

# True only for static type checkers (which treat any `TYPE_CHECKING` name so); importing
# `typing` for it would cost milliseconds at run time. Other modules import it from here.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from dataclasses import asdict, dataclass, field, fields, replace

    def record(cls=None, /, *, frozen: bool = True):  # type: ignore[no-redef]
        return dataclass(frozen=frozen)(cls) if cls is not None else dataclass(frozen=frozen)

    def is_record(obj) -> bool: ...
else:
    _MISSING = object()

    class FrozenInstanceError(AttributeError):
        pass

    class Field:
        __slots__ = ("name", "default", "default_factory", "metadata")

        def __init__(self, default=_MISSING, default_factory=_MISSING, metadata=None):
            self.name = ""
            self.default = default
            self.default_factory = default_factory
            self.metadata = metadata or {}

        def __repr__(self) -> str:
            return f"Field({self.name!r})"

    def field(*, default=_MISSING, default_factory=_MISSING, metadata=None):
        return Field(default, default_factory, metadata)

    def _frozen_setattr(self, name, value):
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def _frozen_delattr(self, name):
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    _GENERIC_INSTANCES = 8

    def _assign(obj, flds, frozen: bool, args: tuple, kwargs: dict) -> None:
        """What the compiled __init__ does, field by field: positional values, then keywords,
        then defaults; the same TypeErrors for a missing, repeated or unknown argument."""
        if len(args) > len(flds):
            raise TypeError(f"__init__() takes {len(flds) + 1} positional arguments but {len(args) + 1} were given")
        setter = object.__setattr__ if frozen else setattr
        for i, f in enumerate(flds):
            if i < len(args):
                if f.name in kwargs:
                    raise TypeError(f"__init__() got multiple values for argument {f.name!r}")
                value = args[i]
            elif f.name in kwargs:
                value = kwargs[f.name]
            elif f.default_factory is not _MISSING:
                value = f.default_factory()
            elif f.default is not _MISSING:
                value = f.default
            else:
                raise TypeError(f"__init__() missing 1 required positional argument: {f.name!r}")
            setter(obj, f.name, value)
        if len(kwargs) > sum(1 for f in flds[len(args):] if f.name in kwargs):
            unknown = next(k for k in kwargs if k not in {f.name for f in flds})
            raise TypeError(f"__init__() got an unexpected keyword argument {unknown!r}")

    def _build(cls, frozen: bool):
        own = cls.__dict__.get("__annotations__", {})
        inherited = [f for base in reversed(cls.__mro__[1:]) for f in base.__dict__.get("__record_fields__", ())]
        specs = {f.name: f for f in inherited}
        for name in own:
            value = cls.__dict__.get(name, _MISSING)
            spec = value if isinstance(value, Field) else Field(default=value)
            spec.name = name
            specs[name] = spec
            if isinstance(value, Field):
                if spec.default is _MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, spec.default)
        flds = tuple(specs.values())
        env = {"_MISSING": _MISSING, "_set": object.__setattr__}
        params, body = [], []
        for f in flds:
            if f.default_factory is not _MISSING:
                env[f"_f_{f.name}"] = f.default_factory
                params.append(f"{f.name}=_MISSING")
                value = f"_f_{f.name}() if {f.name} is _MISSING else {f.name}"
            elif f.default is not _MISSING:
                env[f"_d_{f.name}"] = f.default
                params.append(f"{f.name}=_d_{f.name}")
                value = f.name
            else:
                params.append(f.name)
                value = f.name
            body.append(f"  _set(self, {f.name!r}, {value})" if frozen else f"  self.{f.name} = {value}")
        src = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "  pass") + "\n"

        made = 0

        def __init__(self, *args, **kwargs):
            # A command imports many more records than it makes, and most it makes once or
            # twice (`inspect` makes five records in all), while compiling an __init__ costs
            # ~0.3 ms. So the first instances are filled in by `_assign`, and a class whose
            # instances keep coming (`ps` makes hundreds) gets its compiled __init__.
            nonlocal made
            made += 1
            if made <= _GENERIC_INSTANCES:
                _assign(self, flds, frozen, args, kwargs)
                return
            exec(src, env)
            cls.__init__ = env["__init__"]
            env["__init__"](self, *args, **kwargs)

        cls.__init__ = __init__
        names = tuple(f.name for f in flds)

        def _values(self):
            return tuple(getattr(self, n) for n in names)

        def __eq__(self, other):
            return _values(self) == _values(other) if other.__class__ is self.__class__ else NotImplemented

        def __repr__(self):
            inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
            return f"{cls.__qualname__}({inner})"

        cls.__eq__ = __eq__
        cls.__repr__ = __repr__
        cls.__match_args__ = names
        cls.__record_fields__ = flds
        if frozen:
            cls.__hash__ = lambda self: hash(_values(self))
            cls.__setattr__ = _frozen_setattr
            cls.__delattr__ = _frozen_delattr
        else:
            cls.__hash__ = None
        return cls

    def record(cls=None, /, *, frozen: bool = True):
        if cls is None:
            return lambda c: _build(c, frozen)
        return _build(cls, frozen)

    def is_record(obj) -> bool:
        return hasattr(obj if isinstance(obj, type) else type(obj), "__record_fields__")

    def fields(obj):
        return (obj if isinstance(obj, type) else type(obj)).__record_fields__

    def replace(obj, **changes):
        values = {f.name: getattr(obj, f.name) for f in fields(obj)}
        values.update(changes)
        return type(obj)(**values)

    def _plain(value):
        if is_record(value):
            return asdict(value)
        if isinstance(value, (list, tuple)):
            return type(value)(_plain(v) for v in value)
        if isinstance(value, dict):
            return {k: _plain(v) for k, v in value.items()}
        return value

    def asdict(obj) -> dict:
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}

__all__ = ["TYPE_CHECKING", "record", "field", "fields", "replace", "asdict", "is_record"]
