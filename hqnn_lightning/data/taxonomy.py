"""One (make, model, year) label space for Stanford Cars and VMMRdb class names.

Stanford Cars names its classes ``"Make Model [Trim] BodyStyle Year"`` ("Ford F-150 Regular Cab
2012"), VMMRdb its folders ``make_model_year`` (``ford_f150_2012``, sometimes with spaces inside
the model: ``honda_civic ex_2005``). Both parse into a `CarLabel` by the same rules, and
its `key` (``ford_f150_2012``) is the merged class: two classes match when their
keys are equal.

Rules:

- Tokens (`canonical_tokens`): the name is lowercased; a hyphen between a letter and a
  digit is deleted ("F-150" -> ``f150``, "SRT-8" -> ``srt8``); every other run of characters
  that are neither letters nor digits separates tokens: spaces, underscores, hyphens, slashes,
  dots ("C-Class" -> ``c class``, "C/V" -> ``c v``, "16.4" -> ``16 4``, "Conv." -> ``conv``).
- Year: the last token, four digits in 1900-2100.
- Body style: the tokens in `BODY_STYLE_WORDS` are dropped wherever they stand after the
  first token ("Ram Pickup 3500 Crew Cab" -> ``ram 3500``), so Stanford's body styles of one
  model and year merge into one class; unless every token between the first and the year is
  one (VMMRdb's ``ford_club wagon`` keeps ``club wagon``).
- Make: the longest of `MULTI_WORD_MAKES` that the remaining tokens start with, else the
  first token. Model: the tokens after the make, at least one, in which a token of one or two
  letters joins the all-digit token after it ("F 150", "RS 4" -> ``f150``, ``rs4``), so that
  however either dataset spaced the designation the keys agree.

Known limits:

- Trims and editions stay in the model, so "Rolls-Royce Phantom Drophead Coupe Convertible 2012"
  (``rolls_royce_phantom_drophead_2012``) does not match VMMRdb's ``rolls_royce_phantom_2012``,
  nor "Chevrolet Silverado 1500 Hybrid Crew Cab 2012" its ``chevrolet_silverado_1500_2012``.
- One car named two ways does not match: "BMW 3 Series" and VMMRdb's ``bmw_328i``; a prefix of
  three or more letters set apart from its number by a space ("CLK 320") and the same written
  joined (``clk320``).
- A body-style word that is part of a model name is dropped (VMMRdb's ``dodge_ram van`` becomes
  ``dodge_ram``).
- A multi-word make missing from `MULTI_WORD_MAKES` splits after its first word; both
  datasets split it alike, so the keys still agree.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

MULTI_WORD_MAKES: tuple[str, ...] = (
    "alfa_romeo",
    "am_general",
    "aston_martin",
    "land_rover",
    "mercedes_benz",
    "rolls_royce",
)
"""Makes of more than one word, in canonical underscore form (the longest prefix wins)."""

BODY_STYLE_WORDS: frozenset[str] = frozenset(
    {
        "sedan",
        "coupe",
        "convertible",
        "conv",
        "hatchback",
        "wagon",
        "suv",
        "van",
        "minivan",
        "cargo",
        "passenger",
        "pickup",
        "cab",
        "crew",
        "extended",
        "regular",
        "quad",
        "club",
        "supercab",
        "supercrew",
    }
)
"""Tokens naming a body style, not a model. Kept out of it: "SS", "GT", "Type R", "Drophead",
"Roadster", "Spider" (Alfa Romeo's model), "SUT", "Hybrid", "Super Duty" and other trims."""

_LETTER_HYPHEN_DIGIT = re.compile(r"(?<=[^\W\d_])-(?=\d)")
_TOKEN = re.compile(r"[^\W_]+")
_YEAR = re.compile(r"[0-9]{4}")
_MAKE_TOKENS = sorted((tuple(make.split("_")) for make in MULTI_WORD_MAKES), key=len, reverse=True)


@dataclass(frozen=True, order=True)
class CarLabel:
    """A car class: make and model in canonical underscore form, and model year.

    Attributes:
        make: e.g. ``"mercedes_benz"``.
        model: e.g. ``"c_class"``.
        year: e.g. ``2012``.
    """

    make: str
    model: str
    year: int

    @property
    def key(self) -> str:
        """The class's canonical name, e.g. ``"mercedes_benz_c_class_2012"``."""
        return f"{self.make}_{self.model}_{self.year}"

    @property
    def display(self) -> str:
        """The class's name for people, e.g. ``"Mercedes Benz C Class 2012"``."""
        return self.key.replace("_", " ").title()


def canonical_tokens(text: str) -> list[str]:
    """The lowercase tokens of a class name, by the rules of the module docstring.

    ``"Ford F-150 Regular Cab 2012"`` gives ``["ford", "f150", "regular", "cab", "2012"]``.
    """
    return _TOKEN.findall(_LETTER_HYPHEN_DIGIT.sub("", text.lower()))


def parse_stanford_name(name: str) -> CarLabel:
    """The label of a Stanford Cars class name, e.g. ``"Mercedes-Benz C-Class Sedan 2012"``.

    Raises:
        ValueError: ``name`` does not end in a year or has no model before it.
    """
    return _parse(name, "Stanford Cars class name")


def parse_vmmrdb_name(folder: str) -> CarLabel:
    """The label of a VMMRdb class folder name, e.g. ``"mercedes_benz_c_class_2012"``.

    Raises:
        ValueError: ``folder`` does not end in a year or has no model before it.
    """
    return _parse(folder, "VMMRdb folder name")


def _parse(name: str, source: str) -> CarLabel:
    """The label of ``name``; ``source`` says what ``name`` is in error messages."""
    tokens = canonical_tokens(name)
    if not tokens or not _YEAR.fullmatch(tokens[-1]) or not 1900 <= int(tokens[-1]) <= 2100:
        raise ValueError(f"{source} {name!r} does not end in a year (four digits, 1900-2100)")
    head, middle = tokens[:1], tokens[1:-1]
    words = head + ([token for token in middle if token not in BODY_STYLE_WORDS] or middle)
    make = next((m for m in _MAKE_TOKENS if tuple(words[: len(m)]) == m), tuple(words[:1]))
    model: list[str] = []
    for token in words[len(make) :]:
        if model and token.isdigit() and model[-1].isalpha() and len(model[-1]) <= 2:
            model[-1] += token
        else:
            model.append(token)
    if not model:
        raise ValueError(f"{source} {name!r} has no model between its make and year")
    return CarLabel("_".join(make), "_".join(model), int(tokens[-1]))


@dataclass
class TaxonomyMatch:
    """How the classes of Stanford Cars and VMMRdb fall into the merged label space.

    Attributes:
        matched: Each key found in both datasets -> (its Stanford Cars class names, its VMMRdb
            folder names), keys sorted, names in input order. Several names of one dataset
            share a key when they differ only in body style.
        stanford_only: Stanford Cars class names whose key no VMMRdb folder has.
        vmmrdb_only: VMMRdb folder names whose key no Stanford Cars class has.
    """

    matched: dict[str, tuple[list[str], list[str]]]
    stanford_only: list[str]
    vmmrdb_only: list[str]

    @property
    def match_rate(self) -> float:
        """The fraction of all class names, of both datasets, whose key is matched (0 if none)."""
        n_matched = sum(len(stanford) + len(vmmrdb) for stanford, vmmrdb in self.matched.values())
        total = n_matched + len(self.stanford_only) + len(self.vmmrdb_only)
        return n_matched / total if total else 0.0

    def summary(self) -> str:
        """One line of counts: merged classes matched, and each dataset's unmatched classes."""
        n_stanford = sum(len(stanford) for stanford, _ in self.matched.values())
        n_vmmrdb = sum(len(vmmrdb) for _, vmmrdb in self.matched.values())
        return (
            f"{len(self.matched)} classes matched across both sets (from {n_stanford} Stanford "
            f"Cars and {n_vmmrdb} VMMRdb classes); {len(self.stanford_only)} only in Stanford "
            f"Cars; {len(self.vmmrdb_only)} only in VMMRdb"
        )


def match_taxonomies(stanford_names: Iterable[str], vmmrdb_names: Iterable[str]) -> TaxonomyMatch:
    """Matches Stanford Cars class names and VMMRdb folder names by their labels' keys.

    Repeated names count once.

    Raises:
        ValueError: a name does not parse (see `parse_stanford_name`).
    """
    return match_keys(
        _keys(stanford_names, parse_stanford_name), _keys(vmmrdb_names, parse_vmmrdb_name)
    )


def match_keys(stanford: Mapping[str, str], vmmrdb: Mapping[str, str]) -> TaxonomyMatch:
    """Matches two datasets whose class names are already mapped to their labels' keys.

    Args:
        stanford: Stanford Cars class name -> key, in dataset order.
        vmmrdb: VMMRdb folder name -> key, in dataset order.
    """
    common = set(stanford.values()) & set(vmmrdb.values())
    return TaxonomyMatch(
        matched={
            key: (
                [name for name, name_key in stanford.items() if name_key == key],
                [name for name, name_key in vmmrdb.items() if name_key == key],
            )
            for key in sorted(common)
        },
        stanford_only=[name for name, key in stanford.items() if key not in common],
        vmmrdb_only=[name for name, key in vmmrdb.items() if key not in common],
    )


def _keys(names: Iterable[str], parse: Callable[[str], CarLabel]) -> dict[str, str]:
    """Each distinct name's key, in input order."""
    return {name: parse(name).key for name in names}


def close_matches(name: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    """Up to ``n`` of ``candidates`` closest to ``name``, best first, for "did you mean" hints.

    Names are compared by key where they parse (so ``"Audi S6 Sedan 2011"`` finds
    ``audi_s6_2011`` across datasets), else by their joined `canonical_tokens`.
    """
    by_form: dict[str, list[str]] = {}
    for candidate in candidates:
        by_form.setdefault(_canonical_form(candidate), []).append(candidate)
    forms = difflib.get_close_matches(_canonical_form(name), by_form, n=n)
    return [candidate for form in forms for candidate in by_form[form]][:n]


def _canonical_form(text: str) -> str:
    """``text``'s key if it parses, else its tokens joined by underscores."""
    try:
        return parse_vmmrdb_name(text).key
    except ValueError:
        return "_".join(canonical_tokens(text))
