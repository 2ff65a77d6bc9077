"""The least a Bolt app can do: ack `/define` with fixed text. The yardstick for e2e.py.

    SLACK_BOT_TOKEN=... SLACK_SIGNING_SECRET=... SLACK_API_URL=... python -m benchmarks.minimal_bolt

An AsyncApp with `process_before_response=True` (as the bot's), served by aiohttp through
the same Bolt adapter calls as `bot.slack.server`, with request verification on. Prints
`listening on http://127.0.0.1:PORT` once ready; stops on SIGTERM.

With BENCH_FIXED_MESSAGE naming a JSON file of a message (`text` and `blocks`, such as an
answer the bot gave), it acks with that message instead of one line of text: what sending an
answer of that size costs in Bolt and aiohttp, without finding or rendering it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

FIXED_TEXT = "A fixed answer, the same for every term."


def build() -> web.Application:
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]
    )
    app = AsyncApp(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=True,
    )

    fixed_file = os.environ.get("BENCH_FIXED_MESSAGE")
    message = json.loads(Path(fixed_file).read_text()) if fixed_file else {"text": FIXED_TEXT}

    @app.command("/define")
    async def define(ack: AsyncAck) -> None:
        await ack(response_type="ephemeral", **message)

    async def events(request: web.Request) -> web.Response:
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    return web_app


async def serve() -> None:
    runner = web.AppRunner(build(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"listening on http://127.0.0.1:{port} (/slack/events)", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve())
    sys.exit(0)
