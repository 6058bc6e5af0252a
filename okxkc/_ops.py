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
    "conditional_rules",
    "decimal_text",
    "int_bounds",
    "rules_expression",
    "use_checks",
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


#: A generated check: true when the fields can be sent as they are (no full checks needed).
FastCheck = Callable[[Mapping[str, Any]], bool]

# (field, values, fields): see Operation.required_if / required_unless.
Condition = tuple[str, tuple[Any, ...], tuple[str, ...]]


# The canonical decimal form needs no normalisation; the positive ones have a digit > 0.
_CANON_DEC = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_CANON_POSITIVE = re.compile(r"[0-9]*[1-9][0-9]*(?:\.[0-9]+)?|[0-9]+\.[0-9]*[1-9][0-9]*")

# Module constants: a member lookup on the Enum class costs more than a global's.
_K_STR, _K_DEC, _K_INT, _K_BOOL = Kind.STR, Kind.DEC, Kind.INT, Kind.BOOL
_K_LIST, _K_STRLIST, _K_OBJ = Kind.LIST, Kind.STRLIST, Kind.OBJ


@attrs.frozen
class Param:
    """One request field, named exactly as the exchange names it, and its rules.

    ``list`` and ``obj`` contents are free-form but must be JSON: string keys, no
    cycles, floats and Decimals sent as decimal strings. ``items`` lists the fields
    of each object of a ``list`` field: those are checked, others pass as JSON.
    """

    name: str
    kind: Kind = attrs.field(default=Kind.STR, converter=Kind)
    required: bool = False
    choices: tuple[str, ...] = ()
    max_len: int | None = None
    pattern: str | None = None
    pattern_text: str = ""
    positive: bool = False  # ``dec`` / ``int``: greater than 0
    min: int | Decimal | None = None  # ``dec`` / ``int``: inclusive bounds
    max: int | Decimal | None = None
    integral: bool = False  # ``dec``: a whole number
    # The value the exchange assumes when the field is absent; conditional rules
    # (``required_if`` / ``required_unless``) read it for a missing field.
    default: Any = None
    items: tuple[Param, ...] = ()
    doc: str = ""
    source: str = ""  # where a rule that is not plain from the field's doc comes from

    def rule_text(self) -> str:
        """The field's value rules in words ("" when it has none beyond its kind)."""
        parts = []
        if self.positive:
            parts.append("> 0")
        if self.min is not None:
            parts.append(f">= {self.min}")
        if self.max is not None:
            parts.append(f"<= {self.max}")
        if self.integral:
            parts.append("whole")
        if self.pattern is not None and self.pattern_text:
            parts.append(self.pattern_text.removeprefix("must be "))
        elif self.max_len is not None:
            parts.append(f"at most {self.max_len} characters")
        return f"{self.name} {', '.join(parts)}" if parts else ""


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
    # (field, values, needed): when ``field`` (or its default, when absent) is one of
    # ``values`` -- or, with no values, whenever ``field`` is given -- one of
    # ``needed`` is required.
    required_if: tuple[Condition, ...] = ()
    # (field, values, needed): one of ``needed`` is required unless ``field`` (or its
    # default) is one of ``values``.
    required_unless: tuple[Condition, ...] = ()
    # Batch: fields whose values must differ between the items of one request.
    unique: tuple[str, ...] = ()
    exp_time: bool = False  # OKX: accepts a request expiry
    needs_instrument_code: bool = False  # OKX: instId -> instIdCode
    collection: str = "orders"  # argument name of a batch method
    result_is_list: bool = False  # the reply's data is a list even though args is one object
    # Derived from the above, for the validator's fast path.
    fields: Mapping[str, Param] = attrs.field(init=False, repr=False, eq=False)
    _required: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)
    _choices: Mapping[str, frozenset[str]] = attrs.field(init=False, repr=False, eq=False)
    # Decimal fields without bounds -> the pattern of their canonical valid strings;
    # integer fields -> (low, high).
    _dec: Mapping[str, re.Pattern[str]] = attrs.field(init=False, repr=False, eq=False)
    _ints: Mapping[str, tuple[int, int]] = attrs.field(init=False, repr=False, eq=False)
    _rules_hold: Callable[[dict[str, Any]], bool] = attrs.field(init=False, repr=False, eq=False)
    # The op's generated check (``okxkc/<exchange>/_checks.py``), set by use_checks.
    fast_check: FastCheck | None = attrs.field(init=False, default=None, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        params = self.params
        derived: dict[str, Any] = {
            "fields": {p.name: p for p in params},
            "_required": tuple(p.name for p in params if p.required),
            "_choices": {p.name: frozenset(p.choices) for p in params if p.choices},
            "_dec": {
                p.name: _CANON_POSITIVE if p.positive else _CANON_DEC
                for p in params
                if p.kind is Kind.DEC and p.min is None and p.max is None and not p.integral
            },
            "_ints": {p.name: int_bounds(p) for p in params if p.kind is Kind.INT},
        }
        for key, value in derived.items():
            object.__setattr__(self, key, value)
        named = {n for group in (*self.one_of, *self.exclusive, self.unique) for n in group}
        for key, _values, needed in (*self.required_if, *self.required_unless):
            named |= {key, *needed}
        unknown = named - self.fields.keys()
        if unknown:
            raise ValueError(f"{self.op}: a rule names unknown fields {sorted(unknown)}")
        object.__setattr__(self, "_rules_hold", _compile_rules(self))

    def default_of(self, name: str) -> Any:
        p = self.fields.get(name)
        return None if p is None else p.default

    def rule_notes(self) -> list[str]:
        """The op's rules in words, one sentence each (for docstrings and help)."""
        notes = [f"Required: {', '.join(self._required)}."] if self._required else []
        notes += [f"At least one of: {', '.join(g)}." for g in self.one_of]
        notes += [f"At most one of: {', '.join(g)}." for g in self.exclusive]
        for key, values, needed in self.required_if:
            when = f"{key} is given" if not values else f"{key} is {_values(values)}"
            if values and self.default_of(key) in values:
                when += " (the default)"
            notes.append(f"Needs {_names(needed)} when {when}.")
        for key, values, needed in self.required_unless:
            notes.append(f"Needs {_names(needed)} unless {key} is {_values(values)}.")
        if self.unique:
            notes.append(f"Each item needs its own {', '.join(self.unique)}.")
        limits = [t for t in (p.rule_text() for p in self.params) if t]
        if limits:
            notes.append(f"Limits: {'; '.join(limits)}.")
        return notes


def use_checks(ops: Sequence[Operation], checks: Mapping[str, FastCheck]) -> None:
    """Give each op its generated check (by method name); ``validate_item`` tries it first."""
    for op in ops:
        object.__setattr__(op, "fast_check", checks.get(op.method))


def _names(fields: Sequence[str]) -> str:
    return fields[0] if len(fields) == 1 else f"one of {', '.join(fields)}"


def _values(values: Sequence[Any]) -> str:
    shown = [repr(v) for v in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def int_bounds(p: Param) -> tuple[int, int]:
    """The inclusive range of an ``int`` field's accepted values."""
    low, high = _INT_MIN, _INT_MAX
    if p.positive:
        low = 1
    if p.min is not None:
        low = max(low, math.ceil(p.min))
    if p.max is not None:
        high = min(high, math.floor(p.max))
    return low, high


def _literal(value: Any) -> str:
    """``value`` as Python source (the rules hold only such constants)."""
    if value is None or isinstance(value, (str, bool, int)):
        return repr(value)
    if isinstance(value, tuple):
        for v in value:
            _literal(v)
        return repr(value)
    raise ValueError(f"a rule value must be a str, bool, int or None, got {value!r}")


def rules_expression(op: Operation) -> str:
    """One Python expression over ``out`` (the checked fields) that is true when every
    presence rule of ``op`` holds.

    ``validate_item`` compiles it and checks it first, walking the rules one by one (to
    name the field) only when it is false; ``tools/generate.py`` writes the same
    expression into each operation's generated check. Built from the operation table's
    field names and constants, never from user input.
    """
    conds = [f"{name!r} in out" for name in (p.name for p in op.params if p.required)]
    conds += ["(" + " or ".join(f"{g!r} in out" for g in group) + ")" for group in op.one_of]
    conds += [
        "(" + " + ".join(f"({g!r} in out)" for g in group) + ") <= 1" for group in op.exclusive
    ]
    conds += conditional_rules(op)
    return " and ".join(conds) or "True"


def conditional_rules(op: Operation) -> list[str]:
    """The part of :func:`rules_expression` that depends on values: ``required_if`` and
    ``required_unless``, one expression over ``out`` each (the generated checks count
    required fields and groups as they walk them, and test these at the end)."""
    conds: list[str] = []
    # The needed fields first: they are usually there, and that ends the test.
    for key, values, needed in op.required_if:
        need = " or ".join(f"{n!r} in out" for n in needed)
        if not values:
            conds.append(f"({need} or {key!r} not in out)")
        elif op.default_of(key) is None:
            conds.append(
                f"({need} or {key!r} not in out or out[{key!r}] not in {_literal(tuple(values))})"
            )
        else:
            default = _literal(op.default_of(key))
            conds.append(
                f"({need} or out.get({key!r}, {default}) not in {_literal(tuple(values))})"
            )
    for key, values, needed in op.required_unless:
        need = " or ".join(f"{n!r} in out" for n in needed)
        default = _literal(op.default_of(key))
        conds.append(f"({need} or out.get({key!r}, {default}) in {_literal(tuple(values))})")
    return conds


def _compile_rules(op: Operation) -> Callable[[dict[str, Any]], bool]:
    source = f"def rules_hold(out):\n    return {rules_expression(op)}\n"
    namespace: dict[str, Any] = {}
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


def _check_range(p: Param, n: int | Decimal, name: str, value: Any) -> None:
    if p.min is not None and n < p.min:
        raise ValidationError(name, f"must be at least {p.min}, got {_show(value)}")
    if p.max is not None and n > p.max:
        raise ValidationError(name, f"must be at most {p.max}, got {_show(value)}")
    if p.integral and isinstance(n, Decimal) and n != n.to_integral_value():
        raise ValidationError(name, f"must be a whole number, got {_show(value)}")


def _check_object(p: Param, value: Mapping[Any, Any], where: str) -> dict[str, Any]:
    """One object of a ``list`` field with listed ``items``: those fields are checked
    (and the required ones demanded), any others pass on as JSON."""
    listed = {ip.name: ip for ip in p.items}
    out: dict[str, Any] = {}
    for key, item in value.items():
        if item is None:
            continue
        ip = listed.get(key) if isinstance(key, str) else None
        if ip is not None:
            out[key] = _check(ip, item, where)
        else:
            out.update(_json_object({key: item}, where[:-1], "", 1))
    for ip in p.items:
        if ip.required and ip.name not in out:
            raise ValidationError(where + ip.name, "is required")
    return out


def _check(p: Param, value: Any, where: str) -> Any:
    kind = p.kind
    name = where + p.name
    if kind is _K_STR:
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
    if kind is _K_DEC:
        text = decimal_text(value, name, p.positive)
        if p.min is not None or p.max is not None or p.integral:
            _check_range(p, Decimal(text), name, value)
        return text
    if kind is _K_INT:
        n = _int(value, name)
        if p.positive and n <= 0:
            raise ValidationError(name, f"must be greater than 0, got {_show(value)}")
        _check_range(p, n, name, value)
        return n
    if kind is _K_BOOL:
        if value is True or value is False:
            return value
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        raise ValidationError(name, f"must be a bool, got {_show(value)}")
    if kind is _K_LIST:
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, Mapping) for x in value):
            raise ValidationError(name, "must be a list of objects")
        if p.items:
            return [_check_object(p, x, f"{name}[{i}].") for i, x in enumerate(value)]
        return [_json_object(x, name, f"[{i}]", 1) for i, x in enumerate(value)]
    if kind is _K_STRLIST:
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
            raise ValidationError(name, "must be a list of strings")
        for x in value:
            _check_text(x, name)
        return list(value)
    if kind is _K_OBJ:
        if not isinstance(value, Mapping):
            raise ValidationError(name, "must be an object")
        return _json_object(value, name, "", 1)
    raise AssertionError(f"unknown kind {kind}")  # pragma: no cover


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
    fast = op.fast_check
    if fast is not None and extra is None and fast(params):
        # The generated straight-line check: the whole job when every value is already
        # in its sent form; otherwise the walk below does every check.
        return dict(params)
    fields = op.fields
    choices_of = op._choices.get
    decimal_form = op._dec.get
    int_bounds = op._ints.get
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
            form = decimal_form(key)
            if form is not None and len(value) <= MAX_DECIMAL_LEN and form.fullmatch(value):
                out[key] = value
                continue
        elif type(value) is int:
            bounds = int_bounds(key)
            if bounds is not None and bounds[0] <= value <= bounds[1]:
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
        if any(n in out for n in needed):
            continue
        if not values:  # "whenever ``key`` is given"
            if key in out:
                raise ValidationError(where + needed[0], _needs(op, needed, f"when {key} is given"))
            continue
        value = out.get(key, op.default_of(key))
        if value in values:
            when = f"when {key} is {value!r}" + ("" if key in out else " (the default)")
            raise ValidationError(where + needed[0], _needs(op, needed, when))
    for key, values, needed in op.required_unless:
        if out.get(key, op.default_of(key)) not in values and not any(n in out for n in needed):
            raise ValidationError(
                where + needed[0], _needs(op, needed, f"unless {key} is {_values(values)}")
            )
    return out


def _needs(op: Operation, needed: Sequence[str], condition: str) -> str:
    if len(needed) == 1:
        return f"is required {condition}"
    return f"{op.op} needs one of {', '.join(needed)} {condition}"


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
    for field in op.unique:
        seen: dict[Any, int] = {}
        for i, item in enumerate(out):
            value = item.get(field)
            if value is None:
                continue
            if value in seen:
                raise ValidationError(
                    f"{name}[{i}].{field}",
                    f"repeats {name}[{seen[value]}].{field} ({_show(value)}); "
                    "each item needs its own",
                )
            seen[value] = i
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
