"""Block Kit as Slack checks it before it keeps a message or a view.

The limits are Slack's own (docs.slack.dev/reference/block-kit/blocks and each block's page): 50 blocks
in a message and 100 in a modal or Home tab; a section's text at most 3,000 characters and its fields
at most 10 of 2,000; a header's text 150; a context at most 10 elements and an actions block 25; a
`block_id` or an `action_id` at most 255 characters, a block_id unique in its message or view, an
action_id unique in its block; a button's text 75, its value 2,000 and its url 3,000; a static
select's options 1 to 100, each option's text 75 and its value 150, its placeholder 150, and its
initial_option one of its options (docs.slack.dev/reference/block-kit/block-elements/select-menu-element,
and the option object in composition-objects). A text object holds 1 to
3,000 characters wherever it is, a context's elements included ("The minimum length is 1 and maximum
length is 3000 characters", the text object's reference). A view's `private_metadata` holds 3,000
characters and a modal's title, close and submit texts 24 each, its callback_id 255; a modal with an
input block needs a submit button ("submit is required when an input block is within the blocks
array", docs.slack.dev/reference/views/modal-views).

Slack answers a message whose blocks break them with `invalid_blocks` and one line per problem, each
naming where it is with a JSON pointer, in `errors` and, prefixed `[ERROR]`, in
`response_metadata.messages` (answers quoted in public issue threads, e.g. `must be less than 3001
characters [json-pointer:/blocks/0/text/text]`). Blocks that are not a JSON array of objects with a
`type` are `invalid_blocks_format`. Views answer `invalid_arguments` with the same lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
ID_LENGTH = 255
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
TEXT_OBJECT = 3000
PRIVATE_METADATA = 3000
MODAL_TITLE = 24
SELECT_OPTIONS = 100
OPTION_TEXT = 75
OPTION_VALUE = 150
PLACEHOLDER_TEXT = 150


class Malformed(ValueError):
    """The blocks are not Block Kit at all: not an array of objects that each name a type."""


def problems(blocks: Any, *, limit: int, pointer: str = "/blocks") -> list[str]:
    """What Slack would refuse in ``blocks``, one line each; raises `Malformed` for what it can't read."""
    if not isinstance(blocks, list) or not all(
        isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks
    ):
        raise Malformed(pointer)
    found: list[str] = []
    if len(blocks) > limit:
        found.append(f"no more than {limit} items allowed [json-pointer:{pointer}]")
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"{pointer}/{index}"
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if len(block_id) > ID_LENGTH:
                found.append(_too_long(ID_LENGTH, f"{at}/block_id"))
            if block_id in seen_ids:
                found.append(f"Block ID needs to be unique [json-pointer:{at}/block_id]")
            seen_ids.add(block_id)
        found += _block_problems(block, at)
    return found


def _is_block(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("type"), str)


def _too_long(limit: int, at: str) -> str:
    return f"must be less than {limit + 1} characters [json-pointer:{at}]"


def _too_short(at: str) -> str:
    return f"must be more than 0 characters [json-pointer:{at}]"


def _text(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return str(value["text"])
    return None


def _block_problems(block: dict[str, Any], at: str) -> Iterator[str]:
    kind = block["type"]
    if kind == "section":
        text, fields = _text(block.get("text")), block.get("fields")
        if text is None and not fields:
            yield f"failed to match all allowed schemas [json-pointer:{at}]"
        if text is not None and len(text) > SECTION_TEXT:
            yield _too_long(SECTION_TEXT, f"{at}/text/text")
        if text == "":
            yield _too_short(f"{at}/text/text")
        if isinstance(fields, list):
            if len(fields) > SECTION_FIELDS:
                yield f"no more than {SECTION_FIELDS} items allowed [json-pointer:{at}/fields]"
            for n, field in enumerate(fields):
                if (field_text := _text(field)) is not None and len(field_text) > FIELD_TEXT:
                    yield _too_long(FIELD_TEXT, f"{at}/fields/{n}/text")
        if isinstance(block.get("accessory"), dict):
            yield from _element_problems(block["accessory"], f"{at}/accessory")
    elif kind == "header":
        text = _text(block.get("text"))
        if text is not None and len(text) > HEADER_TEXT:
            yield _too_long(HEADER_TEXT, f"{at}/text/text")
    elif kind in ("context", "actions"):
        elements = block.get("elements")
        limit = CONTEXT_ELEMENTS if kind == "context" else ACTIONS_ELEMENTS
        if isinstance(elements, list):
            if len(elements) > limit:
                yield f"no more than {limit} items allowed [json-pointer:{at}/elements]"
            action_ids: set[str] = set()
            for n, element in enumerate(elements):
                if not isinstance(element, dict):
                    continue
                if kind == "context" and (element_text := _text(element)) is not None:
                    if len(element_text) > TEXT_OBJECT:
                        yield _too_long(TEXT_OBJECT, f"{at}/elements/{n}/text")
                    if element_text == "":
                        yield _too_short(f"{at}/elements/{n}/text")
                action_id = element.get("action_id")
                if isinstance(action_id, str):
                    if action_id in action_ids:
                        yield f"action_id needs to be unique [json-pointer:{at}/elements/{n}/action_id]"
                    action_ids.add(action_id)
                yield from _element_problems(element, f"{at}/elements/{n}")
    elif kind == "input" and isinstance(block.get("element"), dict):
        yield from _element_problems(block["element"], f"{at}/element")


def _element_problems(element: dict[str, Any], at: str) -> Iterator[str]:
    action_id = element.get("action_id")
    if isinstance(action_id, str) and len(action_id) > ID_LENGTH:
        yield _too_long(ID_LENGTH, f"{at}/action_id")
    if element.get("type") == "button":
        text = _text(element.get("text"))
        if text is not None and len(text) > BUTTON_TEXT:
            yield _too_long(BUTTON_TEXT, f"{at}/text/text")
        value = element.get("value")
        if isinstance(value, str) and len(value) > BUTTON_VALUE:
            yield _too_long(BUTTON_VALUE, f"{at}/value")
        url = element.get("url")
        if isinstance(url, str) and len(url) > BUTTON_URL:
            yield _too_long(BUTTON_URL, f"{at}/url")
    if element.get("type") == "static_select":
        yield from _select_problems(element, at)


def _select_problems(element: dict[str, Any], at: str) -> Iterator[str]:
    placeholder = _text(element.get("placeholder"))
    if placeholder is not None and len(placeholder) > PLACEHOLDER_TEXT:
        yield _too_long(PLACEHOLDER_TEXT, f"{at}/placeholder/text")
    options = element.get("options")
    if not isinstance(options, list):
        return
    if not options:
        yield f"must provide at least 1 items [json-pointer:{at}/options]"
    if len(options) > SELECT_OPTIONS:
        yield f"no more than {SELECT_OPTIONS} items allowed [json-pointer:{at}/options]"
    for n, option in enumerate(options):
        text = _text(option.get("text")) if isinstance(option, dict) else None
        if text is not None and len(text) > OPTION_TEXT:
            yield _too_long(OPTION_TEXT, f"{at}/options/{n}/text/text")
        value = option.get("value") if isinstance(option, dict) else None
        if isinstance(value, str) and len(value) > OPTION_VALUE:
            yield _too_long(OPTION_VALUE, f"{at}/options/{n}/value")
    initial = element.get("initial_option")
    if initial is not None and initial not in options:
        yield f"initial_option must match one of the options [json-pointer:{at}/initial_option]"


def view_problems(view: dict[str, Any]) -> list[str]:
    """What Slack would refuse in a view besides its blocks: its private_metadata, a modal's title,
    close and submit texts and callback_id, and a modal of inputs without a submit button."""
    found: list[str] = []
    metadata = view.get("private_metadata")
    if isinstance(metadata, str) and len(metadata) > PRIVATE_METADATA:
        found.append(_too_long(PRIVATE_METADATA, "/view/private_metadata"))
    for name in ("title", "close", "submit"):
        button_text = _text(view.get(name))
        if button_text is not None and len(button_text) > MODAL_TITLE:
            found.append(_too_long(MODAL_TITLE, f"/view/{name}/text"))
    callback_id = view.get("callback_id")
    if isinstance(callback_id, str) and len(callback_id) > ID_LENGTH:
        found.append(_too_long(ID_LENGTH, "/view/callback_id"))
    blocks = view.get("blocks")
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if view.get("type") == "modal" and has_input and _text(view.get("submit")) is None:
        found.append(
            "submit is required when an input block is within the blocks array [json-pointer:/view/submit]"
        )
    return found
