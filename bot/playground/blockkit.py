"""What Slack would reject in a message or a view: Block Kit's documented limits, checked.

Slack answers `invalid_blocks` (messages) or `invalid_arguments` (views) with one line per
problem, each ending in a JSON pointer to the offending field. The stand-in answers the same
way, so a layout that would fail in a real workspace fails in the playground too, and says
where. Limits: docs.slack.dev/reference/block-kit (blocks, block elements, composition
objects) and the views and chat.postMessage method pages.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000
HEADER_TEXT = 150
SECTION_TEXT = 3000
FIELDS = 10
FIELD_TEXT = 2000
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL = 3000
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTIONS = 100
PLACEHOLDER = 150
LABEL = 2000
HINT = 2000
INPUT_MAX_LENGTH = 3000
ID = 255
VIEW_TITLE = 24
VIEW_BUTTON = 24
PRIVATE_METADATA = 3000
CALLBACK_ID = 255

_TEXT_TYPES = ("plain_text", "mrkdwn")
_KNOWN_BLOCKS = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "rich_text",
        "section",
        "video",
    }
)


def message_problems(args: dict[str, Any]) -> list[str]:
    """Problems of a chat.* or response_url payload, as Slack words them."""
    problems: list[str] = []
    blocks = args.get("blocks") or []
    if not isinstance(blocks, list):
        return ["[ERROR] must be an array [json-pointer:/blocks]"]
    if len(blocks) > MESSAGE_BLOCKS:
        problems.append(
            f"[ERROR] no more than {MESSAGE_BLOCKS} items allowed [json-pointer:/blocks]"
        )
    problems.extend(_blocks(blocks, "/blocks", surface="message"))
    if len(str(args.get("text") or "")) > MESSAGE_TEXT:
        problems.append(f"[ERROR] text must be at most {MESSAGE_TEXT} characters")
    return problems


def view_problems(view: Any) -> list[str]:
    """Problems of a view for views.open, views.push, views.update or views.publish."""
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return ["[ERROR] must be a modal or home view [json-pointer:/view/type]"]
    problems: list[str] = []
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return ["[ERROR] missing required field: blocks [json-pointer:/view/blocks]"]
    if len(blocks) > VIEW_BLOCKS:
        problems.append(
            f"[ERROR] no more than {VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]"
        )
    surface = str(view["type"])
    problems.extend(_blocks(blocks, "/view/blocks", surface=surface))
    if surface == "modal":
        problems.extend(_text(view.get("title"), "/view/title", VIEW_TITLE, plain=True))
        for key in ("submit", "close"):
            if key in view:
                problems.extend(_text(view[key], f"/view/{key}", VIEW_BUTTON, plain=True))
        has_inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_inputs and "submit" not in view:
            problems.append(
                "[ERROR] a modal with input blocks needs a submit button "
                "[json-pointer:/view/submit]"
            )
    if len(str(view.get("private_metadata") or "")) > PRIVATE_METADATA:
        problems.append(
            f"[ERROR] must be at most {PRIVATE_METADATA} characters "
            "[json-pointer:/view/private_metadata]"
        )
    if len(str(view.get("callback_id") or "")) > CALLBACK_ID:
        problems.append(
            f"[ERROR] must be at most {CALLBACK_ID} characters [json-pointer:/view/callback_id]"
        )
    return problems


def _blocks(blocks: Sequence[Any], where: str, *, surface: str) -> Iterator[str]:
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"{where}/{index}"
        if not isinstance(block, dict):
            yield f"[ERROR] must be an object [json-pointer:{at}]"
            continue
        kind = block.get("type")
        if kind not in _KNOWN_BLOCKS:
            yield f"[ERROR] unsupported type: {kind} [json-pointer:{at}/type]"
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > ID:
                yield f"[ERROR] must be at most {ID} characters [json-pointer:{at}/block_id]"
            if block_id in block_ids:
                yield f"[ERROR] duplicate block_id {block_id} [json-pointer:{at}/block_id]"
            block_ids.add(str(block_id))
        if kind == "input" and surface == "message":
            yield f"[ERROR] input blocks are for modals and App Home [json-pointer:{at}]"
        yield from _block(block, at)


def _block(block: dict[str, Any], at: str) -> Iterator[str]:
    kind = block["type"]
    if kind == "header":
        yield from _text(block.get("text"), f"{at}/text", HEADER_TEXT, plain=True)
    elif kind == "section":
        fields = block.get("fields") or []
        if "text" not in block and not fields:
            yield f"[ERROR] a section needs text or fields [json-pointer:{at}]"
        if "text" in block:
            yield from _text(block["text"], f"{at}/text", SECTION_TEXT)
        if len(fields) > FIELDS:
            yield f"[ERROR] no more than {FIELDS} items allowed [json-pointer:{at}/fields]"
        for n, item in enumerate(fields):
            yield from _text(item, f"{at}/fields/{n}", FIELD_TEXT)
        if isinstance(block.get("accessory"), dict):
            yield from _element(block["accessory"], f"{at}/accessory")
    elif kind == "context":
        elements = block.get("elements") or []
        if not elements or len(elements) > CONTEXT_ELEMENTS:
            yield f"[ERROR] 1 to {CONTEXT_ELEMENTS} items allowed [json-pointer:{at}/elements]"
        for n, item in enumerate(elements):
            if isinstance(item, dict) and item.get("type") in _TEXT_TYPES:
                yield from _text(item, f"{at}/elements/{n}", SECTION_TEXT)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not elements or len(elements) > ACTIONS_ELEMENTS:
            yield f"[ERROR] 1 to {ACTIONS_ELEMENTS} items allowed [json-pointer:{at}/elements]"
        yield from _unique_action_ids(elements, f"{at}/elements")
        for n, item in enumerate(elements):
            yield from _element(item, f"{at}/elements/{n}")
    elif kind == "input":
        yield from _text(block.get("label"), f"{at}/label", LABEL, plain=True)
        if "hint" in block:
            yield from _text(block["hint"], f"{at}/hint", HINT, plain=True)
        if not isinstance(block.get("element"), dict):
            yield f"[ERROR] missing required field: element [json-pointer:{at}]"
        else:
            yield from _element(block["element"], f"{at}/element")


def _unique_action_ids(elements: Sequence[Any], at: str) -> Iterator[str]:
    seen: set[str] = set()
    for n, item in enumerate(elements):
        action_id = item.get("action_id") if isinstance(item, dict) else None
        if action_id is None:
            continue
        if action_id in seen:
            yield f"[ERROR] duplicate action_id {action_id} [json-pointer:{at}/{n}/action_id]"
        seen.add(str(action_id))


def _element(element: Any, at: str) -> Iterator[str]:
    if not isinstance(element, dict):
        yield f"[ERROR] must be an object [json-pointer:{at}]"
        return
    kind = element.get("type")
    if len(str(element.get("action_id") or "")) > ID:
        yield f"[ERROR] must be at most {ID} characters [json-pointer:{at}/action_id]"
    if "placeholder" in element:
        yield from _text(element["placeholder"], f"{at}/placeholder", PLACEHOLDER, plain=True)
    if kind == "button":
        yield from _text(element.get("text"), f"{at}/text", BUTTON_TEXT, plain=True)
        if len(str(element.get("value") or "")) > BUTTON_VALUE:
            yield f"[ERROR] must be at most {BUTTON_VALUE} characters [json-pointer:{at}/value]"
        if len(str(element.get("url") or "")) > URL:
            yield f"[ERROR] must be at most {URL} characters [json-pointer:{at}/url]"
        if element.get("style") not in (None, "primary", "danger"):
            yield f"[ERROR] must be primary or danger [json-pointer:{at}/style]"
    if kind == "plain_text_input":
        max_length = element.get("max_length")
        if max_length is not None and not 0 < int(max_length) <= INPUT_MAX_LENGTH:
            yield f"[ERROR] must be 1 to {INPUT_MAX_LENGTH} [json-pointer:{at}/max_length]"
        initial = str(element.get("initial_value") or "")
        if max_length is not None and len(initial) > int(max_length):
            yield f"[ERROR] longer than max_length [json-pointer:{at}/initial_value]"
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [] if isinstance(group, dict) else [])
    if len(options) > OPTIONS:
        yield f"[ERROR] no more than {OPTIONS} items allowed [json-pointer:{at}/options]"
    for n, option in enumerate(options):
        if not isinstance(option, dict):
            continue
        yield from _text(option.get("text"), f"{at}/options/{n}/text", OPTION_TEXT)
        if len(str(option.get("value") or "")) > OPTION_VALUE:
            pointer = f"{at}/options/{n}/value"
            yield f"[ERROR] must be at most {OPTION_VALUE} characters [json-pointer:{pointer}]"


def _text(obj: Any, at: str, limit: int, *, plain: bool = False) -> Iterator[str]:
    if not isinstance(obj, dict) or obj.get("type") not in _TEXT_TYPES:
        yield f"[ERROR] must be a text object [json-pointer:{at}]"
        return
    if plain and obj["type"] != "plain_text":
        yield f"[ERROR] must be plain_text [json-pointer:{at}/type]"
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        yield f"[ERROR] must be more than 0 characters [json-pointer:{at}/text]"
    elif _utf16_len(text) > limit:
        yield f"[ERROR] must be less than {limit + 1} characters [json-pointer:{at}/text]"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
