"""Filler: a docstring sentence that only restates names ("Return the groupby.", "seq: The seq.").

A sentence is filler when, once the words any sentence could hold ("the", "return", "value", ...) are set
aside, every word left is one of the given names' words, a form of one ("sequences" for `seq`,
"initialize" for `__init__`), or nothing is left at all. Numbers, quoted literals and code are never filler:
"Defaults to 3." and "If self._empty()." say something the name does not.
"""
from __future__ import annotations

import re
from typing import Iterable

from ..syntax.definitions import DefinitionInfo
from ..syntax.docstring_fields import (
    PARAMS,
    RAISES,
    RETURNS,
    YIELDS,
    literal_lines,
    parse_fields,
)
from .name_phrases import SPELLED, words

# Words that carry no information about this function in a docstring line.
GENERIC = frozenset("""
a an the this that these those it its it's of to for and or in on at by with from into as is are be been being
if whether not no so all any each some given specified provided passed optional optionally new current
return returns returned returning get gets getting set sets setting do does doing handle handles handling
make makes yield yields yielding next value values object objects instance instances item items result results
thing things data param params parameter parameters arg args argument arguments function method class self
true false none none's one
""".split())
# A raise condition is code turned into words ("If not items."): only these words of it are not its own.
CONDITION_WORDS = frozenset("if not is and or none self the a an in".split())
PLACEHOLDERS = ("_summary_", "_description_", "_type_")
# Code in the text (a call, an attribute, a comparison: "If self._empty()."): it says what the code does.
CODE = re.compile(r"\w\(|\w\.\w|[=<>\[]")
MIN_PREFIX = 3  # `seq` ~ "sequence", `init` ~ "initialize"; shorter names match only whole words


def _forms(name: str) -> set[str]:
    found = set()
    for word in words(name):
        word = word.lower()
        found.add(word)
        found.update(SPELLED.get(word, "").split())
    return {w for w in found if w}


def _same_word(word: str, name_word: str) -> bool:
    if word == name_word or word.rstrip("s") == name_word.rstrip("s"):
        return True
    short, long = sorted((word, name_word), key=len)
    return len(short) >= MIN_PREFIX and long.startswith(short)


def content_words(text: str, generic: frozenset[str] = GENERIC) -> list[str]:
    """The words of text that could say something: lower case, without generic ones; a number, a quoted
    literal or code counts as a word that no name has."""
    if re.search(r"\d|['\"`]", text.replace("'s ", " ")) or CODE.search(text):
        return ["<literal>"]
    return [w for w in re.findall(r"[a-z]+", text.lower()) if w not in generic]


def is_filler(text: str, names: Iterable[str], generic: frozenset[str] = GENERIC) -> bool:
    """True when text says nothing but the names (or nothing at all); a placeholder is not filler."""
    if any(marker in text for marker in PLACEHOLDERS):
        return False
    name_words = set().union(*(_forms(n) for n in names))
    return all(any(_same_word(w, n) for n in name_words) for w in content_words(text, generic))


def is_placeholder(text: str) -> bool:
    """True when text is (or holds) one of the placeholders an editor is meant to fill."""
    return any(marker in text for marker in PLACEHOLDERS)


def _without_default(text: str, default: str | None) -> str:
    """text without the "Defaults to <default>." the renderer appends (docstring_render._with_default); a
    description that itself states the default and goes on ("Defaults to True. Indicates that...") keeps it."""
    suffix = f"Defaults to {default}."
    return text[:-len(suffix)].rstrip() if default is not None and text.endswith(suffix) else text


def filler_lines(literal: str, info: DefinitionInfo) -> list[str]:
    """The lines of a rendered docstring literal that are filler: a summary that only restates the
    definition's and its parameters' names, an entry whose description only restates its own name (the
    definition's for Returns/Yields); a stated default does not count as content here."""
    parsed = literal_lines(literal)
    if parsed is None:
        return []
    lines = parsed[1]
    found = []
    summary = lines[0].strip() if lines else ""
    defaults = {p.name.lstrip("*"): p.default for p in info.params}
    if summary and is_filler(summary, [info.name] + [p.name for p in info.params]):
        found.append(summary)
    for section in parse_fields(lines).sections:
        for entry in section.entries:
            if entry.kind not in (PARAMS, RAISES, RETURNS, YIELDS):
                continue
            names = [entry.name or info.name] + ([entry.type] if entry.type else [])
            generic = CONDITION_WORDS if entry.kind == RAISES else GENERIC
            default = defaults.get(entry.name.lstrip("*")) if entry.kind == PARAMS and entry.name else None
            if is_filler(_without_default(entry.description, default), names, generic):
                found.append(lines[entry.start].strip())
    return found
