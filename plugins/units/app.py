"""A units converter: a Berth plugin written with the Python SDK."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal, Optional

from berth_sdk import Completions, ResourceError, ToolError, completion, prompt, resource_template, tool

Kind = Literal["length", "mass", "temperature", "volume", "time", "data"]

# kind -> unit symbol -> (factor to the base unit, names and aliases). Base units: metre,
# kilogram, kelvin (temperature is affine, handled apart), litre, second, byte.
UNITS: dict[str, dict[str, tuple[float, tuple[str, ...]]]] = {
    "length": {
        "mm": (0.001, ("millimetre", "millimeter", "millimetres", "millimeters")),
        "cm": (0.01, ("centimetre", "centimeter", "centimetres", "centimeters")),
        "m": (1.0, ("metre", "meter", "metres", "meters")),
        "km": (1000.0, ("kilometre", "kilometer", "kilometres", "kilometers")),
        "in": (0.0254, ("inch", "inches")),
        "ft": (0.3048, ("foot", "feet")),
        "yd": (0.9144, ("yard", "yards")),
        "mi": (1609.344, ("mile", "miles")),
        "nmi": (1852.0, ("nautical mile", "nautical miles")),
    },
    "mass": {
        "mg": (1e-6, ("milligram", "milligrams")),
        "g": (0.001, ("gram", "grams")),
        "kg": (1.0, ("kilogram", "kilograms")),
        "t": (1000.0, ("tonne", "tonnes", "metric ton")),
        "oz": (0.028349523125, ("ounce", "ounces")),
        "lb": (0.45359237, ("pound", "pounds", "lbs")),
        "st": (6.35029318, ("stone", "stones")),
    },
    "temperature": {
        "C": (1.0, ("celsius", "°c", "degc")),
        "F": (1.0, ("fahrenheit", "°f", "degf")),
        "K": (1.0, ("kelvin", "kelvins")),
    },
    "volume": {
        "ml": (0.001, ("millilitre", "milliliter", "millilitres", "milliliters")),
        "l": (1.0, ("litre", "liter", "litres", "liters")),
        "m3": (1000.0, ("cubic metre", "cubic meter", "m^3")),
        "tsp": (0.00492892159375, ("teaspoon", "teaspoons")),
        "tbsp": (0.01478676478125, ("tablespoon", "tablespoons")),
        "floz": (0.0295735295625, ("fluid ounce", "fluid ounces", "fl oz")),
        "cup": (0.2365882365, ("cups",)),
        "pt": (0.473176473, ("pint", "pints")),
        "qt": (0.946352946, ("quart", "quarts")),
        "gal": (3.785411784, ("gallon", "gallons")),
    },
    "time": {
        "ms": (0.001, ("millisecond", "milliseconds")),
        "s": (1.0, ("second", "seconds", "sec")),
        "min": (60.0, ("minute", "minutes")),
        "h": (3600.0, ("hour", "hours", "hr")),
        "d": (86400.0, ("day", "days")),
        "wk": (604800.0, ("week", "weeks")),
        "yr": (31557600.0, ("year", "years", "julian year")),
    },
    "data": {
        "bit": (0.125, ("bits",)),
        "B": (1.0, ("byte", "bytes")),
        "kB": (1e3, ("kilobyte", "kilobytes", "kb")),
        "MB": (1e6, ("megabyte", "megabytes", "mb")),
        "GB": (1e9, ("gigabyte", "gigabytes", "gb")),
        "TB": (1e12, ("terabyte", "terabytes", "tb")),
        "KiB": (1024.0, ("kibibyte", "kibibytes", "kib")),
        "MiB": (1024.0 ** 2, ("mebibyte", "mebibytes", "mib")),
        "GiB": (1024.0 ** 3, ("gibibyte", "gibibytes", "gib")),
        "TiB": (1024.0 ** 4, ("tebibyte", "tebibytes", "tib")),
    },
}

# Every spelling -> (kind, symbol). Symbols are matched exactly first (MB vs mb differ
# only in case for data sizes, so exact symbols win), then case-insensitively.
_EXACT: dict[str, tuple[str, str]] = {}
_FOLDED: dict[str, tuple[str, str]] = {}
for _kind, _table in UNITS.items():
    for _symbol, (_factor, _names) in _table.items():
        _EXACT[_symbol] = (_kind, _symbol)
        for _spelling in (_symbol, *_names):
            _FOLDED.setdefault(_spelling.lower(), (_kind, _symbol))


def _lookup(unit: str, role: str) -> tuple[str, str]:
    text = unit.strip()
    found = _EXACT.get(text) or _FOLDED.get(text.lower())
    if found:
        return found
    close = difflib.get_close_matches(text.lower(), list(_FOLDED), n=4, cutoff=0.6)
    symbols = []
    for spelling in close:
        symbol = _FOLDED[spelling][1]
        if symbol not in symbols:
            symbols.append(symbol)
    hint = f" Did you mean: {', '.join(symbols)}?" if symbols else ""
    raise ToolError(f"Unknown {role} unit `{unit}`.{hint} Call `units` to list the units "
                    f"of each kind.")


def _to_kelvin(value: float, symbol: str) -> float:
    if symbol == "C":
        return value + 273.15
    if symbol == "F":
        return (value - 32.0) * 5.0 / 9.0 + 273.15
    return value


def _from_kelvin(value: float, symbol: str) -> float:
    if symbol == "C":
        return value - 273.15
    if symbol == "F":
        return (value - 273.15) * 9.0 / 5.0 + 32.0
    return value


@dataclass
class Conversion:
    """The result of a conversion.

    Attributes:
        value: The value converted.
        from_unit: The unit it was in (canonical symbol).
        result: The converted value.
        to_unit: The unit it is now in (canonical symbol).
        kind: What is measured.
        text: The conversion as one line, e.g. `1 mi = 1.609344 km`.
    """

    value: float
    from_unit: str
    result: float
    to_unit: str
    kind: str
    text: str


def _format(number: float) -> str:
    return f"{number:.10g}"


@tool(title="Convert units", read_only=True, idempotent=True)
def convert(value: float, from_unit: str, to_unit: str) -> Conversion:
    """Converts a value between units of the same kind: length, mass, temperature,
    volume, time or data size.

    Args:
        value: The number to convert.
        from_unit: The unit it is in, as a symbol or name (`mi`, `miles`, `°F`, `GiB`).
        to_unit: The unit to convert to, of the same kind.
    """
    from_kind, from_symbol = _lookup(from_unit, "source")
    to_kind, to_symbol = _lookup(to_unit, "target")
    if from_kind != to_kind:
        raise ToolError(
            f"Cannot convert {from_kind} (`{from_symbol}`) to {to_kind} (`{to_symbol}`): "
            f"both units must measure the same thing. {from_kind.capitalize()} units: "
            f"{', '.join(UNITS[from_kind])}.")
    if from_kind == "temperature":
        kelvin = _to_kelvin(value, from_symbol)
        if kelvin < 0:
            raise ToolError(f"{_format(value)} {from_symbol} is below absolute zero.")
        result = _from_kelvin(kelvin, to_symbol)
    else:
        table = UNITS[from_kind]
        result = value * table[from_symbol][0] / table[to_symbol][0]
    result = float(f"{result:.12g}")
    return Conversion(value, from_symbol, result, to_symbol, from_kind,
                      f"{_format(value)} {from_symbol} = {_format(result)} {to_symbol}")


@dataclass
class Unit:
    """One unit.

    Attributes:
        symbol: Its canonical symbol, accepted by `convert`.
        kind: What it measures.
        names: Other spellings `convert` accepts.
    """

    symbol: str
    kind: str
    names: list[str]


@dataclass
class UnitList:
    """Units, by kind.

    Attributes:
        units: The units, grouped by kind in a fixed order.
    """

    units: list[Unit]


@tool(title="List units", read_only=True, idempotent=True)
def units(kind: Optional[Kind] = None) -> UnitList:
    """Lists the units `convert` understands, of one kind or of all kinds.

    Args:
        kind: Only units of this kind (default: every kind).
    """
    kinds = [kind] if kind else list(UNITS)
    return UnitList([
        Unit(symbol, k, list(names))
        for k in kinds
        for symbol, (_, names) in UNITS[k].items()
    ])


@resource_template("units://kinds/{kind}", title="Units of a kind", mime_type="text/markdown")
def kind_table(kind: str) -> str:
    """A Markdown table of the units of one kind (length, mass, temperature, volume, time,
    data)."""
    if kind not in UNITS:
        raise ResourceError.not_found(
            f"no unit kind `{kind}`; kinds are {', '.join(UNITS)}")
    rows = [f"# {kind.capitalize()} units", "", "| symbol | names |", "|---|---|"]
    for symbol, (_, names) in UNITS[kind].items():
        rows.append(f"| `{symbol}` | {', '.join(names)} |")
    return "\n".join(rows) + "\n"


@completion(template="units://kinds/{kind}", argument="kind")
def kind_names(value: str) -> Completions:
    return Completions.matching(UNITS, value)


@prompt(title="Convert a recipe")
def convert_recipe(recipe: str, system: Optional[str] = None) -> str:
    """Asks the model to rewrite a recipe's quantities in another measurement system.

    Args:
        recipe: The recipe text, with its quantities.
        system: `metric` or `US customary` (default: metric).
    """
    target = system or "metric"
    return (f"Rewrite the quantities of this recipe in {target} units. Use the `units_convert` "
            f"tool for every conversion rather than converting in your head, and round "
            f"sensibly for cooking.\n\n{recipe}")


@completion(prompt="convert_recipe", argument="system")
def systems(value: str) -> Completions:
    return Completions.matching(["metric", "US customary", "imperial"], value)
