"""Live reload: watch GLOSSARY_TERMS_DIR, rebuild off the event loop, swap, report, call hooks.

Three things start a reload: a change under the folder (watchfiles, debounced, unless
GLOSSARY_WATCH=false), SIGHUP, and a triager's `/define reload`. One reload runs at a time;
changes that arrive meanwhile are picked up by the next one.

A reload reads every file and builds the new index in a worker thread (10k terms take seconds,
and the event loop must keep answering meanwhile), then swaps it in with one assignment
(`GlossaryHolder.swap`): a request sees the old index or the new one, never a mix. A file that
no longer loads keeps its last good version (`bot.glossary.reload.merge_last_good`); its
`path:line` errors are logged, shown by /healthz, and posted once to GLOSSARY_INTAKE_CHANNEL
for the maintainers, through the outbox: its dedupe key (`errors_post_key`) lets one replica
post what every replica finds. Again only when a file breaks differently, or breaks again
after a fix on a later day.
After each swap every `Deps.reload_hooks` hook runs, in the background and in order; a hook
that fails is logged and never stops the watcher or the next hook. A hook that fails because
the store is briefly unavailable (`StoreError`) is tried again in the background after 1, 5
and 30 s (`HOOK_RETRY_SECONDS`), then given up with an error in the log; a newer reload runs
every hook afresh and so supersedes the retries of an older one.

If the folder cannot be read at all (deleted, unmounted), nothing is swapped: the bot keeps
answering from the glossary it has, /healthz says so, and the watcher tries again until the
folder is back.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Collection, Sequence
from contextlib import suppress
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from watchfiles import awatch

from bot.glossary.cache import GlossaryCache
from bot.glossary.load import GlossaryFolderError, load_glossary, paused_gc
from bot.glossary.problems import Problem, Severity
from bot.glossary.reload import (
    ErrorSignature,
    Merge,
    ReloadOutcome,
    error_signatures,
    merge_last_good,
    terms_by_path,
    unannounced,
)
from bot.glossary.resolve import Glossary
from bot.intake.jobs import GlossaryErrorsPost, errors_post_key
from bot.slack import blocks
from bot.slack.blocks import Message
from bot.slack.deps import Deps, ReloadHook
from bot.store import StoreError

log = logging.getLogger(__name__)

WATCH_DEBOUNCE_MS = 1_000  # group a burst of changes for at most this long...
WATCH_QUIET_MS = 200  # ...and reload once the folder has been quiet this long
WATCH_RETRY_SECONDS = 10.0  # after the watcher fails (folder gone, too many watches)
STOP_TIMEOUT_SECONDS = 5.0
HOOK_RETRY_SECONDS: tuple[float, ...] = (1.0, 5.0, 30.0)  # a hook that hit a StoreError
RELOAD_ACK_SECONDS = 2.0  # answer `/define reload` in the ack if the reload is this quick
MAX_LISTED_PROBLEMS = 10
MAX_PROBLEM_CHARS = 200  # ten lines of this fit one section (3000 characters)

# What the bot says (plain text; builders escape it, as in messages.py).
RELOAD_NOT_ALLOWED = (
    "Only glossary triagers can reload the glossary. Edits to the term files are picked up "
    "on their own; if one is not, ask a triager."
)
RELOAD_UNAVAILABLE = "Reloading is not available in this deployment."
RELOADING = "Reloading the glossary… I'll tell you here when it is done."
FIXED_WATCHING = "Fix them and the bot picks the change up on its own:"
FIXED_NOT_WATCHING = "Fix them, then reload (`/define reload` or SIGHUP):"


def display_path(path: str) -> str:
    """A term file as maintainers know it: `terms/rag.yml`, not the server's absolute path."""
    file = Path(path)
    return f"{file.parent.name}/{file.name}" if file.parent.name else file.name


def _problem_line(problem: Problem, kept: Collection[str]) -> str:
    where = f"{display_path(problem.path)}:{problem.line}:{problem.col}"
    if problem.severity is not Severity.ERROR:
        fate = ""
    elif problem.path in kept:
        fate = " (its last good version is still served)"
    else:
        fate = " (left out: it has not loaded yet)"
    return f"• `{where}` {_clip(problem.message, MAX_PROBLEM_CHARS)}{fate}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _problem_lines(problems: list[Problem], kept: Collection[str]) -> list[str]:
    lines = [_problem_line(p, kept) for p in problems[:MAX_LISTED_PROBLEMS]]
    if len(problems) > MAX_LISTED_PROBLEMS:
        lines.append(f"…and {len(problems) - MAX_LISTED_PROBLEMS} more (see the bot's log).")
    return lines


def _files(count: int) -> str:
    return "1 term file" if count == 1 else f"{count} term files"


def reload_outcome_message(outcome: ReloadOutcome) -> Message:
    """What `/define reload` answers: terms in service, and any errors with path:line."""
    if outcome.failure is not None:
        return blocks.notice_message(
            f"The glossary was not reloaded: {outcome.failure}. "
            f"I keep answering from the {outcome.terms} terms I have."
        )
    errors = list(outcome.errors)
    head = f"Reloaded the glossary: {outcome.terms} terms in {outcome.seconds:.1f} s"
    if not errors:
        return blocks.notice_message(f"{head}, no errors.")
    broken = len({p.path for p in errors})
    lines = [f"{head}. {_files(broken)} with errors:"]
    lines += _problem_lines(errors, outcome.kept)
    return blocks.notice_message("\n".join(lines))


def broken_files_message(
    outcome: ReloadOutcome, paths: Collection[str], *, watching: bool = True
) -> Message:
    """The post for maintainers in the intake channel about newly broken term files."""
    errors = [p for p in outcome.errors if p.path in paths]
    count = len({p.path for p in errors})
    then = FIXED_WATCHING if watching else FIXED_NOT_WATCHING
    lines = [f"⚠️ The glossary reload found errors in {_files(count)}. {then}"]
    lines += _problem_lines(errors, outcome.kept)
    return blocks.notice_message("\n".join(lines))


def rebuild(
    terms_dir: Path, previous: Glossary, cache: GlossaryCache | None = None
) -> tuple[Merge, Glossary]:
    """Read the folder and build the next index (run in a worker thread: it takes a while).

    Files unchanged since the cache last saw them are not parsed again, and when every file
    loaded (nothing kept from before) the index itself may come from the cache. The cycle
    collector is paused meanwhile and the result frozen out of its sight (`paused_gc`): a
    rebuild makes about a million objects, and every collection walking them holds the GIL,
    which stalled the event loop for a second or two at a time at 10k terms.
    """
    with paused_gc(freeze=True):
        loaded = load_glossary(terms_dir, cache=cache)
        merged = merge_last_good(terms_by_path(previous.terms.values()), loaded.files)
        if cache is not None and not merged.kept:
            return merged, cache.glossary(terms_dir, loaded)
        return merged, Glossary(merged.terms)


class Reloader:
    """Reloads the glossary in `deps` on file changes, SIGHUP and `reload()` calls."""

    def __init__(
        self,
        deps: Deps,
        terms_dir: Path,
        *,
        watch: bool = True,
        cache: GlossaryCache | None = None,
        hook_retry_seconds: Sequence[float] = HOOK_RETRY_SECONDS,
    ) -> None:
        self.deps = deps
        self.hook_retry_seconds = tuple(hook_retry_seconds)
        self.terms_dir = terms_dir
        self.cache = cache
        self.watch_enabled = watch
        self.watch_error: str | None = None
        self._lock = asyncio.Lock()
        self._hooks_lock = asyncio.Lock()
        # Set when a newer reload (or stop) supersedes the hook retries waiting on it.
        self._superseded = asyncio.Event()
        self._retries: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sighup = False
        holder = deps.glossary
        # Errors present at start-up are in the log and /healthz already: not news for Slack.
        self._announced: dict[str, ErrorSignature] = error_signatures(holder.problems)
        if holder.last_reload is None:
            in_service = terms_by_path(holder.current.terms.values())
            holder.last_reload = ReloadOutcome(
                "start",
                holder.loaded_at,
                len(holder.current.terms),
                holder.problems,
                kept=(),
                left_out=tuple(p for p in self._announced if p not in in_service),
            )
        deps.reload = self.reload
        deps.health_checks.append(self._health)

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen for SIGHUP and, unless watching is off, for changes to the folder; run the
        hooks once on the glossary the bot started with (terms deployed while it was down
        ship too), with the same retries as after a reload."""
        self.deps.background.spawn(
            self._run_hooks(self.deps.glossary.current, self._superseded),
            name="reload hooks at start-up",
        )
        loop = asyncio.get_running_loop()
        sighup = getattr(signal, "SIGHUP", None)
        if sighup is not None:
            with suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sighup, self._on_sighup)
                self._sighup = True
        if self.watch_enabled:
            self._task = asyncio.create_task(self._watch(), name="glossary watcher")
            # One turn of the loop lets the watcher register with the OS before we go on, so
            # an edit made as soon as the bot says it is listening is not missed.
            await asyncio.sleep(0)
            log.info("live reload: watching %s for changes", self.terms_dir)
        else:
            log.info("live reload: watching is off (GLOSSARY_WATCH=false); SIGHUP still reloads")

    async def stop(self) -> None:
        """Stop watching (a reload in progress is abandoned; the store is not involved)."""
        self._stop.set()
        self._supersede_retries()
        if self._sighup:
            with suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._sighup = False
        task, self._task = self._task, None
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT_SECONDS)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)

    def _on_sighup(self) -> None:
        log.info("live reload: SIGHUP received")
        self.deps.background.spawn(self.reload("signal"), name="reload on SIGHUP")

    async def _health(self) -> list[str]:
        return [f"live reload: {self.watch_error}"] if self.watch_error else []

    async def _watch(self) -> None:
        recovering = False
        while not self._stop.is_set():
            try:
                if recovering:
                    await self._reload_or_raise()
                async for changes in awatch(
                    self.terms_dir,
                    stop_event=self._stop,
                    debounce=WATCH_DEBOUNCE_MS,
                    step=WATCH_QUIET_MS,
                ):
                    names = ", ".join(sorted({Path(path).name for _, path in changes})[:5])
                    log.info("live reload: %s changed; reloading", names)
                    await self._reload_or_raise()
                return
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive any failure
                recovering = True
                self.watch_error = f"cannot watch {self.terms_dir}: {exc}"
                log.error("live reload: %s; trying again in %.0f s", exc, WATCH_RETRY_SECONDS)
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), WATCH_RETRY_SECONDS)

    async def _reload_or_raise(self) -> None:
        outcome = await self.reload("watch")
        if outcome.failure is not None:
            # Watching a folder that is gone sees nothing more: start over once it is back.
            raise GlossaryFolderError(outcome.failure)
        self.watch_error = None

    # -- reloading ---------------------------------------------------------------------------

    async def reload(self, reason: str) -> ReloadOutcome:
        """Reload now. Never raises: a failure is reported in the outcome and the log."""
        async with self._lock:
            started = time.perf_counter()
            holder = self.deps.glossary
            previous = holder.current
            swapped: Glossary | None = None
            try:
                merged, glossary = await asyncio.to_thread(
                    rebuild, self.terms_dir, previous, self.cache
                )
            except GlossaryFolderError as exc:
                outcome = self._failed(reason, previous, str(exc), started)
            except Exception:
                log.exception("live reload: could not rebuild the glossary")
                failure = "an unexpected error (see the bot's log)"
                outcome = self._failed(reason, previous, failure, started)
            else:
                holder.swap(glossary, merged.problems)
                swapped = glossary
                outcome = ReloadOutcome(
                    reason,
                    holder.loaded_at,
                    len(glossary.terms),
                    merged.problems,
                    merged.kept,
                    merged.left_out,
                    seconds=time.perf_counter() - started,
                )
            holder.last_reload = outcome
            self.deps.metrics.reloaded(outcome)
            self._log(outcome)
            if swapped is not None:
                fresh = self._take_unannounced(outcome)
                self.deps.background.spawn(
                    self._after_swap(swapped, outcome, fresh), name="after glossary reload"
                )
            return outcome

    def _failed(
        self, reason: str, previous: Glossary, failure: str, started: float
    ) -> ReloadOutcome:
        return ReloadOutcome(
            reason,
            datetime.now(UTC),
            len(previous.terms),
            failure=failure,
            seconds=time.perf_counter() - started,
        )

    def _log(self, outcome: ReloadOutcome) -> None:
        fields: dict[str, Any] = {
            "event": "glossary_reload",
            "reason": outcome.reason,
            "terms": outcome.terms,
            "errors": len(outcome.errors),
            "kept": list(outcome.kept),
            "seconds": round(outcome.seconds, 3),
        }
        if outcome.failure is not None:
            fields["failure"] = outcome.failure
            log.error(
                "live reload (%s): not reloaded: %s; still serving %d terms",
                outcome.reason,
                outcome.failure,
                outcome.terms,
                extra={"fields": fields},
            )
            return
        for problem in outcome.problems:
            level = logging.ERROR if problem.severity is Severity.ERROR else logging.WARNING
            log.log(level, "%s", problem)
        kept = (
            f"; last good version kept for {len(outcome.kept)} broken files" if outcome.kept else ""
        )
        log.info(
            "live reload (%s): %d terms in %.2f s, %d errors%s",
            outcome.reason,
            outcome.terms,
            outcome.seconds,
            len(outcome.errors),
            kept,
            extra={"fields": fields},
        )

    def _take_unannounced(self, outcome: ReloadOutcome) -> dict[str, ErrorSignature]:
        current = error_signatures(outcome.problems)
        fresh = unannounced(self._announced, current)
        # Fixed files are forgotten, so the same breakage coming back is reported again.
        self._announced = current
        return fresh

    async def _after_swap(
        self, glossary: Glossary, outcome: ReloadOutcome, fresh: dict[str, ErrorSignature]
    ) -> None:
        # This reload runs every hook with a newer glossary: older retries are moot.
        superseded = self._supersede_retries()
        if fresh:
            await self._announce(outcome, fresh)
        await self._run_hooks(glossary, superseded)

    async def _run_hooks(self, glossary: Glossary, superseded: asyncio.Event) -> None:
        """Every hook in order; one that hits a store error is tried again later."""
        async with self._hooks_lock:
            for hook in list(self.deps.reload_hooks):
                error = await self._run_hook(hook, glossary)
                if error is not None and not superseded.is_set():
                    self._retry_later(hook, glossary, error, superseded)
        self.deps.outbox_wake.set()  # hooks may have queued messages

    def _supersede_retries(self) -> asyncio.Event:
        """Wake and end every waiting hook retry; the event the next retries watch."""
        self._superseded.set()
        self._superseded = asyncio.Event()
        return self._superseded

    async def _run_hook(self, hook: ReloadHook, glossary: Glossary) -> StoreError | None:
        """Run one hook; the StoreError it failed with, which is worth another try. Other
        failures are logged and not retried (trying again would fail the same way)."""
        try:
            await hook(glossary)
        except StoreError as exc:
            return exc
        except Exception:
            log.exception("live reload: reload hook %s failed", _hook_name(hook))
        return None

    def _retry_later(
        self, hook: ReloadHook, glossary: Glossary, error: StoreError, superseded: asyncio.Event
    ) -> None:
        name = _hook_name(hook)
        if not self.hook_retry_seconds:
            log.error("live reload: reload hook %s failed on the store: %s", name, error)
            return
        log.warning(
            "live reload: reload hook %s failed on the store (%s); trying again in %g s",
            name,
            error,
            self.hook_retry_seconds[0],
        )
        task = asyncio.create_task(
            self._retry_hook(hook, glossary, superseded), name=f"retry reload hook {name}"
        )
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _retry_hook(
        self, hook: ReloadHook, glossary: Glossary, superseded: asyncio.Event
    ) -> None:
        """Try a hook again after each delay until it works, a newer reload supersedes it,
        or the delays run out (then the failure is logged as an error)."""
        name = _hook_name(hook)
        delays = self.hook_retry_seconds
        error: StoreError | None = None
        for attempt, delay in enumerate(delays, 1):
            with suppress(TimeoutError):
                await asyncio.wait_for(superseded.wait(), delay)
            async with self._hooks_lock:
                if superseded.is_set():
                    log.info("live reload: a newer reload superseded the retry of %s", name)
                    return
                error = await self._run_hook(hook, glossary)
            if error is None:
                log.info("live reload: reload hook %s done on retry %d", name, attempt)
                self.deps.outbox_wake.set()
                return
            if attempt < len(delays):
                log.warning(
                    "live reload: reload hook %s failed on the store again (%s); "
                    "retry %d of %d in %g s",
                    name,
                    error,
                    attempt + 1,
                    len(delays),
                    delays[attempt],
                )
        log.error(
            "live reload: gave up on reload hook %s after %d retries, the store kept failing "
            "(%s); it runs again at the next reload or restart",
            name,
            len(delays),
            error,
        )

    async def _announce(self, outcome: ReloadOutcome, fresh: dict[str, ErrorSignature]) -> None:
        """Tell the maintainers, through the outbox: it retries when Slack fails, and its
        dedupe key lets one replica post what every replica found."""
        channel = self.deps.settings.GLOSSARY_INTAKE_CHANNEL
        if not channel:
            return  # logged already; there is nobody else to tell
        message = broken_files_message(outcome, fresh, watching=self.watch_enabled)
        job = GlossaryErrorsPost(message["text"], tuple(message["blocks"]))
        key = errors_post_key(fresh, datetime.now(UTC).date())
        try:
            await self.deps.store.enqueue(job.kind, asdict(job), key)
        except StoreError:
            log.warning(
                "live reload: could not queue the term file errors for %s; will try again at "
                "the next reload",
                channel,
                exc_info=True,
            )
            for path, signature in fresh.items():
                if self._announced.get(path) == signature:
                    del self._announced[path]
            return
        self.deps.outbox_wake.set()


def _hook_name(hook: ReloadHook) -> str:
    return str(getattr(hook, "__qualname__", repr(hook)))


async def reload_command(deps: Deps, ack: AsyncAck, user_id: str, response_url: str | None) -> None:
    """`/define reload`: triagers only; the outcome in the ack, or later if the reload is slow."""
    if user_id not in deps.settings.GLOSSARY_TRIAGERS:
        await ack(response_type="ephemeral", **blocks.notice_message(RELOAD_NOT_ALLOWED))
        return
    if deps.reload is None:
        await ack(response_type="ephemeral", **blocks.notice_message(RELOAD_UNAVAILABLE))
        return
    log.info("live reload: requested by %s", user_id)
    task = asyncio.create_task(deps.reload("command"))
    deps.background.track(task)
    done, _ = await asyncio.wait({task}, timeout=RELOAD_ACK_SECONDS)
    if task in done:
        message = reload_outcome_message(task.result())
        await ack(response_type="ephemeral", **message)
        return
    await ack(response_type="ephemeral", **blocks.notice_message(RELOADING))
    if response_url:
        deps.background.spawn(_tell_later(task, response_url), name="report glossary reload")


async def _tell_later(task: asyncio.Task[ReloadOutcome], response_url: str) -> None:
    message = reload_outcome_message(await task)
    await AsyncRespond(response_url=response_url)(
        text=message["text"],
        blocks=message["blocks"],
        response_type="ephemeral",
        replace_original=False,
    )
