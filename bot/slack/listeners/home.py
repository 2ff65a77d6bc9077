"""The App Home tab: how to use the bot, the reader's role picker, browsing by category.

The view is published when the tab opens and again after each choice on it. (The role
picker's clicks are handled with the other role pickers in `actions.py`.)
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import answering, blocks
from bot.slack.deps import Deps


async def publish_home(
    deps: Deps, client: AsyncWebClient, user_id: str, category: str | None = None
) -> None:
    """Publish the Home tab for `user_id`, listing `category`'s terms when one is chosen."""
    glossary = deps.glossary.current
    saved = await answering.saved_role(deps, user_id)
    current = deps.roles.find(saved) if saved else None
    categories = glossary.categories()
    if category is not None and category not in categories:
        category = None
    view = blocks.home_view(
        roles=deps.roles,
        current_role=current.name if current is not None else None,
        categories=categories,
        terms_in_category=glossary.list_terms(category=category) if category else None,
        category=category,
    )
    await client.views_publish(user_id=user_id, view=view)


async def _ack(ack: AsyncAck) -> None:
    await ack()


def register(app: AsyncApp, deps: Deps) -> None:
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab opened; nothing to publish
        await publish_home(deps, client, event["user"])

    async def browse_category(body: dict[str, Any], client: AsyncWebClient) -> None:
        action = body["actions"][0]
        category = (action.get("selected_option") or {}).get("value")
        await publish_home(deps, client, body["user"]["id"], category)

    # Publishing is idempotent, so a redelivered event needs no dedupe.
    app.event("app_home_opened")(ack=_ack, lazy=[home_opened])
    app.action(blocks.ACTION_BROWSE_CATEGORY)(ack=_ack, lazy=[browse_category])
