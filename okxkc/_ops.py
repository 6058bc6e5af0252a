"""Operation tables: the one source of truth for every exchange op.

Each exchange's ``operations.py`` is a tuple of :class:`Operation` rows. The
generator (``tools/generate.py``) writes both facades from them, and the
validator here checks a call's arguments against the same rows before anything
is sent, raising :class:`~okxkc.errors.ValidationError` that names the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ValidationError

__all__ = ["Operation", "Param", "decimal_text", "validate_batch", "validate_item"]

_DEC = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")


@dataclass(frozen=True)
class Param:
    """One request field, named exactly as the exchange names it.

    kind: ``str`` | ``dec`` (number sent as an exact decimal string) | ``int`` |
    ``bool`` | ``list`` (list of objects, passed through) | ``obj`` (object).
    """

    name: str
    kind: str = "str"
    required: bool = False
    choices: tuple[str, ...] = ()
    max_len: int | None = None
    pattern: str | None = None
    pattern_text: str = ""
    positive: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Operation:
    """One exchange op and everything the facades and validator need to know."""

    method: str  # Python method name (snake_case of the Node SDK's)
    op: str  # the exchange's op name
    ws_key: str  # which socket it goes on
    params: tuple[Param, ...]
    result: str  # name of the result item type in the exchange's models
    doc: str
    batch: bool = False  # args is a list of items
    max_items: int = 1
    # Groups of fields of which at least one (``one_of``) / at most one
    # (``exclusive``) must be present.
    one_of: tuple[tuple[str, ...], ...] = ()
    exclusive: tuple[tuple[str, ...], ...] = ()
    # When this field equals one of these values, these fields are required.
    required_if: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    exp_time: bool = False  # OKX: accepts a request expiry
    needs_instrument_code: bool = False  # OKX: instId -> instIdCode
    collection: str = "orders"  # argument name of a batch method
    result_is_list: bool = False  # the reply's data is a list even though args is one object
    fields: Mapping[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", {p.name: p for p in self.params})


def decimal_text(value: Any, name: str, positive: bool = False) -> str:
    """``value`` as an exact decimal string: never scientific notation, never a bool."""
    if isinstance(value, str):
        text = value.strip()
        if not _DEC.fullmatch(text):
            raise ValidationError(name, f"must be a decimal number, got {value!r}")
    elif isinstance(value, bool):
        raise ValidationError(name, f"must be a decimal number, got {value!r}")
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(name, f"must be a finite number, got {value!r}")
        text = format(value, "f")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(name, f"must be a finite number, got {value!r}")
        # The shortest repr round-trips; Decimal(repr) keeps it exact, "f" drops the exponent.
        text = format(Decimal(repr(value)), "f")
    else:
        raise ValidationError(
            name, f"must be a number (str, int, Decimal or float), got {type(value).__name__}"
        )
    if positive:
        try:
            if Decimal(text) <= 0:
                raise ValidationError(name, f"must be greater than 0, got {value!r}")
        except InvalidOperation:  # pragma: no cover - the regex already checked
            raise ValidationError(name, f"must be a decimal number, got {value!r}") from None
    return text


_patterns: dict[str, re.Pattern[str]] = {}


def _check(p: Param, value: Any, where: str) -> Any:
    kind = p.kind
    name = where + p.name
    if kind == "str":
        if not isinstance(value, str):
            raise ValidationError(name, f"must be a string, got {type(value).__name__}")
        if p.choices and value not in p.choices:
            raise ValidationError(name, f"must be one of {', '.join(p.choices)}; got {value!r}")
        if p.max_len is not None and len(value) > p.max_len:
            raise ValidationError(name, f"must be at most {p.max_len} characters, got {len(value)}")
        if p.pattern is not None:
            rx = _patterns.get(p.pattern)
            if rx is None:
                rx = _patterns[p.pattern] = re.compile(p.pattern)
            if not rx.fullmatch(value):
                raise ValidationError(
                    name, f"{p.pattern_text or 'has an invalid format'}; got {value!r}"
                )
        if p.required and not value:
            raise ValidationError(name, "must not be empty")
        return value
    if kind == "dec":
        return decimal_text(value, name, p.positive)
    if kind == "int":
        if isinstance(value, bool):
            raise ValidationError(name, f"must be an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise ValidationError(name, f"must be an integer, got {value!r}")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise ValidationError(name, f"must be a bool, got {value!r}")
    if kind == "list":
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, Mapping) for x in value):
            raise ValidationError(name, "must be a list of objects")
        return [dict(x) for x in value]
    if kind == "strlist":
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
            raise ValidationError(name, "must be a list of strings")
        return list(value)
    if kind == "obj":
        if not isinstance(value, Mapping):
            raise ValidationError(name, "must be an object")
        return dict(value)
    raise AssertionError(f"unknown kind {kind}")  # pragma: no cover


def validate_item(
    op: Operation,
    params: Mapping[str, Any],
    where: str = "",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check and normalise one item's fields; ``None`` values count as absent."""
    fields = op.fields
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        p = fields.get(key)
        if p is None:
            raise ValidationError(
                where + key, f"is not a field of {op.op}; pass unlisted fields in extra_params"
            )
        out[key] = _check(p, value, where)
    for p in op.params:
        if p.required and p.name not in out:
            raise ValidationError(where + p.name, f"is required by {op.op}")
    for group in op.one_of:
        if not any(g in out for g in group):
            raise ValidationError(where + group[0], f"{op.op} needs one of {', '.join(group)}")
    for group in op.exclusive:
        present = [g for g in group if g in out]
        if len(present) > 1:
            raise ValidationError(where + present[1], f"give only one of {', '.join(group)}")
    for key, values, needed in op.required_if:
        # An empty ``values`` means "whenever ``key`` is given".
        if key in out and (not values or out[key] in values) and not any(n in out for n in needed):
            when = f"{key} is given" if not values else f"{key} is {out[key]!r}"
            raise ValidationError(where + needed[0], f"is required when {when}")
    if extra:
        for key, value in extra.items():
            if key in out:
                raise ValidationError(where + key, "given both as an argument and in extra_params")
            out[key] = value
    return out


def validate_batch(op: Operation, items: Any) -> list[dict[str, Any]]:
    name = op.collection
    if isinstance(items, Mapping) or not isinstance(items, Sequence) or isinstance(items, str):
        raise ValidationError(name, "must be a list of order objects")
    if not items:
        raise ValidationError(name, "must hold at least one item")
    if len(items) > op.max_items:
        raise ValidationError(
            name, f"holds {len(items)} items; {op.op} takes at most {op.max_items}"
        )
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ValidationError(f"{name}[{i}]", "must be an object (dict)")
        out.append(validate_item(op, item, f"{name}[{i}]."))
    return out


def check_extra_names(extra: Mapping[str, Any] | None) -> None:
    if extra is None:
        return
    if not isinstance(extra, Mapping):
        raise ValidationError("extra_params", "must be a dict")
    for key in extra:
        if not isinstance(key, str) or not key:
            raise ValidationError("extra_params", f"keys must be non-empty strings, got {key!r}")
