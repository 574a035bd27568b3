"""Text encoding of the line-based bank formats (MT940, BAI2): detected, recorded, never a crash.

Banks send UTF-8, or one of the single-byte code pages of their country: ISO 8859-1 (Latin-1) and Windows-1252
in Western Europe, ISO 8859-2 (Latin-2) and Windows-1250 in Central Europe. A file that is valid UTF-8 is
UTF-8 (ASCII when it has no byte above 0x7F). Otherwise each candidate decodes the file and is scored on its
non-ASCII characters: a letter is what bank text is made of, a C1 control character (what Latin-1 and Latin-2
make of bytes 0x80-0x9F) or an odd symbol (``³``, ``¶``, ``¼`` where Latin-2 has ``ł``, ``ś``, ``ź``) is not.
The best score wins; ties go to the first candidate in CANDIDATES. German umlauts and French accents are the
same letters in all four, so a tie costs nothing. Statistical detectors (charset-normalizer) were tried first:
on a few hundred bytes of bank text they named Windows-1250 for German and French files alike.
"""

from __future__ import annotations

import unicodedata

CANDIDATES = ("iso-8859-1", "cp1252", "iso-8859-2", "cp1250")
# Symbols that bank texts do use; any other non-letter above ASCII counts against a decoding.
_PLAIN_SYMBOLS = frozenset("€£¥§°–—‘’‚“”„«»·´×÷½ \u00a0")
_ASCII = bytes(range(0x80))


def _score(text: str) -> int:
    score = 0
    for char in text:
        if char < "\x80":
            continue
        if "\x80" <= char <= "\x9f":
            score -= 10                                   # a C1 control: these bytes were meant otherwise
        elif char.isalpha():
            score += 2
        elif char not in _PLAIN_SYMBOLS:
            score -= 3 if unicodedata.category(char)[0] in "SNP" else 1
    return score


def decode_bank_text(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of a line-based bank file; a UTF-8 byte-order mark is dropped."""
    if data[:3] == b"\xef\xbb\xbf":
        return data[3:].decode("utf-8", errors="replace"), "utf-8"
    if data.isascii():
        return data.decode("ascii"), "ascii"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    non_ascii = data.translate(None, _ASCII)             # only these bytes differ between the candidates
    best: tuple[int, int, str] | None = None
    for rank, name in enumerate(CANDIDATES):
        try:
            sample = non_ascii.decode(name)
        except UnicodeDecodeError:
            continue                                      # cp1252 / cp1250 leave a few bytes undefined
        candidate = (_score(sample), -rank, name)
        if best is None or candidate > best:
            best = candidate
    assert best is not None                               # iso-8859-1 decodes every byte
    return data.decode(best[2]), best[2]
