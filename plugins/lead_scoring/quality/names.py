"""Placeholder and fake names: what a lead types to avoid giving its real name.

A name is flagged with one reason code:

* ``email``: an e-mail address typed into a name field;
* ``digits``: digits in a name;
* ``no_letters``: only punctuation (``-``, ``?``, ``n/a`` spelled with symbols);
* ``placeholder``: a placeholder word (``test``, ``asdf``, ``none``...). Words that are
  placeholders only in company (``user``, ``sample``, ``demo``...) count when the other
  name field is empty or a placeholder too, so "John Sample" passes;
* ``keyboard_mash``: a run along a keyboard row (``qwerty``, ``sdfgh``, ``jkl``) or a
  string of such runs, the same letter three times (``aaa``), or five or more letters
  without a vowel;
* ``celebrity``: a cartoon character, a celebrity or a stock placeholder person
  (``Mickey Mouse``, ``John Doe``);
* ``email_local_part``: a name field equal to the e-mail's local part when that local part
  is not spelled like a name (``jsmith84``, ``john.smith``); letters of any script, with
  their accents, joined by apostrophes or hyphens are spelled like a name, so
  ``o'brien@...`` for O'Brien and ``saint-clair@...`` for Saint-Clair pass.

Multi-word values are split with nameparser (titles such as "Dr." are dropped) and each
part is checked. Empty names are not flagged: a missing name is not a fake one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pandas as pd

STRONG_PLACEHOLDERS = frozenset({
    "test", "tests", "testing", "tester", "testtest", "asdf", "asdfg", "asdfgh", "qwerty",
    "qwertz", "azerty", "none", "null", "nil", "nan", "undefined", "unknown", "fake",
    "dummy", "noname", "anonymous", "anon", "firstname", "lastname", "fname", "lname",
    "surname", "tbd", "tba", "xxx", "xx", "x", "xy", "xyz", "abc", "abcd", "abcde",
    "abcdef", "blah", "blabla", "lorem", "ipsum", "nobody", "noone", "nothing", "idk",
    "notprovided", "notapplicable", "notgiven", "private", "secret", "nope", "placeholder",
})  # fmt: skip
WEAK_PLACEHOLDERS = frozenset({
    "user", "name", "first", "last", "sample", "example", "admin", "guest", "customer",
    "client", "lead", "contact", "demo", "trial", "me", "someone", "somebody", "person",
    "mr", "mrs", "ms", "sir", "madam", "hello", "hi", "info", "team", "my",
})  # fmt: skip
# Full names (letters only, no spaces) of cartoon characters, celebrities, stock persons.
CELEBRITIES = frozenset(name.replace(" ", "") for name in (
    "mickey mouse", "minnie mouse", "donald duck", "daisy duck", "daffy duck", "scrooge mcduck",
    "bugs bunny", "porky pig", "tweety bird", "road runner", "wile e coyote", "homer simpson",
    "marge simpson", "bart simpson", "lisa simpson", "maggie simpson", "ned flanders",
    "spongebob squarepants", "patrick star", "scooby doo", "shaggy rogers", "fred flintstone",
    "wilma flintstone", "barney rubble", "peter griffin", "stewie griffin", "eric cartman",
    "tom cat", "jerry mouse", "garfield cat", "charlie brown", "snoopy dog", "winnie pooh",
    "winnie the pooh", "hello kitty", "darth vader", "luke skywalker", "han solo",
    "harry potter", "hermione granger", "lord voldemort", "james bond", "sherlock holmes",
    "santa claus", "easter bunny", "john doe", "jane doe", "joe bloggs", "joe schmoe",
    "john q public", "max mustermann", "erika mustermann", "jean dupont", "bruce wayne",
    "clark kent", "peter parker", "tony stark", "diana prince", "bat man", "super man",
    "spider man", "wonder woman", "iron man", "captain america", "mr bean", "elon musk",
    "bill gates", "jeff bezos", "mark zuckerberg", "steve jobs", "donald trump",
    "barack obama", "joe biden", "taylor swift", "kim kardashian", "michael jackson",
    "elvis presley", "marilyn monroe", "albert einstein", "abraham lincoln",
    "george washington",
))  # fmt: skip
CHARACTERS = frozenset({"pikachu", "shrek", "batman", "superman", "spiderman", "spongebob",
                        "voldemort", "mickeymouse", "donaldduck"})  # fmt: skip
# Spelled with symbols, so they survive as letters only as real-looking pairs ("na").
SYMBOL_PLACEHOLDERS = frozenset({"n/a", "n.a.", "n.a", "n\\a", "n/d", "k.a.", "k/a", "n/v", "s/o"})
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "qwertzuiop", "yxcvbnm", "azertyuiop",
         "qsdfghjklm", "wxcvbn")  # fmt: skip
# Backwards runs only on QWERTY: reversed AZERTY/QWERTZ rows spell names ("Reza").
_KEYBOARD = _ROWS + tuple(row[::-1] for row in _ROWS[:3])
_VOWELS = frozenset("aeiouy")
# Apostrophes (straight, typographic, modifier letter) and hyphens join the parts of a name.
_NAME_JOINERS = re.compile(r"['\u2019\u02bc\-\u2010]")


def fold(text: str) -> str:
    """Lower-case letters only: accents dropped (é -> e), other letters kept (ı stays ı)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if ch.isalpha() and not unicodedata.combining(ch))


def _on_keyboard_row(letters: str) -> bool:
    return any(letters in row for row in _KEYBOARD)


@lru_cache(maxsize=4096)
def _keyboard_runs(letters: str) -> bool:
    """``letters`` is one or more runs (3+ keys each) along a keyboard row."""
    if len(letters) < 3:
        return not letters
    return any(
        _on_keyboard_row(letters[:cut]) and _keyboard_runs(letters[cut:])
        for cut in range(3, len(letters) + 1)
    )


def is_keyboard_mash(letters: str) -> bool:
    """Keyboard runs, a letter three times, or 5+ letters without a vowel (Latin only)."""
    if len(letters) < 3 or not letters.isascii():
        return False
    if re.search(r"(.)\1\1", letters):
        return True
    if len(letters) >= 5 and not set(letters) & _VOWELS:
        return True
    if len(letters) == 3:
        return _on_keyboard_row(letters) and not set(letters) & _VOWELS
    return _keyboard_runs(letters)


def _word_issue(word: str) -> str | None:
    """The reason a single name word is fake, or None."""
    letters = fold(word)
    if letters in STRONG_PLACEHOLDERS:
        return "placeholder"
    if is_keyboard_mash(letters):
        return "keyboard_mash"
    return None


@lru_cache(maxsize=200_000)
def value_issue(value: str) -> str | None:
    """The reason one name field's value is fake, or None (empty values are fine)."""
    text = value.strip()
    if not text:
        return None
    if "@" in text:
        return "email"
    if any(ch.isdigit() for ch in text):
        return "digits"
    if not any(ch.isalpha() for ch in text):
        return "no_letters"
    if re.sub(r"\s", "", text.lower()) in SYMBOL_PLACEHOLDERS:
        return "placeholder"
    words = text.split()
    if fold(text) in CHARACTERS or (len(words) > 1 and fold(text) in CELEBRITIES):
        return "celebrity"
    if len(words) > 1 or "." in text:
        from nameparser import HumanName

        parsed = HumanName(text)
        words = [p for p in (parsed.first, parsed.middle, parsed.last) if p] or words
    issues = [_word_issue(word) for word in words]
    return issues[0] if all(issues) else None


def is_spelled_like_a_name(text: str) -> bool:
    """Letters of any script (with their accents and vowel signs), in parts joined by
    apostrophes or hyphens: ``o'brien``, ``o’neil``, ``saint-clair``, ``zoë``, ``王伟``."""
    text = unicodedata.normalize("NFC", text)
    parts = _NAME_JOINERS.split(text)
    return all(
        part and part[0].isalpha() and all(unicodedata.category(ch)[0] in "LM" for ch in part)
        for part in parts
    )


def _per_value(values: pd.Series, function) -> pd.Series:
    """``function`` applied once per distinct value (names repeat a lot)."""
    return values.map({v: function(v) for v in values.unique()})


def _weak(value: str) -> bool:
    return fold(value) in WEAK_PLACEHOLDERS


def name_issues(first: pd.Series, last: pd.Series, email_local: pd.Series) -> pd.Series:
    """The reason each (first, last) name pair is fake, or null."""
    first = first.astype("str").fillna("").str.strip()
    last = last.astype("str").fillna("").str.strip()
    issue = pd.Series(None, index=first.index, dtype="str")
    for side in (last, first):  # first name wins when both are fake
        found = _per_value(side, value_issue)
        issue = found.where(found.notna(), issue)
    weak_first, weak_last = _per_value(first, _weak), _per_value(last, _weak)
    first_fake = weak_first | issue.notna() | (first == "")
    last_fake = weak_last | issue.notna() | (last == "")
    weak = (weak_first & last_fake) | (weak_last & first_fake)
    issue = issue.mask(issue.isna() & weak, "placeholder")
    full = (first + last).str.lower().str.replace(r"[^a-z]", "", regex=True).isin(CELEBRITIES)
    issue = issue.mask(issue.isna() & full, "celebrity")
    local = email_local.astype("str").fillna("").str.strip().str.lower().str.normalize("NFC")
    named = _per_value(local, is_spelled_like_a_name)
    first_key = first.str.lower().str.normalize("NFC")
    last_key = last.str.lower().str.normalize("NFC")
    typed = (local != "") & ~named & ((first_key == local) | (last_key == local))
    return issue.mask(issue.isna() & typed, "email_local_part")
