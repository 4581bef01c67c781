"""Concepts in many languages (`pipeline/data/scan/lexicon.yaml`) and the language of each sentence, so that
rules do not depend on English: an order is hostile by what it combines (read + secret, send + destination,
negation + tell + user), in whatever language it is written.

Cost: the concept patterns run only on text that is not plain ASCII, or that has function words of a
Latin-script language other than English; plain English descriptions (the common case) skip them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

# A word, for matching: letters and digits with the combining marks of Indic, Arabic, Hebrew and Thai scripts
# (which Python's \w does not count, so a vowel sign would otherwise end a word). Apostrophes and hyphens split
# words ("don't" is "don t", "e-mail" is "e mail"), in the terms as in the text.
_TOKEN = re.compile(r"[\w\u0300-\u036f\u0591-\u05c7\u064b-\u065f\u0670\u0900-\u0dff\u0e31-\u0e4e]+")
# Scripts written without spaces between words (or with particles attached, as Korean): matched as substrings.
_NO_SPACES = re.compile(
    r"[\u0e00-\u0e7f\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
# One-letter prefixes that attach to the next word (Arabic and, so, with, for; Hebrew and, the, in, to, from).
_CLITICS = frozenset("وفبلكוהבלמשכ")
# Arabic prefixes of the article and a preposition or conjunction with it ("and the", "for the", "to the").
_ARTICLES = ("وال", "بال", "فال", "كال", "لل", "ال")
MAX_PHRASE = 4  # words in the longest term
# Scripts whose words take attached endings (Bengali and Hindi case endings, Arabic and Hebrew pronoun
# suffixes): a term of four letters or more in them matches the start of a word, as a stem does.
_SUFFIXED = re.compile(r"[\u0980-\u09ff\u0900-\u097f\u0600-\u06ff\u0590-\u05ff]")
_SUFFIXED_MIN = 4

SCRIPTS: tuple[tuple[str, str], ...] = (
    ("latin", "A-Za-z\u00c0-\u024f\u1e00-\u1eff"),
    ("cyrillic", "\u0400-\u04ff"),
    ("greek", "\u0370-\u03ff"),
    ("arabic", "\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff"),
    ("hebrew", "\u0590-\u05ff"),
    ("devanagari", "\u0900-\u097f"),
    ("bengali", "\u0980-\u09ff"),
    ("indic", "\u0a00-\u0dff"),
    ("thai", "\u0e00-\u0e7f"),
    ("hangul", "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"),
    ("cjk", "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"),
)
_SCRIPT_RUN = re.compile("|".join(f"(?P<{name}>[{chars}]+)" for name, chars in SCRIPTS))
_SENTENCE_END = re.compile(r"[.!?:;](?=\s|$)|[。！？：；\n]")
# URLs, paths, addresses, code and identifiers belong to no language: blanked out before a sentence is judged
_NOT_PROSE = re.compile(  # every part bounded or possessive: linear on any input
    r"[A-Za-z][\w+.-]{0,15}://\S*+|~?/[\w./-]++|[^\s@]{1,64}@\S*+|`[^`\n]{0,200}`|\b\w{1,64}_\w*+|\b[a-z]{1,32}[A-Z]\w*+"
    r"|\.\w++(?:/\w++)*+|\$\{?\w++\}?"
)
MAX_SWITCH_TEXT = 8192  # characters read for a switch of language
_LATIN_WORD = re.compile(r"[a-zà-ÿ]+")
MIN_LETTERS = 8  # a sentence with fewer letters (a name, a number) has no language of its own
MIN_CJK = 4
# English words that are also function words elsewhere: they do not make an English text look foreign.
_ENGLISH_TOO = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "be",
        "by",
        "con",
        "de",
        "den",
        "die",
        "do",
        "e",
        "en",
        "for",
        "g",
        "he",
        "i",
        "in",
        "is",
        "it",
        "me",
        "no",
        "o",
        "of",
        "on",
        "or",
        "per",
        "pro",
        "se",
        "so",
        "te",
        "to",
        "van",
        "via",
        "we",
    ]
)


@dataclass(frozen=True, slots=True)
class Lexicon:
    languages: tuple[str, ...]
    exact: dict[str, frozenset[str]]  # a term (its words joined by one space) -> its concepts
    stems: dict[str, frozenset[str]]  # a stem -> its concepts
    stem_sizes: tuple[int, ...]
    substrings: re.Pattern[str] | None  # terms in scripts without spaces, one alternation
    substring_concepts: dict[str, frozenset[str]]
    english: frozenset[tuple[str, str]]  # (concept, term) pairs that are English (a stem's term ends in "*")
    shared: frozenset[
        tuple[str, str]
    ]  # English pairs another language has too ("parameter" in German, Indonesian)
    stopwords: dict[str, frozenset[str]]
    foreign: frozenset[str]  # function words of other Latin-script languages: the trigger for ASCII text


def _words_of(term: str) -> str:
    return " ".join(_TOKEN.findall(term.lower()))


# the distinctive words of an order in other languages (ASCII, six letters or more) that make ASCII text worth reading
# for concepts: "lampirkan", "masukkan" (put), "okuyun" (read) say an order in a Latin-script language
_ORDER_CONCEPTS = ("user", "neg", "tell", "send", "ignore", "instructions", "covert", "put", "read")


def _build(data: dict[str, Any]) -> Lexicon:
    exact: dict[str, set[str]] = {}
    stems: dict[str, set[str]] = {}
    subs: dict[str, set[str]] = {}
    english: set[tuple[str, str]] = set()
    elsewhere: set[tuple[str, str]] = set()  # the same (concept, term) in another language too
    for concept, by_language in data["concepts"].items():
        for language, terms in by_language.items():
            for raw in terms:
                if not isinstance(raw, str):  # YAML reads a bare no/on/yes as a boolean: quote it
                    raise ValueError(f"lexicon term {raw!r} of {concept}/{language} is not a string")
                term = raw
                stem = term.endswith("*") or (len(term) >= _SUFFIXED_MIN and bool(_SUFFIXED.match(term)))
                if _NO_SPACES.search(term):
                    key = term.rstrip("*").lower()
                    subs.setdefault(key, set()).add(concept)
                    mark = key
                else:
                    key = _words_of(term.rstrip("*"))
                    (stems if stem else exact).setdefault(key, set()).add(concept)
                    mark = key + "*" if stem else key  # French "ignore*" is not English "ignore"
                if language == "en":
                    english.add((concept, mark))
                else:
                    elsewhere.add((concept, mark))
    pattern = (
        re.compile("|".join(map(re.escape, sorted(subs, key=lambda s: (-len(s), s)))), re.IGNORECASE)
        if subs
        else None
    )
    stop = {lang: frozenset(words) for lang, words in data["stopwords"].items()}
    if not all(isinstance(w, str) for words in stop.values() for w in words):
        raise ValueError("a lexicon stopword is not a string (quote no/on/yes/off)")
    foreign = frozenset(w for lang, words in stop.items() if lang != "en" for w in words if w.isascii())
    # and the distinctive words of an order (the user, telling, sending, ignoring, rules) in ASCII spelling,
    # so that a short sentence in Swahili or Indonesian with few function words is still read
    english_words = {t for c, t in english}
    foreign |= frozenset(
        term
        for concept in _ORDER_CONCEPTS
        for language, terms in data["concepts"].get(concept, {}).items()
        if language != "en"
        for term in terms
        if term.isascii() and term.isalpha() and len(term) >= 6 and not {term, term + "s"} & english_words
    )
    return Lexicon(
        languages=tuple(data["languages"]),
        exact={k: frozenset(v) for k, v in exact.items()},
        stems={k: frozenset(v) for k, v in stems.items()},
        stem_sizes=tuple(sorted({len(k) for k in stems})),
        substrings=pattern,
        substring_concepts={k: frozenset(v) for k, v in subs.items()},
        english=frozenset(english),
        shared=frozenset(english & elsewhere),
        stopwords=stop,
        foreign=foreign - _ENGLISH_TOO - stop["en"],
    )


@cache
def lexicon() -> Lexicon:
    text = resources.files("pipeline").joinpath("data/scan/lexicon.yaml").read_text(encoding="utf-8")
    return _build(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def wanted(text: str, words: set[str] | frozenset[str]) -> bool:
    """Whether a text may hold non-English concepts: not ASCII, or with another language's function words (two
    short ones, or one of four letters or more: 'para', 'avec', 'nicht' are no English words)."""
    if not text.isascii():
        return True
    foreign = lexicon().foreign
    if foreign.isdisjoint(words):
        return False
    found = foreign.intersection(words)
    return len(found) >= 2 or any(len(w) >= 4 for w in found)


@cache
def ascii_terms(*names: str) -> tuple[frozenset[str], re.Pattern[str] | None]:
    """For concepts: the longest word of each of their ASCII terms in any language, and a pattern for their ASCII
    stems. A term can only match text that has its longest word: the cheap test of whether ASCII text may hold
    one of the concepts at all."""
    lex = lexicon()
    words = frozenset(
        max(t.split(), key=len) for t, cs in lex.exact.items() if not cs.isdisjoint(names) and t.isascii()
    )
    stems = sorted(
        t for t, cs in lex.stems.items() if not cs.isdisjoint(names) and t.isascii() and " " not in t
    )
    return words, re.compile(r"\b(?:" + "|".join(stems) + ")") if stems else None


Spans = list[tuple[int, int]]


def concepts(text: str, *, english: bool = False, limit: int = 20) -> dict[str, Spans]:
    """Spans of each concept in `text`; English terms only when `english` (the English rules cover them)."""
    lex = lexicon()
    out: dict[str, Spans] = {}
    # a term English shares with another language ("parameter", "token") counts in text that is not English prose
    skip = lex.english if english or _mostly_english(text) else lex.english - lex.shared

    def found(concept_names: frozenset[str], key: str, span: tuple[int, int]) -> None:
        for concept in concept_names:
            if not english and (concept, key) in skip:
                continue
            spans = out.setdefault(concept, [])
            if len(spans) < limit:
                spans.append(span)

    tokens = [(m.group().lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    exact, stems, sizes = lex.exact, lex.stems, lex.stem_sizes
    for i, (word, start, _) in enumerate(tokens):
        phrase = word
        for j in range(i, min(i + MAX_PHRASE, len(tokens))):
            if j > i:
                phrase = f"{phrase} {tokens[j][0]}"
            end = tokens[j][2]
            if phrase in exact:
                found(exact[phrase], phrase, (start, end))
            for size in sizes:
                if size > len(phrase):
                    break
                if phrase[:size] in stems and (size == len(phrase) or " " not in phrase[size:]):
                    found(stems[phrase[:size]], phrase[:size] + "*", (start, end))
        if len(word) > 2 and (word[0] in _CLITICS or word.startswith("ال")):
            for form, cut in _clitic_forms(word):
                if form in exact:
                    found(exact[form], form, (start + cut, tokens[i][2]))
                    break
                key = next((form[:n] for n in sizes if form[:n] in stems), "")
                if key:
                    found(stems[key], key + "*", (start + cut, tokens[i][2]))
                    break
    if lex.substrings is not None and _NO_SPACES.search(text):
        for match in lex.substrings.finditer(text):
            key = match.group().lower()
            found(lex.substring_concepts.get(key, frozenset()), key, match.span())
    for spans in out.values():
        spans.sort()
    return out


def _mostly_english(text: str) -> bool:
    """More English function words than any other language's (a Latin-script text that is English prose)."""
    words = _LATIN_WORD.findall(text.lower())
    if not words:
        return False
    stop = lexicon().stopwords
    english = sum(w in stop["en"] for w in words)
    return english > 0 and all(
        english >= sum(w in words_of for w in words) for lang, words_of in stop.items() if lang != "en"
    )


def _clitic_forms(word: str) -> list[tuple[str, int]]:
    """A word without the prefixes attached to it (Arabic article, one-letter conjunctions and prepositions),
    each with how many characters were cut; with and without the Arabic article."""
    forms: list[tuple[str, int]] = [(word[1:], 1)] if word[0] in _CLITICS else []
    for article in _ARTICLES:
        if word.startswith(article) and len(word) - len(article) >= 2:
            rest = word[len(article) :]
            forms += [(rest, len(article)), ("ال" + rest, len(article))]
            break
    return forms


def _sentence_language(sentence: str) -> str:
    """The script with most letters; for Latin script, the language whose function words it uses most
    ('latin' when it cannot tell). '' for a sentence too short to have a language."""
    counts: dict[str, int] = {}
    for match in _SCRIPT_RUN.finditer(sentence):
        name = match.lastgroup or ""
        counts[name] = counts.get(name, 0) + match.end() - match.start()
    if not counts:
        return ""
    script = max(counts, key=counts.__getitem__)
    if counts[script] < (MIN_CJK if script in ("cjk", "hangul", "thai") else MIN_LETTERS):
        return ""
    if script != "latin":
        return script
    words = _LATIN_WORD.findall(sentence.lower())
    scores = {lang: sum(w in stop for w in words) for lang, stop in lexicon().stopwords.items()}
    best = max(scores, key=scores.__getitem__)
    ties = [lang for lang, score in scores.items() if score == scores[best]]
    return best if scores[best] >= 1 and len(ties) == 1 else "latin"


def _switched(first: str, then: str) -> bool:
    latin = {"latin", *lexicon().stopwords}
    if (first in latin) != (then in latin):
        return True  # Latin prose, then another script's (or the reverse)
    return first != then and "latin" not in (first, then)


def language_switch(text: str) -> tuple[int, str, str] | None:
    """Where a text switches from the language of its first sentence to another (offset, first, second):
    another script's prose after Latin prose or the reverse, or another Latin-script language after English."""
    prose = _NOT_PROSE.sub(lambda m: " " * len(m.group()), text[:MAX_SWITCH_TEXT])
    first = ""
    start = 0
    ends = [m.end() for m in _SENTENCE_END.finditer(prose)]
    for end in [*ends, len(prose)]:
        sentence = prose[start:end]
        begin, start = start, end
        language = _sentence_language(sentence)
        if not language:
            continue
        if not first:
            first = language
        elif _switched(first, language):
            return begin + len(sentence) - len(sentence.lstrip()), first, language
    return None
