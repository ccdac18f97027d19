"""Our trusted markup: **bold**, [label](https://...), and "- " bullets, one paragraph or bullet a line."""

from __future__ import annotations


def reflow(text: str) -> str:
    """Join hard-wrapped lines, so each paragraph or bullet is one line that any renderer can wrap."""
    blocks: list[str] = []
    joining = False  # whether the next non-blank line continues the last block
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            if blocks and blocks[-1]:
                blocks.append("")
            joining = False
        elif joining and not stripped.startswith("- "):
            blocks[-1] += " " + stripped
        else:
            blocks.append(stripped)
            joining = True
    return "\n".join(blocks).strip()
