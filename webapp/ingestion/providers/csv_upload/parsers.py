"""Cell parsers for CSV columns: each turns the stripped, non-empty text of a cell into a
JSON-serialisable value, or raises `InvalidValue` with the reason a user reads after the
column name and value ("departure_date '2025-13-45' is not a date ...").

Each parser also says what it accepts (`parse.shape`, a `Shape`): templates and their
explanations read their allowed values from there, so a list shown to users is the list
the parser checks against and cannot drift from it."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any, NamedTuple


class InvalidValue(ValueError):
    """A cell's value is unusable; the message is the reason shown to the user."""


Parser = Callable[[str], Any]  # gets the stripped, non-empty cell; raises InvalidValue
# A parser may also read a whole column at once: `parse.many(values)` gets the stripped,
# non-empty cells of a batch and returns what `parse` would for each, or None when any of
# them needs a closer look (then `parse` reads them one by one and says what is wrong).
# Only the fast path of a column of unique values (notes, amounts, ids), where
# remembering cells cannot help: one C-level `map` instead of a Python call per cell.
ManyParser = Callable[[list[str]], "list[Any] | None"]


class Shape(NamedTuple):
    """What a parser accepts, for people (templates, their dropdowns and explanations).
    Never used to validate: the parser itself is the check."""

    kind: str = "text"  # text, code, number, integer, date or choice
    # A closed list: the canonical values, the only ones accepted (with their spellings).
    choices: tuple[str, ...] = ()
    # An open list: the usual values; any other value of the right form is accepted too.
    suggestions: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None  # for a code: its one length
    form: str = ""  # how a value is written, for a code: "3 letters, e.g. GVA"


def shape_of(parse: Parser) -> Shape:
    """What `parse` accepts; a parser that does not say takes any text."""
    return getattr(parse, "shape", Shape())


def _shaped(parse: Parser, shape: Shape) -> Parser:
    parse.shape = shape  # type: ignore[attr-defined]
    return parse


def _with_many(parse: Parser, many: ManyParser) -> Parser:
    parse.many = many  # type: ignore[attr-defined]
    return parse


def _within(numbers: list[Any], minimum: float | None, maximum: float | None) -> bool:
    return ((minimum is None or min(numbers) >= minimum)
            and (maximum is None or max(numbers) <= maximum))

# -- parsers --------------------------------------------------------------------------


def text(max_length: int = 255) -> Parser:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise InvalidValue(f"is longer than {max_length} characters")
        return value

    def many(values: list[str]) -> list[str] | None:
        return values if max(map(len, values)) <= max_length else None
    return _shaped(_with_many(parse, many), Shape("text", max_length=max_length))


def _bounds_reason(minimum: float | None, maximum: float | None) -> str:
    if minimum is None and maximum is None:
        return ""  # unbounded: never shown
    if minimum is not None and maximum is not None:
        return f"must be between {minimum:g} and {maximum:g}"
    if minimum == 0:
        return "must not be negative"
    if minimum is not None:
        return f"must be at least {minimum:g}"
    return f"must be at most {maximum:g}"


def integer(minimum: int | None = None, maximum: int | None = None) -> Parser:
    out_of_bounds = _bounds_reason(minimum, maximum)

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise InvalidValue("is not a whole number") from None
        if (minimum is not None and number < minimum) or (maximum is not None
                                                          and number > maximum):
            raise InvalidValue(out_of_bounds)
        return number

    def many(values: list[str]) -> list[int] | None:
        try:
            numbers = list(map(int, values))
        except ValueError:
            return None
        return numbers if _within(numbers, minimum, maximum) else None
    return _shaped(_with_many(parse, many), Shape("integer", minimum=minimum, maximum=maximum))


# A decimal comma ("0,5") is what Excel writes in French or German locales. "1,234" is
# ambiguous (1.234 or 1234?), so it is refused rather than guessed.
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")
_THOUSANDS_LIKE = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")


def number(minimum: float | None = None, maximum: float | None = None) -> Parser:
    out_of_bounds = _bounds_reason(minimum, maximum)

    def parse(value: str) -> float:
        if "," in value:
            if _THOUSANDS_LIKE.fullmatch(value):
                raise InvalidValue("is ambiguous: write decimals with a dot and no "
                                   "thousands separator")
            if not _DECIMAL_COMMA.fullmatch(value):
                raise InvalidValue("is not a number")
            value = value.replace(",", ".")
        try:
            result = float(value)
        except ValueError:
            raise InvalidValue("is not a number") from None
        if not math.isfinite(result):
            raise InvalidValue("is not a number")
        if (minimum is not None and result < minimum) or (maximum is not None
                                                          and result > maximum):
            raise InvalidValue(out_of_bounds)
        return result

    def many(values: list[str]) -> list[float] | None:
        try:  # a decimal comma fails here too, and gets parse()'s closer look
            numbers = list(map(float, values))
        except ValueError:
            return None
        if not all(map(math.isfinite, numbers)):
            return None
        return numbers if _within(numbers, minimum, maximum) else None
    return _shaped(_with_many(parse, many), Shape("number", minimum=minimum, maximum=maximum))


def fraction() -> Parser:
    """A share between 0 and 1, such as a full-time equivalent."""
    return number(0, 1)


_YES_NO = {"yes": True, "y": True, "true": True, "1": True,
           "no": False, "n": False, "false": False, "0": False}


def yes_no(value: str) -> bool:
    """A yes/no cell (yes, y, true, 1 / no, n, false, 0, in any case)."""
    try:
        return _YES_NO[value.lower()]
    except KeyError:
        raise InvalidValue("is not yes or no") from None


_shaped(yes_no, Shape("choice", choices=("yes", "no")))


def iso_date() -> Parser:
    def parse(value: str) -> str:
        # fromisoformat alone would also take "20250131" and week dates; CSV wants one form.
        try:
            if len(value) != 10 or value[4] != "-" or value[7] != "-":
                raise ValueError
            date.fromisoformat(value)  # checks the calendar; the text is already ISO
            return value
        except ValueError:
            raise InvalidValue("is not a date (expected YYYY-MM-DD)") from None
    return _shaped(parse, Shape("date", form="YYYY-MM-DD"))


def letter_code(length: int, what: str, example: str,
                known: frozenset[str] | None = None,
                usual: tuple[str, ...] = ()) -> Parser:
    """A code of `length` ASCII letters, uppercased; optionally one of `known`. `usual`
    codes are suggested to people (templates), not required."""
    reason = f"is not {what} (expected {length} letters, e.g. {example})"

    def parse(value: str) -> str:
        code = value.upper()
        if len(code) != length or not (code.isascii() and code.isalpha()):
            raise InvalidValue(reason)
        if known is not None and code not in known:
            raise InvalidValue(reason)
        return code
    return _shaped(parse, Shape("code", choices=tuple(sorted(known or ())), suggestions=usual,
                                max_length=length, form=f"{length} letters, e.g. {example}"))


# ISO 3166-1 alpha-2, plus XK (Kosovo), which rail and travel data use.
_COUNTRY_CODES_TEXT = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK
"""
COUNTRY_CODES = frozenset(_COUNTRY_CODES_TEXT.split())
USUAL_CURRENCIES = ("CHF", "EUR", "USD", "GBP", "JPY", "CNY", "CAD", "AUD", "SEK", "NOK",
                    "DKK")


def iata_code() -> Parser:
    return letter_code(3, "an IATA airport code", "GVA")


def country_code() -> Parser:
    return letter_code(2, "an ISO 3166 country code", "CH", COUNTRY_CODES)


def country_or_rest_of_world() -> Parser:
    """A train factor's country: an ISO code, or RoW for every other country."""
    country = country_code()

    def parse(value: str) -> str:
        if value.upper() == "ROW":
            return "RoW"
        try:
            return country(value)
        except InvalidValue:
            raise InvalidValue("is not an ISO 3166 country code or RoW (expected 2 "
                               "letters, e.g. CH)") from None
    return _shaped(parse, shape_of(country)._replace(
        choices=(*shape_of(country).choices, "RoW"), form="2 letters, e.g. CH, or RoW"))


def currency_code() -> Parser:
    # Shape only: a full ISO 4217 list would need upkeep and reject rare valid codes, so
    # templates suggest the usual ones and accept any other.
    return letter_code(3, "an ISO 4217 currency code", "CHF", usual=USUAL_CURRENCIES)


_ENUM_SEPARATORS = re.compile(r"[\s_\-]+")
_ENUM_NOISE = re.compile(r"^air | (class|classe|klasse)$")


def _enum_key(value: str) -> str:
    """Spelling-insensitive key: 'Business Class', 'AIR BUSINESS CLASS' -> 'business'."""
    key = _ENUM_SEPARATORS.sub(" ", value.lower()).strip(" .")
    return _ENUM_NOISE.sub("", key).strip(" .")


def choice(what: str, aliases: Mapping[str, Iterable[str]]) -> Parser:
    """One of the keys of `aliases`, also written as any of its spellings."""
    spellings = {_enum_key(canonical): canonical for canonical in aliases}
    for canonical, others in aliases.items():
        spellings.update((_enum_key(other), canonical) for other in others)
    names = list(aliases)
    expected = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
    reason = f"is not {what} (expected {expected})"

    def parse(value: str) -> str:
        try:
            return spellings[_enum_key(value)]
        except KeyError:
            raise InvalidValue(reason) from None
    return _shaped(parse, Shape("choice", choices=tuple(names)))


# One-letter codes are the IATA cabin codes (F, J/C, W, Y).
CABIN_CLASS = choice("a cabin class", {
    "economy": ("eco", "econ", "economic", "coach", "y"),
    "premium_economy": ("premium", "prem", "premium eco", "prem eco", "prem economy",
                        "economy premium", "eco premium", "w"),
    "business": ("bus", "biz", "c", "j"),
    "first": ("1st", "f"),
})
TRAIN_CLASS = choice("a train class", {
    "first": ("1", "1st", "1re", "1ère", "première", "premiere", "erste"),
    "second": ("2", "2nd", "2e", "2ème", "deuxième", "deuxieme", "seconde", "zweite"),
})
