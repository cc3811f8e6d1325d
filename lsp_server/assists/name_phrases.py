"""English phrases derived from Python identifiers: words of a name, and the sentence a name reads as.

A sentence read from the name alone is filler (assists.filler) and is never shown as a summary; it is kept
for the dunders whose conventional sentence says more than the name ("Return the number of items.").
"""
from __future__ import annotations

import re

from ..syntax.definitions import CLASS, DefinitionInfo

# Leading words read as an imperative verb: `split_words` -> "Split the words."
VERBS = frozenset("""
add append apply build calculate call cancel check clean clear close collect compare compile compute configure
connect convert copy count create decode delete deserialize detect download draw dump emit encode ensure
escape evaluate execute expand export extend extract filter find flush format generate handle import index
initialize insert install invoke iterate join load lookup make map merge move normalize notify open parse patch
pop post prepare print process publish push put read receive record refresh register release reload remove
render rename replace report reset resolve restore retry run save scan search select send serialize set setup
show sort split start stop store strip submit sync test track transform translate trim update upload validate
verify visit wait walk wrap write
""".split())
SPELLED = {"setup": "set up", "init": "initialize", "calc": "calculate", "del": "delete", "gen": "generate"}
GETTERS = frozenset({"get", "fetch"})
PREDICATES = frozenset({"is", "has", "can", "should", "needs"})
OBJECTLESS = frozenset({"a", "an", "the", "all", "to", "from", "into", "by", "with", "if", "for", "on"})
DUNDERS = {
    "__init__": "Initialize the instance.", "__repr__": "Return the representation of the instance.",
    "__str__": "Return the string form of the instance.", "__len__": "Return the number of items.",
    "__iter__": "Iterate over the items.", "__enter__": "Enter the context.", "__exit__": "Exit the context.",
    "__call__": "Call the instance.", "__hash__": "Return the hash of the instance.",
    "__eq__": "Return whether the instance equals another.", "__contains__": "Return whether an item is contained.",
    "__getitem__": "Return the item at a key.", "__setitem__": "Set the item at a key.",
    "__delitem__": "Delete the item at a key.", "__post_init__": "Finish initializing the instance.",
}


def words(identifier: str) -> list[str]:
    """Words of a snake_case or CamelCase identifier; all-capital words (acronyms) keep their case."""
    found: list[str] = []
    for chunk in re.split(r"[\W_\d]+", identifier):
        word = ""
        for i, ch in enumerate(chunk):
            nxt = chunk[i + 1] if i + 1 < len(chunk) else ""
            # A capital starts a word after a lower-case letter, or ends an acronym before a lower-case one.
            if word and ch.isupper() and (word[-1].islower() or nxt.islower()):
                found.append(word)
                word = ""
            word += ch
        if word:
            found.append(word)
    return [w if w.isupper() and len(w) > 1 else w.lower() for w in found]


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _subject(info: DefinitionInfo) -> str:
    if info.params and not info.params[0].name.startswith("*"):
        return info.params[0].name
    return "the instance" if info.kind == "method" else "it"


def _verb_phrase(info: DefinitionInfo, verb: str, rest: list[str]) -> str:
    verb = SPELLED.get(verb, verb)
    if not rest:
        names = [p.name for p in info.params if not p.name.startswith("*")]
        obj = " and ".join(filter(None, [", ".join(names[:-1]), names[-1]])) if names else ""
        return f"{verb} {obj}".strip()
    article = "" if rest[0] in OBJECTLESS else "the "
    return f"{verb} {article}{' '.join(rest)}"


def summary_from_name(info: DefinitionInfo) -> str:
    """A one-sentence summary read from the definition's name: `get_total` -> "Return the total."."""
    if info.name in DUNDERS:
        return DUNDERS[info.name]
    parts = words(info.name)
    if not parts:
        return "Do the work." if info.kind != CLASS else "A class."
    if info.kind == CLASS:
        return _sentence(_article(" ".join(parts)))
    head, rest = parts[0], parts[1:]
    if head in GETTERS:
        phrase = "return the " + (" ".join(rest) or "value")
    elif head in PREDICATES:
        phrase = f"return whether {_subject(info)} {head} {' '.join(rest)}".rstrip()
    elif head == "to" and rest:
        phrase = "convert to " + " ".join(rest)
    elif head in VERBS or head in SPELLED:
        phrase = _verb_phrase(info, head, rest)
    elif info.name.strip("_") == "main":
        phrase = "run the program"
    else:  # a noun: what the function returns, yields or deals with
        verb = "yield" if info.yields else "return" if info.returns_value or info.returns else "handle"
        phrase = f"{verb} the {' '.join(parts)}"
    return _sentence(phrase)


def _sentence(phrase: str) -> str:
    phrase = phrase.strip()
    return phrase[:1].upper() + phrase[1:] + ("" if phrase.endswith(".") else ".")


def return_type_guess(info: DefinitionInfo) -> str | None:
    """The return type a name implies without an annotation: `bool` for `is_*`/`has_*`, else None."""
    parts = words(info.name)
    return "bool" if parts and parts[0] in PREDICATES else None
