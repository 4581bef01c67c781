"""Decode, then scan: encoded runs anywhere in a string (base64 and base64url, hex, percent-encoding, `\\u`/`\\x`
escapes), peeled layer by layer (base64 of percent-encoded text, ...) into the text they hide.

Bounded: at most MAX_BLOBS runs per string are tried, each at most MAX_BLOB characters, at most MAX_DEPTH
layers, and only a result that reads as text (printable, mostly letters and spaces) is kept. Binary data
(images, hashes, keys) decodes to bytes that are not text and stays quiet.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from urllib.parse import unquote

MAX_BLOBS = 4
MAX_BLOB = 16 * 1024
MAX_DEPTH = 3
MIN_B64 = 24

# A run of base64 characters may follow '=' (a query parameter: `?cfg=...`), never another base64 character.
_B64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{24,16384}+={0,2}")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){16,8192}+(?![0-9A-Fa-f])")
# Percent-encoded text: escapes with up to a word of plain characters between them ("Read%20the%20.env%20file").
_PCT = re.compile(r"(?:%[0-9A-Fa-f]{2}[^\s%\"'<>()]{0,24}+){6,4096}+")
_ESC = re.compile(r"(?:\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}){4,4096}+")


@dataclass(frozen=True, slots=True)
class Decoded:
    start: int
    end: int
    layers: tuple[str, ...]  # "base64", "hex", ... outermost first
    text: str

    @property
    def how(self) -> str:
        return " of ".join(reversed(self.layers)) if len(self.layers) > 1 else self.layers[0]


def readable(text: str) -> bool:
    """Text a person (or a model) would read: printable, mostly letters and spaces, with a space, a URL or a
    non-Latin script (CJK has no spaces)."""
    if not text or not text.isprintable():
        return False
    letters = sum(1 for c in text if c.isalpha() or c == " ")
    return letters / len(text) > 0.5 and (" " in text or "://" in text or not text.isascii())


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def decode_base64(blob: str) -> str:
    """The text a base64 (or base64url) run decodes to, or '' when it is not text."""
    raw = blob.rstrip("=")
    if len(raw) % 4 == 1:
        return ""
    padded = raw + "=" * (-len(raw) % 4)
    try:
        if "-" in raw or "_" in raw:
            data = base64.urlsafe_b64decode(padded)
        else:
            data = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return _utf8(data)


def _hex(blob: str) -> str:
    try:
        return _utf8(bytes.fromhex(blob))
    except ValueError:
        return ""


def _pct(blob: str) -> str:
    return unquote(blob, errors="strict") if blob.count("%") >= 6 else ""


def _esc(blob: str) -> str:
    try:
        return blob.encode("ascii").decode("unicode_escape")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return ""


_DECODERS = (
    ("base64", _B64, decode_base64),
    ("hex", _HEX, _hex),
    ("url-encoding", _PCT, _pct),
    ("escapes", _ESC, _esc),
)


def _pct_safe(blob: str) -> str:
    try:
        return _pct(blob)
    except UnicodeDecodeError:
        return ""


def _peel(text: str, layers: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Decode further while the whole text is itself one encoded run (up to MAX_DEPTH layers)."""
    while len(layers) < MAX_DEPTH:
        stripped = text.strip()
        for name, pattern, decode in _DECODERS:
            if name == "url-encoding":  # percent-encoded text keeps its unreserved characters (~ / . _ -)
                match = stripped.count("%") >= 6 and not any(c.isspace() for c in stripped)
            else:
                match = pattern.fullmatch(stripped) is not None
            inner = (_pct_safe if name == "url-encoding" else decode)(stripped) if match else ""
            if inner and inner != stripped:
                layers, text = (*layers, name), inner
                break
        else:
            return layers, text
    return layers, text


def candidates(text: str) -> list[tuple[int, int, str]]:
    """Encoded-looking runs (start, end, kind), in order, at most MAX_BLOBS; a hex run is not also base64."""
    found: list[tuple[int, int, str]] = []
    if "%" in text:
        found += [(*m.span(), "url-encoding") for m in _PCT.finditer(text)]
    if "\\" in text:
        found += [(*m.span(), "escapes") for m in _ESC.finditer(text)]
    for match in _HEX.finditer(text):
        found.append((*match.span(), "hex"))
    hexes = {(s, e) for s, e, k in found if k == "hex"}
    for match in _B64.finditer(text):
        if match.span() not in hexes and not _is_identifier(match.group()):
            found.append((*match.span(), "base64"))
    found.sort()
    return found[:MAX_BLOBS]


def _is_identifier(run: str) -> bool:
    """snake_case / kebab-case names and paths of words are not base64 (they decode to noise anyway)."""
    return run.islower() or bool(re.fullmatch(r"[A-Za-z]+(?:[_-][A-Za-z]+)+", run))


def decode_all(text: str) -> list[Decoded]:
    """Every encoded run of `text` that decodes (through up to MAX_DEPTH layers) to readable text."""
    out: list[Decoded] = []
    for start, end, kind in candidates(text):
        blob = text[start:end]
        if len(blob) > MAX_BLOB:
            continue
        decode = dict((name, fn) for name, _, fn in _DECODERS)[kind]
        inner = _pct_safe(blob) if kind == "url-encoding" else decode(blob)
        if not inner or inner == blob:
            continue
        layers, inner = _peel(inner, (kind,))
        if readable(inner):
            out.append(Decoded(start, end, layers, inner[:MAX_BLOB]))
    return out


# Hints that the text after them is written in a letter shift (ROT13, Caesar) or backwards, in several languages
_HINT_SHIFT = re.compile(r"rot[- ]?13|\bcaesar|\bc[ée]sar\b|\bcäsar", re.IGNORECASE)
_HINT_REVERSED = re.compile(
    r"\brevers(?:ed|e)\b|\bbackwards?\b|\bright[- ]to[- ]left\b|à l'envers|al rev[ée]s|r[üu]ckw[äa]rts|de trás para a frente"
    r"|alla rovescia|задом наперёд|справа налево|в обратном порядке|tersine|terbalik|od końca|ngược lại"
    r"|逆から|逆順|倒着|反过来|倒过来|거꾸로|उल्टा|بالعكس|معکوس",
    re.IGNORECASE,
)
# Words (lowercase, ASCII) that mark a possible hint, for the scanner's cheap first test
HINT_WORDS = frozenset(
    {"rot13", "rot", "caesar", "cesar", "reverse", "reversed", "backwards", "backward", "left"}
)
_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)
_AFTER_HINT = re.compile(r"[^\n]{0,40}?[:：)）\]】]\s*+")
MAX_HINTED = 2000


def decode_hinted(text: str) -> list[Decoded]:
    """Text a hint says is shifted (ROT13) or written backwards: the rest of the hint's line (after its colon or
    closing bracket), shifted back or reversed. Kept only when it reads as text; the rules judge what it says."""
    out: list[Decoded] = []
    for pattern, how in ((_HINT_SHIFT, "rot13"), (_HINT_REVERSED, "reversed")):
        match = pattern.search(text)
        if match is None:
            continue
        lead = _AFTER_HINT.match(text, match.end())
        start = lead.end() if lead else match.end()
        line_end = text.find("\n", start)
        end = min(line_end if line_end >= 0 else len(text), start + MAX_HINTED)
        segment = text[start:end]
        if len(segment.strip()) < 12:
            continue
        letters = [c for c in segment if c.isalpha()]
        if how == "rot13" and sum(c.isascii() for c in letters) < 0.7 * len(letters):
            continue  # ROT13 shifts Latin letters only: text in another script is not in it
        decoded = segment.translate(_ROT13) if how == "rot13" else segment[::-1]
        if readable(decoded):
            out.append(Decoded(start, end, (how,), decoded))
    return out
