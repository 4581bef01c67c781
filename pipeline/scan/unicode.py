"""Hidden Unicode: find code points a person does not see but a model reads, and decode what they hide.

One regex character class finds the suspicious code points; only the (rare) strings that contain some are
looked at further. Decoders: tag characters (U+E0020–E007E carry ASCII), variation-selector smuggling
(U+FE00–FE0F, U+E0100–E01EF carry bytes), zero-width binary (two zero-width characters as 0 and 1), ANSI
escape sequences (text concealed or overwritten in a terminal) and bidi controls (text shown reordered).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Cc except tab/newline/carriage return, and the invisible Cf/Mn/Lo code points seen in smuggling attacks.
SUSPICIOUS = re.compile(
    "["
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb"
    "\U0001d173-\U0001d17a\U000e0000-\U000e007f\U000e0100-\U000e01ef"
    "]+"
)
_TAG_FLAG = re.compile("\U0001f3f4[\U000e0061-\U000e007a]{2,6}\U000e007f")  # 🏴 subdivision flags
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)?|[@-Z\\-_])")
_ANSI_CONCEAL = re.compile(r"\x1b\[[0-9;]*\b8m(.*?)(?:\x1b\[[0-9;]*(?:28|0)?m|$)", re.S)
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e")
_JOINERS = frozenset("\u200c\u200d")


@dataclass
class HiddenRun:
    """What the hidden code points in one string amount to."""

    start: int
    end: int
    kinds: set[str] = field(default_factory=set)
    count: int = 0
    decoded: str = ""  # text recovered from the hidden code points, if any
    escaped: str = ""  # the run shown as \\uXXXX escapes (first few)


def escape(text: str, limit: int = 24) -> str:
    """Invisible code points as escapes, visible text as is."""
    out = []
    for index, ch in enumerate(text):
        if index >= limit:
            out.append("…")
            break
        cp = ord(ch)
        if SUSPICIOUS.match(ch) or (cp > 0xFFFF and not ch.isprintable()):
            out.append(f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}")
        else:
            out.append(ch)
    return "".join(out)


def _kind(ch: str) -> str:
    cp = ord(ch)
    if 0xE0000 <= cp <= 0xE007F:
        return "tag characters"
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:
        return "variation selectors"
    if ch in _BIDI:
        return "bidi controls"
    if ch == "\x1b":
        return "ANSI escapes"
    if ch in _ZERO_WIDTH:
        return "zero-width characters"
    if cp < 0x20 or 0x7F <= cp <= 0x9F:
        return "control characters"
    return "invisible formatting characters"


def _benign(text: str, start: int, run: str) -> bool:
    """Legitimate uses: a BOM at the start, a joiner or a variation selector inside emoji or script text."""
    if run == "\ufeff" and start == 0:
        return True
    if len(run) == 1 and (run in _JOINERS or "\ufe00" <= run <= "\ufe0f"):
        before = text[start - 1] if start else ""
        if run in _JOINERS and _joining_letter(before) and _joining_letter(text[start + 1 : start + 2]):
            return True  # Persian, Urdu, Hindi, Bengali... spell words with a (non-)joiner between letters
        return bool(before) and ord(before) > 0x2000
    if run == "\u00ad":  # soft hyphen inside a word
        return 0 < start < len(text) - 1 and text[start - 1].isalpha() and text[start + 1].isalpha()
    return False


def _joining_letter(ch: str) -> bool:
    """A letter of a script whose spelling uses zero-width (non-)joiners (Arabic, Hebrew, Indic, ...): not Latin,
    Greek or Cyrillic, where a joiner inside a word only splits it for a keyword filter."""
    return bool(ch) and 0x0590 <= ord(ch) < 0x2000 and (ch.isalpha() or unicodedata.category(ch) == "Mn")


def _decode_tags(run: str) -> str:
    return "".join(chr(ord(c) - 0xE0000) for c in run if 0xE0020 <= ord(c) <= 0xE007E)


def _decode_selectors(run: str) -> str:
    data = bytearray()
    for c in run:
        cp = ord(c)
        if 0xFE00 <= cp <= 0xFE0F:
            data.append(cp - 0xFE00)
        elif 0xE0100 <= cp <= 0xE01EF:
            data.append(cp - 0xE0100 + 16)
    text = data.decode("utf-8", "replace")
    return text if len(data) >= 4 and _printable_share(text) > 0.8 else ""


def _decode_binary(run: str) -> str:
    symbols = [c for c in run if c in _ZERO_WIDTH]
    kinds = sorted(set(symbols))
    if len(kinds) != 2 or len(symbols) < 16:
        return ""
    best = ""
    for zero in kinds:
        bits = "".join("0" if c == zero else "1" for c in symbols)
        data = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits) - 7, 8))
        text = data.decode("utf-8", "replace")
        if _printable_share(text) > _printable_share(best):
            best = text
    return best if _printable_share(best) > 0.8 else ""


def _printable_share(text: str) -> float:
    if not text:
        return 0.0
    return sum(1 for c in text if c.isprintable() or c in "\n\t") / len(text)


def find_hidden(text: str) -> list[HiddenRun]:
    """Runs of hidden code points (neighbouring runs merged), each with what it decodes to."""
    runs: list[HiddenRun] = []
    flags = [(m.start(), m.end()) for m in _TAG_FLAG.finditer(text)] if "\U0001f3f4" in text else []
    for match in SUSPICIOUS.finditer(text):
        start, end, chunk = match.start(), match.end(), match.group()
        if any(a <= start and end <= b for a, b in flags) or _benign(text, start, chunk):
            continue
        if runs and start - runs[-1].end <= 2:  # "a\u200bb\u200c" style interleaving: one run
            run = runs[-1]
            run.end = end
        else:
            run = HiddenRun(start=start, end=end)
            runs.append(run)
        run.count += len(chunk)
        run.kinds.update(_kind(c) for c in set(chunk))
    for run in runs:
        raw = text[run.start : run.end]
        hidden = SUSPICIOUS.findall(raw)
        joined = "".join(hidden)
        decoded = ""
        if "tag characters" in run.kinds:
            decoded = _decode_tags(joined)
        if not decoded and "variation selectors" in run.kinds:
            decoded = _decode_selectors(joined)
        if not decoded and "zero-width characters" in run.kinds:
            decoded = _decode_binary(joined)
        run.decoded = decoded
        run.escaped = escape(raw)
    return runs


def ansi_hidden(text: str) -> tuple[str, str]:
    """For text with ANSI escapes: (text concealed with SGR 8, the text as a terminal would show it)."""
    concealed = " ".join(m.group(1) for m in _ANSI_CONCEAL.finditer(text) if m.group(1).strip())
    shown = _ANSI.sub("", _ANSI_CONCEAL.sub("", text))
    return concealed, shown


_RLO_SEGMENT = re.compile("[\u202e\u2067]([^\u202a-\u202e\u2066-\u2069]*)(?:[\u202c\u2069]|$)")


def bidi_display(text: str) -> str:
    """Roughly what a reader sees: right-to-left override segments reversed (enough to read the trick)."""
    return _RLO_SEGMENT.sub(lambda m: m.group(1)[::-1], text)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


# Letters of other scripts that read as Latin ones: a small, common subset of Unicode's confusables
# (UTS #39). NFKC already folds fullwidth and mathematical letters.
_LOOKALIKE = str.maketrans(
    "аеорсухіјѕһԁԛԝӏкАВЕКМНОРСТХУІЈЅαορνικυΑΒΕΖΗΙΚΜΝΟΡΤΥΧıℓ",
    "aeopcyxijshdqwlkABEKMHOPCTXYIJSaopvikuABEZHIKMNOPTYXil",
)


_LOOKALIKE_KEYS = "аеорсухіјѕһԁԛԝӏкАВЕКМНОРСТХУІЈЅαορνικυΑΒΕΖΗΙΚΜΝΟΡΤΥΧıℓ"
# A sign of disguised words: fullwidth or mathematical letters, or a look-alike letter beside a Latin one
_DISGUISE_HINT = re.compile(
    "[\uff01-\uff5e\U0001d400-\U0001d7ff]|[A-Za-z][" + _LOOKALIKE_KEYS + "]|[" + _LOOKALIKE_KEYS + "][A-Za-z]"
)
_LETTERS = re.compile(r"[^\W\d_]+")


def fold_disguise(text: str) -> str | None:
    """The text as it reads, when it disguises Latin words: fullwidth and mathematical letters (and fullwidth
    marks) as ASCII, Cyrillic or Greek look-alikes inside words that also have Latin letters as the Latin
    letters they imitate; offsets unchanged. None when nothing is disguised (a word wholly in Cyrillic or
    Greek is a word of that language)."""
    if text.isascii() or _DISGUISE_HINT.search(text) is None:
        return None
    chars = list(text)
    for index, ch in enumerate(chars):
        if "\uff01" <= ch <= "\uff5e" or "\U0001d400" <= ch <= "\U0001d7ff":
            folded = unicodedata.normalize("NFKC", ch)
            if len(folded) == 1 and folded.isascii():
                chars[index] = folded
    for match in _LETTERS.finditer("".join(chars)):
        word = match.group()
        if word.isascii() or not any(c.isascii() for c in word):
            continue
        read = word.translate(_LOOKALIKE)
        if read.isascii():
            chars[match.start() : match.end()] = list(read)
    out = "".join(chars)
    return out if out != text else None


def lookalike(name: str) -> tuple[str, list[tuple[int, str]]] | None:
    """For a name that reads as plain ASCII but is spelled with other code points (Cyrillic or Greek
    look-alikes, fullwidth letters): what it reads as, and the odd characters with their offsets."""
    if name.isascii():
        return None
    import unicodedata

    reads_as = unicodedata.normalize("NFKC", name).translate(_LOOKALIKE)
    if not reads_as.isascii() or not any(c.isalpha() for c in reads_as):
        return None  # a name in another script is a name, not a disguise
    odd = [(i, ch) for i, ch in enumerate(name) if not ch.isascii()]
    return reads_as, odd


def describe(ch: str) -> str:
    import unicodedata

    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}"
