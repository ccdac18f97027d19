"""User text shown as it is: characters that hide or reorder text are made visible, as `<U+202E>`.

A right-to-left override turns `…/\u202egpj.exe` into what reads as `exe.jpg`, and zero-width
characters hide inside words and links; whoever reads user text (a lead, an export's reader) must
see them. Every renderer's escape function calls `reveal_hidden` before its own escaping.
"""

from __future__ import annotations

import re

# Unicode's format characters (category Cf: bidi embeddings, overrides, isolates and marks,
# zero-width space and joiners, the BOM, invisible operators, tag characters; a test checks the
# list against unicodedata), plus the combining grapheme joiner and the Hangul fillers, which
# draw nothing either.
_HIDDEN = re.compile(
    "[\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
_PICTOGRAPH = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27bf\ufe0f]")
_ZWJ = "\u200d"


def reveal_hidden(text: str) -> str:
    """`text` with each invisible or reordering character written out as `<U+XXXX>`."""
    if text.isascii():
        return text

    def shown(match: re.Match[str]) -> str:
        at = match.start()
        # A zero-width joiner between two pictographs builds one emoji (a family, 👩‍💻): nothing hides there.
        if match.group() == _ZWJ and 0 < at < len(text) - 1 and _PICTOGRAPH.match(text[at - 1]) \
                and _PICTOGRAPH.match(text[at + 1]):
            return _ZWJ
        return f"<U+{ord(match.group()):04X}>"
    return _HIDDEN.sub(shown, text)
