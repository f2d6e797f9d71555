"""What Slack would show for a Block Kit message, as plain terminal text."""

from __future__ import annotations

import re
from typing import Any

_MENTION = re.compile(r"<([@#!])([^|>]+)(?:\|([^>]+))?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")


def _plain(mrkdwn: str) -> str:
    text = _LINK.sub(r"\2 (\1)", mrkdwn)
    text = _MENTION.sub(lambda m: m.group(1).replace("!", "@") + (m.group(3) or m.group(2)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return _plain(str(obj.get("text", "")))
    return ""


def blocks_to_text(blocks: list[dict[str, Any]], fallback: str = "") -> str:
    """Block Kit blocks rendered as lines of text; the fallback when there are none."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text_of(block.get("text"))
            lines += [title.upper(), "=" * len(title)]
        elif kind == "section":
            if block.get("text"):
                lines.append(_text_of(block["text"]))
            lines += [f"  • {_text_of(field)}" for field in block.get("fields", [])]
        elif kind == "context":
            lines.append("  " + "  ".join(_text_of(e) for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "actions":
            labels = [f"[ {_text_of(e.get('text'))} ]" for e in block.get("elements", [])]
            lines.append(" ".join(labels))
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
    return "\n".join(lines) if lines else _plain(fallback)
