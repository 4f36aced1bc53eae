"""`assistant index PATH... --watch`: index, then keep the index in step with folders and feeds.

The file watcher (watchfiles' Rust notifier) starts *before* the first full pass, so nothing that
changes during that pass is missed. Afterwards each batch is planned on its own paths
(`Engine.index(only=...)`): its cost is the batch's, not the folder's. A changed path is applied once
it has been quiet for `watch_debounce_ms` and its size and mtime did not move between two looks (a
file still being written waits). The index lock is held only while a batch is applied, so a chat's
ctrl+r or another `index` run can go in between; the watcher waits for them. Every batch goes
through the same crash-safe indexer as a plain run, so `kill -9` is as safe, and a restarted
watcher's first pass (a full run) catches up with whatever changed while it was down. Feeds given
among the paths are polled every `feed_poll_seconds` (conditional GET; new entries are fetched).

`Watcher.run()` blocks until `stop` is set; it is meant to run in a thread as well as in the CLI's
main thread. Callbacks are called from the thread that runs it.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from assistant.indexer import IndexLocked, ProgressEvent, ProgressFn
from assistant.ingest.fetch import is_url
from assistant.ingest.loaders import SUPPORTED
from assistant.records import IndexReport
from assistant.store import StoreError

if TYPE_CHECKING:
    from assistant.engine import Engine

STEP_MS = 50  # the notifier yields once no event came for this long (up to the debounce)
IDLE_WAKE_S = 3600.0  # with nothing pending and no feed due, sleep this long (stop is still seen within STEP_MS)
RETRY_MAX_S = 60.0  # a batch that failed (server down, disk full) is retried after up to this long


class WatchError(ValueError):
    """A path cannot be watched; str() is the one-line reason."""


@dataclass
class WatchBatch:
    """What one applied batch did: the CLI prints it as one JSON line; a status line shows `describe()`."""

    number: int  # 0 is the first full pass
    trigger: str  # initial | files | feeds
    report: IndexReport
    paths: list[str] = field(default_factory=list)  # the changed paths the batch looked at (files batches)
    error: str | None = None  # the batch could not be applied; its paths are tried again later

    @property
    def changed(self) -> bool:
        r = self.report
        return bool(r.added or r.updated or r.removed or r.moved)

    def to_dict(self) -> dict[str, Any]:
        r = self.report
        d: dict[str, Any] = {"batch": self.number, "trigger": self.trigger, "added": r.added, "updated": r.updated,
                             "moved": r.moved, "removed": r.removed, "unchanged": r.unchanged, "embedded": r.embedded,
                             "chunks": r.chunks, "skipped": list(r.skipped), "seconds": round(r.seconds, 3)}
        if self.error:
            d["error"] = self.error
        return d

    def describe(self) -> str:
        r = self.report
        if self.error:
            return f"could not apply {len(self.paths) or 'the'} change(s): {self.error}"
        parts = [f"{n} {word}" for n, word in ((r.added, "new"), (r.updated, "updated"), (r.moved, "moved"),
                                                (r.removed, "removed"), (len(r.skipped), "skipped")) if n]
        return ", ".join(parts) or "no change"


@dataclass
class _Pending:
    signature: tuple[int, int] | None  # (size, mtime_ns) at the last look; None: the path is absent
    since: float  # when it last changed (an event, or a look that found it different)


def _look(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def settled(pending: dict[str, _Pending], now: float, quiet: float,
            look: Callable[[str], tuple[int, int] | None] = _look) -> list[str]:
    """The paths quiet for `quiet` seconds whose size and mtime are what the last look saw; any
    other path that was due gets its new look and waits another `quiet` (a file being written)."""
    ready: list[str] = []
    for path, p in pending.items():
        if now - p.since < quiet:
            continue
        sig = look(path)
        if sig == p.signature:
            ready.append(path)
        else:
            p.signature, p.since = sig, now
    return ready


class Watcher:
    """Index `paths` (folders, files, http(s) URLs of articles or feeds), then apply their changes
    in debounced batches until `stop` is set.

    on_batch(WatchBatch): after the first full pass, and after each batch that changed something,
    skipped a file or failed. on_progress(ProgressEvent): the indexer's events, plus "wait"
    (another run holds the lock), "pending" (a changed path noticed; message is the path) and
    "watch" (idle again).
    """

    def __init__(self, engine: "Engine", paths: Sequence[Path | str],
                 on_batch: Callable[[WatchBatch], None] | None = None, on_progress: ProgressFn | None = None,
                 stop: threading.Event | None = None, refresh: bool = False) -> None:
        self.engine = engine
        self.settings = engine.settings
        self.urls = [str(p).strip() for p in paths if is_url(p)]
        self.roots = [Path(p) for p in paths if not is_url(p)]
        self.on_batch = on_batch or (lambda b: None)
        self.on_progress = on_progress or (lambda e: None)
        self.stop = stop or threading.Event()
        self.refresh = refresh
        self.quiet = max(0.0, self.settings.watch_debounce_ms / 1000)
        self.batches = 0
        self._pending: dict[str, _Pending] = {}
        self._failures = 0
        self._roots_abs = [os.path.abspath(r) for r in self.roots]
        self._file_roots = {r for r in self._roots_abs if os.path.isfile(r)}
        self._index_abs = os.path.abspath(self.settings.index_dir)

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """The first full pass, then batches until `stop` is set. Raises WatchError for a path that
        cannot be watched, and what a plain run raises for an index that cannot be opened."""
        missing = [str(r) for r in self.roots if not r.exists()]
        if missing:
            raise WatchError(f"cannot watch {', '.join(missing)}: no such file or folder")
        if not self.roots and not self.urls:
            raise WatchError("nothing to watch: give folders, files or feed URLs")
        notify = self._notifier()
        try:
            initial = self._index(self.roots + self.urls, refresh=self.refresh)
            if initial is None:
                return
            self._emit("initial", initial, [])
            next_poll = time.monotonic() + self.settings.feed_poll_seconds if self.urls else math.inf
            self.on_progress(ProgressEvent("watch", 0, 0, self._watching()))
            while not self.stop.is_set():
                now = time.monotonic()
                wake = min(next_poll, self._next_due(now)) - now
                if notify is None:
                    self.stop.wait(max(0.0, min(wake, IDLE_WAKE_S)))
                else:
                    got = notify.watch(self.settings.watch_debounce_ms, STEP_MS,
                                       int(max(STEP_MS, min(wake, IDLE_WAKE_S) * 1000)), self.stop)
                    if got == "stop":
                        break
                    if got == "signal":
                        raise KeyboardInterrupt
                    if isinstance(got, set):
                        self._note(got)
                if self.stop.is_set():
                    break
                ready = settled(self._pending, time.monotonic(), self.quiet)
                if ready:
                    self._apply(ready)
                if time.monotonic() >= next_poll:
                    self._poll_feeds()
                    next_poll = time.monotonic() + self.settings.feed_poll_seconds
        finally:
            if notify is not None:
                notify.close()

    def _notifier(self):  # noqa: ANN202 - watchfiles' RustNotify
        """Started before the first pass: events from then on queue up in it. Its public wrapper
        (`watchfiles.watch`) only starts watching when first iterated, too late for that."""
        if not self.roots:
            return None
        from watchfiles._rust_notify import RustNotify

        targets = sorted({os.path.dirname(r) if r in self._file_roots else r for r in self._roots_abs})
        try:
            return RustNotify(targets, False, False, 300, True, True)
        except Exception as exc:  # e.g. the inotify watch limit of a very large tree
            raise WatchError(f"cannot watch {', '.join(targets)}: {_one_line(exc)}") from exc

    def _next_due(self, now: float) -> float:
        if not self._pending:
            return math.inf
        return min(p.since for p in self._pending.values()) + self.quiet

    def _watching(self) -> str:
        what = [str(r) for r in self.roots] + ([f"{len(self.urls)} URL(s)"] if self.urls else [])
        return "watching " + ", ".join(what)

    # --- changes ----------------------------------------------------------------------------

    def _relevant(self, path: str) -> bool:
        """Under a watched root, not hidden, not the index's own files, and an article type when it is a file."""
        if path == self._index_abs or path.startswith(self._index_abs + os.sep):
            return False
        root = next((r for r in self._roots_abs if path == r or path.startswith(r.rstrip(os.sep) + os.sep)), None)
        if root is None:
            return False
        if root in self._file_roots:
            return path == root
        rel = os.path.relpath(path, root)
        if rel != "." and any(part.startswith(".") for part in rel.split(os.sep)):
            return False
        if os.path.isfile(path) and Path(path).suffix.lower() not in SUPPORTED:
            return False
        return True

    def _note(self, changes: set[tuple[int, str]]) -> None:
        now = time.monotonic()
        for _change, path in changes:
            if not self._relevant(path):
                continue
            new = path not in self._pending
            self._pending[path] = _Pending(_look(path), now)
            if new:
                self.on_progress(ProgressEvent("pending", len(self._pending), 0, path))

    def _apply(self, ready: list[str]) -> None:
        paths = sorted(ready)
        try:
            report = self._index(self.roots, only=[Path(p) for p in paths])
        except (StoreError, OSError) as exc:
            self._failures += 1
            delay = min(RETRY_MAX_S, self.quiet * 2 ** self._failures)
            for p in paths:
                if p in self._pending:
                    self._pending[p].since = time.monotonic() + delay
            self._emit("files", IndexReport(), paths, error=_one_line(exc))
            return
        self._failures = 0
        for p in paths:
            self._pending.pop(p, None)
        if report is not None:
            self._emit("files", report, paths, quiet_if_nothing=True)
            self.on_progress(ProgressEvent("watch", 0, 0, self._watching()))

    def _poll_feeds(self) -> None:
        """Ask the feeds again (conditional GET); new entries become articles. Pages given as URLs
        are not fetched again: their stored copies are read."""
        try:
            report = self._index(self.urls, refresh_feeds=True)
        except (StoreError, OSError) as exc:
            self._emit("feeds", IndexReport(), [], error=_one_line(exc))
            return
        if report is not None:
            self._emit("feeds", report, [], quiet_if_nothing=True)

    def _index(self, paths: Sequence[Path | str], **kwargs: Any) -> IndexReport | None:
        """One Engine.index call, waiting as long as it takes for another run's lock (None: stopped while waiting)."""
        try:
            return self.engine.index(paths, progress=self.on_progress, wait=math.inf, stop=self.stop, **kwargs)
        except IndexLocked:
            if self.stop.is_set():
                return None
            raise

    def _emit(self, trigger: str, report: IndexReport, paths: list[str], error: str | None = None,
              quiet_if_nothing: bool = False) -> None:
        batch = WatchBatch(self.batches, trigger, report, paths, error)
        if quiet_if_nothing and not batch.changed and not report.skipped and not error:
            return  # e.g. a file saved with the same content, or an editor's temporary file
        self.batches += 1
        self.on_batch(batch)


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]
