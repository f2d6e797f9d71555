"""What Slack would show for a Block Kit message, as plain terminal text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")
_MENTION = re.compile(r"<([@#!])([^|>]+)(?:\|([^>]+))?>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")


def _plain(mrkdwn: str, names: Mapping[str, str]) -> str:
    text = _DATE.sub(r"\1", mrkdwn)
    text = _LINK.sub(r"\2 (\1)", text)
    text = _BARE_LINK.sub(r"\1", text)

    def mention(match: re.Match[str]) -> str:
        sigil, target, label = match.group(1), match.group(2), match.group(3)
        shown = label or names.get(target, target)
        return ("#" if sigil == "#" else "@") + shown

    text = _MENTION.sub(mention, text)
    text = _BOLD.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text_of(obj: Any, names: Mapping[str, str]) -> str:
    if isinstance(obj, dict):
        return _plain(str(obj.get("text", "")), names)
    return ""


def blocks_to_text(
    blocks: list[dict[str, Any]], fallback: str = "", names: Mapping[str, str] | None = None
) -> str:
    """Block Kit blocks rendered as lines of text; the fallback when there are none.

    ``names`` shows user and channel ids by name, as Slack would.
    """
    names = names or {}
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text_of(block.get("text"), names)
            lines += [title.upper(), "=" * len(title)]
        elif kind == "section":
            if block.get("text"):
                lines.append(_text_of(block["text"], names))
            lines += [
                f"  • {_text_of(field, names).replace(chr(10), ': ', 1)}" for field in block.get("fields", [])
            ]
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") == "button":
                lines.append(f"  [ {_text_of(accessory.get('text'), names)} ]")
        elif kind == "context":
            lines.append("  " + "  ".join(_text_of(e, names) for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "actions":
            labels = [f"[ {_text_of(e.get('text'), names)} ]" for e in block.get("elements", [])]
            lines.append(" ".join(labels))
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
    return "\n".join(lines) if lines else _plain(fallback, names)
