"""Conversations kept between runs (`assistant ask -c`, `--cid ID`): a small SQLite file in the
user's state directory, `$XDG_STATE_HOME/assistant/conversations.sqlite` (or `state_dir`).

Each turn is stored as its answer record (the JSON of `ask --json`), so a conversation can be
listed, shown, and continued: its last turns become the history of the next question.

A conversation belongs to the index it was held over (its citations name that index's articles):
`ask -c` continues the latest conversation of the index in use, `conversations` lists that index's,
and `--cid` refuses a conversation of another index, naming it. Conversations kept before this
(no index recorded) are claimed by the first index that continues them by id.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.config import Settings, short_path, user_state_dir
from assistant.records import Answer, Turn

FILE_NAME = "conversations.sqlite"
TITLE_CHARS = 80

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, index_key TEXT);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations(id), n INTEGER NOT NULL, record TEXT NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (conversation, n));
"""


class ConversationError(ValueError):
    """A conversation that cannot be found or stored; the message says which and what to do."""


def state_dir(settings: Settings, env: dict[str, str] | None = None) -> Path:
    """`settings.state_dir`, else the per-user state folder (`$XDG_STATE_HOME/assistant`, found by
    platformdirs); with an explicit `env`, `$XDG_STATE_HOME/assistant` or `~/.local/state/assistant`."""
    if settings.state_dir is not None:
        return settings.state_dir
    if env is None:
        return user_state_dir()
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "assistant"


def index_key(settings: Settings) -> str:
    """Which index a conversation belongs to: the server and collection, or the folder (absolute)."""
    where = settings.chroma_url or os.path.abspath(settings.index_dir)
    return where if settings.collection == "articles" else f"{where}#{settings.collection}"


def describe_index(key: str) -> str:
    return short_path(key.split("#", 1)[0]) + (f" (collection {key.split('#', 1)[1]})" if "#" in key else "")


@dataclass
class ConversationInfo:
    id: str
    title: str  # the first question
    turns: int
    created: str  # ISO time, UTC
    updated: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class ConversationStore:
    """The conversations of one index (`index`: its `index_key`; None: all of them, unscoped)."""

    def __init__(self, path: Path, index: str | None = None) -> None:
        self.path = path
        self.index = index
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=10.0)
            self._db.executescript(_SCHEMA)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(conversations)")}
            if "index_key" not in columns:  # a store kept before conversations belonged to an index
                with self._db:
                    self._db.execute("ALTER TABLE conversations ADD COLUMN index_key TEXT")
        except (OSError, sqlite3.Error) as exc:
            raise ConversationError(f"cannot open the conversation store {path}: {exc}") from exc

    @staticmethod
    def for_settings(settings: Settings) -> "ConversationStore":
        return ConversationStore(state_dir(settings) / FILE_NAME, index_key(settings))

    def _scope(self) -> tuple[str, tuple]:
        return ("WHERE index_key = ?", (self.index,)) if self.index is not None else ("", ())

    def owner(self, cid: str) -> str | None:
        """The index a conversation belongs to (None: kept before conversations had one)."""
        row = self._db.execute("SELECT index_key FROM conversations WHERE id = ?", (cid,)).fetchone()
        return row[0] if row else None

    def check_owner(self, cid: str) -> None:
        """A ConversationError when `cid` belongs to another index; a conversation with no index is claimed."""
        owner = self.owner(cid)
        if self.index is None or owner == self.index:
            return
        if owner is None:
            with self._db:
                self._db.execute("UPDATE conversations SET index_key = ? WHERE id = ?", (self.index, cid))
            return
        raise ConversationError(f"conversation {cid!r} belongs to the index in {describe_index(owner)}, "
                                f"not {describe_index(self.index)}; use --index-dir to switch")

    def close(self) -> None:
        self._db.close()

    def new(self, title: str = "") -> str:
        """A new, empty conversation; ids sort by creation time."""
        now = time.time()
        cid = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}-{secrets.token_hex(3)}"
        with self._db:
            self._db.execute("INSERT INTO conversations (id, title, created, updated, index_key) VALUES (?, ?, ?, ?, ?)",
                             (cid, title[:TITLE_CHARS], now, now, self.index))
        return cid

    def latest(self) -> str | None:
        """The most recently updated conversation of this index."""
        where, args = self._scope()
        row = self._db.execute(f"SELECT id FROM conversations {where} ORDER BY updated DESC, rowid DESC LIMIT 1",
                               args).fetchone()
        return row[0] if row else None

    def exists(self, cid: str) -> bool:
        return self._db.execute("SELECT 1 FROM conversations WHERE id = ?", (cid,)).fetchone() is not None

    def add(self, cid: str, answer: Answer) -> int:
        """Append a turn (the answer record); returns its number, 1-based."""
        if not self.exists(cid):
            raise ConversationError(f"no conversation {cid!r} (see `assistant conversations`)")
        now = time.time()
        with self._db:
            n = self._db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE conversation = ?", (cid,)).fetchone()[0]
            self._db.execute("INSERT INTO turns VALUES (?, ?, ?, ?)",
                             (cid, n, json.dumps(answer.to_dict(), ensure_ascii=False), now))
            self._db.execute("UPDATE conversations SET updated = ?, title = CASE WHEN title = '' THEN ? ELSE title END "
                             "WHERE id = ?", (now, answer.question[:TITLE_CHARS], cid))
        return n

    def answers(self, cid: str) -> list[Answer]:
        rows = self._db.execute("SELECT record FROM turns WHERE conversation = ? ORDER BY n", (cid,)).fetchall()
        return [Answer.from_dict(json.loads(r[0])) for r in rows]

    def history(self, cid: str, turns: int) -> list[Turn]:
        """The last `turns` exchanges, oldest first: what the next question is resolved against."""
        return [Turn.of(a) for a in self.answers(cid)[-turns:]] if turns > 0 else []

    def list(self) -> list[ConversationInfo]:
        """This index's conversations, newest first."""
        where, args = self._scope()
        rows = self._db.execute(
            "SELECT c.id, c.title, COUNT(t.n), c.created, c.updated FROM conversations c "
            f"LEFT JOIN turns t ON t.conversation = c.id {where.replace('index_key', 'c.index_key')} "
            "GROUP BY c.id ORDER BY c.updated DESC, c.rowid DESC", args).fetchall()
        return [ConversationInfo(r[0], r[1], r[2], _iso(r[3]), _iso(r[4])) for r in rows]
