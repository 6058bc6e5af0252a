"""Operation tables: the one source of truth for every exchange op.

Each exchange's ``operations.py`` is a tuple of :class:`Operation` rows. The
generator (``tools/generate.py``) writes both facades from them, and the
validator here checks a call's arguments against the same rows before anything
is sent, raising :class:`~okxkc.errors.ValidationError` that names the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any

import attrs

from .errors import ValidationError

__all__ = [
    "MAX_DECIMAL_LEN",
    "Kind",
    "Operation",
    "Param",
    "check_extra_names",
    "decimal_text",
    "validate_batch",
    "validate_item",
]

# ASCII only: ``\d`` would let "٣" or "²" through as a "decimal".
_DEC = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?")
_INT = re.compile(r"[+-]?[0-9]{1,19}")
# A decimal string longer than this is refused (no price or size is that long, and it
# bounds the work ``format(Decimal("1e999999999"), "f")`` would otherwise do).
MAX_DECIMAL_LEN = 100
# Integers are sent as JSON numbers: both exchanges read them as signed 64-bit.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
# Nesting allowed inside ``list`` / ``obj`` fields and ``extra_params`` values.
_MAX_DEPTH = 8


class Kind(str, Enum):
    """What a request field holds, and so how it is checked and sent.

    Members are ``str`` values: ``Kind.DEC == "dec"``.
    """

    STR = "str"  #: text
    DEC = "dec"  #: a number, sent as an exact decimal string
    INT = "int"  #: a signed 64-bit integer, sent as a JSON number
    BOOL = "bool"  #: true / false
    LIST = "list"  #: a list of JSON objects
    STRLIST = "strlist"  #: a list of strings
    OBJ = "obj"  #: a JSON object

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class Param:
    """One request field, named exactly as the exchange names it.

    ``list`` and ``obj`` contents are free-form but must be JSON: string keys, no
    cycles, floats and Decimals sent as decimal strings.
    """

    name: str
    kind: Kind = attrs.field(default=Kind.STR, converter=Kind)
    required: bool = False
    choices: tuple[str, ...] = ()
    max_len: int | None = None
    pattern: str | None = None
    pattern_text: str = ""
    positive: bool = False
    doc: str = ""


@attrs.frozen
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
    # Derived from the above, for the validator's fast path.
    fields: Mapping[str, Param] = attrs.field(init=False, repr=False, eq=False)
    _required: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)
    _choices: Mapping[str, frozenset[str]] = attrs.field(init=False, repr=False, eq=False)
    _dec: Mapping[str, bool] = attrs.field(init=False, repr=False, eq=False)
    _ints: frozenset[str] = attrs.field(init=False, repr=False, eq=False)
    _rules_hold: Callable[[dict[str, Any]], bool] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        params = self.params
        derived: dict[str, Any] = {
            "fields": {p.name: p for p in params},
            "_required": tuple(p.name for p in params if p.required),
            "_choices": {p.name: frozenset(p.choices) for p in params if p.choices},
            "_dec": {p.name: p.positive for p in params if p.kind is Kind.DEC},
            "_ints": frozenset(p.name for p in params if p.kind is Kind.INT),
        }
        for key, value in derived.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_rules_hold", _compile_rules(self))


def _compile_rules(op: Operation) -> Callable[[dict[str, Any]], bool]:
    """One expression that is true when every presence rule of ``op`` holds.

    ``validate_item`` checks it first and walks the rules one by one (to name the
    field) only when it is false. Built from the operation table's field names, never
    from user input.
    """
    conds = [f"{name!r} in out" for name in (p.name for p in op.params if p.required)]
    conds += ["(" + " or ".join(f"{g!r} in out" for g in group) + ")" for group in op.one_of]
    conds += [
        "(" + " + ".join(f"({g!r} in out)" for g in group) + ") <= 1" for group in op.exclusive
    ]
    namespace: dict[str, Any] = {}
    for i, (key, values, needed) in enumerate(op.required_if):
        need = " or ".join(f"{n!r} in out" for n in needed)
        if values:
            namespace[f"_values{i}"] = tuple(values)
            conds.append(f"({key!r} not in out or out[{key!r}] not in _values{i} or {need})")
        else:
            conds.append(f"({key!r} not in out or {need})")
    source = "def rules_hold(out):\n    return " + (" and ".join(conds) or "True") + "\n"
    exec(compile(source, f"<okxkc rules of {op.op}>", "exec"), namespace)
    return namespace["rules_hold"]  # type: ignore[no-any-return]


def _show(value: Any) -> str:
    """A short repr for messages: a megabyte of user input must not become the message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_text(value: str, name: str) -> None:
    # A lone surrogate is a valid ``str`` but cannot be sent as UTF-8 JSON.
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(name, "must be valid Unicode text (no lone surrogates)") from None


def _decimal_str(value: str, name: str) -> str:
    text = value.strip()
    m = _DEC.fullmatch(text) if len(text) <= MAX_DECIMAL_LEN + 1 else None
    if m is None or not (m.group(2) or m.group(3)):
        if m is None and len(text) > MAX_DECIMAL_LEN + 1 and _DEC.fullmatch(text[:64]):
            raise ValidationError(name, f"is too long ({len(text)} characters)")
        raise ValidationError(name, f"must be a decimal number, got {_show(value)}")
    sign, whole, frac = m.groups()
    # The exchanges' grammar is -?digits(.digits)?: "1." -> "1", ".5" -> "0.5", "+2" -> "2".
    out = ("-" if sign == "-" else "") + (whole or "0")
    return out + "." + frac if frac else out


def decimal_text(value: Any, name: str, positive: bool = False) -> str:
    """``value`` as an exact decimal string: never scientific notation, never a bool.

    Accepts ``str`` (ASCII digits), ``int``, ``Decimal`` and ``float`` (by its shortest
    repr); the result matches ``-?[0-9]+(\\.[0-9]+)?`` and is at most
    :data:`MAX_DECIMAL_LEN` characters long.
    """
    if isinstance(value, str):
        text = _decimal_str(value, name)
    elif isinstance(value, bool):
        raise ValidationError(name, f"must be a decimal number, got {value!r}")
    elif isinstance(value, int):
        # Checked before str(): str() of a huge int is slow or refused by Python.
        if value.bit_length() > 3 * MAX_DECIMAL_LEN:
            raise ValidationError(name, "is out of range")
        text = str(int(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(name, f"must be a finite number, got {value!r}")
        # Checked before format(): Decimal("1e999999999") would be a gigabyte of zeros.
        if value and not -MAX_DECIMAL_LEN < value.adjusted() < MAX_DECIMAL_LEN:
            raise ValidationError(name, f"is out of range, got {_show(value)}")
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
    if len(text) > MAX_DECIMAL_LEN:
        raise ValidationError(name, f"is out of range ({len(text)} digits), got {_show(value)}")
    if positive and Decimal(text) <= 0:
        raise ValidationError(name, f"must be greater than 0, got {_show(value)}")
    return text


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(name, f"must be an integer, got {value!r}")
    if isinstance(value, int):
        n = int(value)
    elif isinstance(value, str) and _INT.fullmatch(value.strip()):
        n = int(value.strip())
    else:
        raise ValidationError(name, f"must be an integer, got {_show(value)}")
    if not _INT_MIN <= n <= _INT_MAX:
        raise ValidationError(name, "is out of range (a signed 64-bit integer)")
    return n


def _json_value(value: Any, name: str, path: str, depth: int) -> Any:
    """A JSON-ready copy of free-form input; numbers other than ints become decimal strings."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        _check_text(value, name)
        return value
    try:
        if isinstance(value, int):
            return _int(value, name)
        if isinstance(value, (float, Decimal)):
            return decimal_text(value, name)
    except ValidationError as exc:
        raise ValidationError(name, f"{path or 'value'} {exc.reason}") from None
    if depth >= _MAX_DEPTH:
        raise ValidationError(name, f"is nested more than {_MAX_DEPTH} levels deep")
    if isinstance(value, Mapping):
        return _json_object(value, name, path, depth + 1)
    if isinstance(value, (list, tuple)):
        return [_json_value(x, name, f"{path}[{i}]", depth + 1) for i, x in enumerate(value)]
    raise ValidationError(
        name, f"{path or 'value'} has type {type(value).__name__}, which cannot be sent as JSON"
    )


def _json_object(value: Mapping[Any, Any], name: str, path: str, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValidationError(
                name, f"{path or 'object'} has a key that is not a string: {key!r}"
            )
        _check_text(key, name)
        if item is not None:  # as at the top level, None counts as absent
            out[key] = _json_value(item, name, f"{path}.{key}" if path else key, depth)
    return out


_patterns: dict[str, re.Pattern[str]] = {}


def _check(p: Param, value: Any, where: str) -> Any:
    kind = p.kind
    name = where + p.name
    if kind is Kind.STR:
        if not isinstance(value, str):
            raise ValidationError(name, f"must be a string, got {type(value).__name__}")
        if p.choices and value not in p.choices:
            raise ValidationError(
                name, f"must be one of {', '.join(p.choices)}; got {_show(value)}"
            )
        if p.max_len is not None and len(value) > p.max_len:
            raise ValidationError(name, f"must be at most {p.max_len} characters, got {len(value)}")
        if p.pattern is not None:
            rx = _patterns.get(p.pattern)
            if rx is None:
                rx = _patterns[p.pattern] = re.compile(p.pattern)
            if not rx.fullmatch(value):
                raise ValidationError(
                    name, f"{p.pattern_text or 'has an invalid format'}; got {_show(value)}"
                )
        if p.required and not value:
            raise ValidationError(name, "must not be empty")
        _check_text(value, name)
        return value
    if kind is Kind.DEC:
        return decimal_text(value, name, p.positive)
    if kind is Kind.INT:
        return _int(value, name)
    if kind is Kind.BOOL:
        if value is True or value is False:
            return value
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        raise ValidationError(name, f"must be a bool, got {_show(value)}")
    if kind is Kind.LIST:
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, Mapping) for x in value):
            raise ValidationError(name, "must be a list of objects")
        return [_json_object(x, name, f"[{i}]", 1) for i, x in enumerate(value)]
    if kind is Kind.STRLIST:
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
            raise ValidationError(name, "must be a list of strings")
        for x in value:
            _check_text(x, name)
        return list(value)
    if kind is Kind.OBJ:
        if not isinstance(value, Mapping):
            raise ValidationError(name, "must be an object")
        return _json_object(value, name, "", 1)
    raise AssertionError(f"unknown kind {kind}")  # pragma: no cover


# the canonical decimal form needs no normalisation.
_CANON_DEC = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def validate_item(
    op: Operation,
    params: Mapping[str, Any],
    where: str = "",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check and normalise one item's fields; ``None`` values count as absent.

    ``extra`` (``extra_params``) adds fields the table does not list, passed on as
    JSON; a listed field given there is checked like an argument.
    """
    fields = op.fields
    choices_of = op._choices.get
    decimal_sign = op._dec.get
    ints = op._ints
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        # Fast paths: enumerations, canonical decimal strings, 64-bit ints. Only listed
        # fields (non-empty strings) take them; anything else gets the full checks.
        if type(value) is str:
            choices = choices_of(key)
            if choices is not None and value in choices:
                out[key] = value
                continue
            positive = decimal_sign(key)
            if (
                positive is not None
                and len(value) <= MAX_DECIMAL_LEN
                and _CANON_DEC.fullmatch(value)
                and (not positive or value.strip("0.") != "")
            ):
                out[key] = value
                continue
        elif type(value) is int and key in ints and _INT_MIN <= value <= _INT_MAX:
            out[key] = value
            continue
        if not isinstance(key, str) or not key:
            raise ValidationError(
                where[:-1] or "params", f"field names must be non-empty strings, got {_show(key)}"
            )
        p = fields.get(key)
        if p is None:
            hint = "" if op.batch else "; pass unlisted fields in extra_params"
            raise ValidationError(where + key, f"is not a field of {op.op}{hint}")
        out[key] = _check(p, value, where)
    if extra:
        for key, value in extra.items():
            if key in out:
                raise ValidationError(where + key, "given both as an argument and in extra_params")
            if value is None:
                continue
            p = fields.get(key)
            if p is not None:
                out[key] = _check(p, value, where)
            else:
                out[key] = _json_value(value, f"extra_params[{key!r}]", "", 0)
    if op._rules_hold(out):
        return out
    # Some rule is broken: find the first one, to name its field.
    for name in op._required:
        if name not in out:
            raise ValidationError(where + name, f"is required by {op.op}")
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
    return out


def validate_batch(op: Operation, items: Any) -> list[dict[str, Any]]:
    name = op.collection
    if isinstance(items, (Mapping, str, bytes, bytearray)) or not isinstance(items, Sequence):
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
            raise ValidationError(
                "extra_params", f"keys must be non-empty strings, got {_show(key)}"
            )
        _check_text(key, "extra_params")
