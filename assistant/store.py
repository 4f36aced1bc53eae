"""The only module that talks to chromadb: chunk vectors plus the manifest, on disk or on a server.

The manifest (one record per document: content hash, chunk ids, metadata) lives in a
second collection beside the chunks, so two machines indexing into one server agree.
Writing a document's manifest record is the commit point of its update: readers only
trust chunk ids that the manifest lists, so a run killed at any moment shows either the
old or the new version of each document, never both.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import urlparse

import numpy as np

from assistant.config import Settings
from assistant.records import Chunk

FORMAT_VERSION = 1
_STATE_ID = "__state__"  # manifest record holding the index version and the in-progress flag
STAMP_FILE = "stamp.json"  # local indexes: the state's version, for a one-stat change check
_LOG_PREFIX = "__log__:"  # manifest records of the change log, one per committed batch
CHANGE_LOG_ENTRIES = 1000  # change-log entries kept; a reader further behind reloads everything
RETIRED_CLIENT_SECONDS = 10.0  # a replaced embedded client is stopped after this (no read lasts so long)

log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """The index cannot be opened or written; the message says why and what to do."""


@dataclass
class ManifestEntry:
    doc_id: str
    source: str
    content_hash: str
    chunk_ids: list[str]
    title: str = ""
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    format: str = "txt"
    size: int = 0
    mtime_ns: int = 0
    abs_path: str = ""
    cleaner: int = 0  # the CLEANER_VERSION its text was made with (0: before versions)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @staticmethod
    def from_json(text: str) -> "ManifestEntry":
        return ManifestEntry(**json.loads(text))


def _one_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _writes(method):  # noqa: ANN001, ANN201
    """A failed write (full disk, read-only folder, server gone) becomes a one-line StoreError."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        try:
            return method(self, *args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot write the index at {self.location}: {_one_line(exc)} "
                             "(the previous index is still usable)") from exc

    return wrapper


def _reads(method):  # noqa: ANN001, ANN201
    """A read that fails is tried once more on a fresh client; a second failure is one line.

    Chroma's embedded client caches segments per process: when another process writes the
    index (or was killed while writing), a long-lived reader's cache goes stale and Chroma
    raises internal errors ("Error finding id") or returns records without metadata. A
    fresh client reads what is on disk.
    """
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        for attempt in (1, 2):
            try:
                return method(self, *args, **kwargs)
            except StoreError:
                raise
            except Exception as exc:
                if attempt == 2:
                    raise StoreError(f"cannot read the index at {self.location}: {_one_line(exc)} (another process "
                                     "may be rewriting it; ask again in a moment, or restart if this persists)") from exc
                log.info("index read failed (%s: %s); retrying on a fresh client", type(exc).__name__, exc)
                try:
                    self.reopen()
                except Exception as again:
                    raise StoreError(f"cannot reopen the index at {self.location}: {_one_line(again)}") from again

    return wrapper


def _quiet_chroma() -> None:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    for name in ("chromadb", "chromadb.telemetry", "chromadb.telemetry.product.posthog", "posthog"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _chunk_meta(c: Chunk) -> dict[str, Any]:
    return {"doc_id": c.doc_id, "ordinal": c.ordinal, "start": c.start, "end": c.end, "title": c.title,
            "authors": "; ".join(c.authors), "published": c.published or "", "source": c.source,
            "page": -1 if c.page is None else c.page, "content_hash": c.content_hash}


def chunk_from_record(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(chunk_id=chunk_id, doc_id=meta["doc_id"], ordinal=int(meta["ordinal"]), start=int(meta["start"]),
                 end=int(meta["end"]), text=text or "", title=meta.get("title", ""),
                 authors=[a for a in str(meta.get("authors", "")).split("; ") if a],
                 published=meta.get("published") or None, source=meta.get("source", ""),
                 page=None if int(meta.get("page", -1)) < 0 else int(meta["page"]),
                 content_hash=meta.get("content_hash", ""))


def version_of(state: dict[str, Any]) -> tuple[str, int, str]:
    """What identifies one state of an index: a rebuilt index has a new epoch."""
    return (str(state.get("epoch", "")), int(state.get("seq", 0)), str(state.get("generation", "")))


def _is_connection_error(exc: BaseException) -> bool:
    """Nothing answered at all (refused, unresolvable, timed out), as opposed to a wrong answer."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ConnectionError, TimeoutError)) or type(seen).__name__ in {
                "ConnectError", "ConnectTimeout", "ReadTimeout", "TimeoutException"}:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _major(version: str) -> str:
    return version.split(".")[0]


def check_server_version(server: str, client: str, url: str) -> None:
    """A server of another major version speaks another API: refuse with both versions named.
    A minor difference usually works, so it is only logged."""
    if _major(server) != _major(client):
        raise StoreError(f"the Chroma server at {url} runs version {server}, but this client is chromadb {client}; "
                         f"run a {_major(client)}.x server (e.g. the chromadb/chroma:{client} Docker image)")
    if server.split(".")[:2] != client.split(".")[:2]:
        log.warning("the Chroma server at %s runs version %s, this client %s", url, server, client)


class Store:
    """Chunks and manifest in Chroma; `expect` is what the index must have been built with."""

    def __init__(self, settings: Settings, expect: dict[str, Any] | None = None, create: bool = True) -> None:
        _quiet_chroma()
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.settings = settings
        self._system = None  # the embedded client's own chromadb System (None for a server)
        self._retired: list[tuple[float, Any]] = []  # replaced Systems, stopped once surely unused
        self._stamp_key: tuple[int, int, int] | None = None
        self._stamp: tuple[str, int, str] = ("", 0, "")
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if settings.chroma_url:
                url = urlparse(settings.chroma_url)
                if not url.hostname:
                    raise StoreError(f"bad --chroma-url {settings.chroma_url!r}: expected http://host:port")
                headers = {"Authorization": f"Bearer {settings.chroma_token}"} if settings.chroma_token else None
                self.client = chromadb.HttpClient(host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                                                  ssl=url.scheme == "https", headers=headers, settings=chroma_settings)
                self.client.heartbeat()
                check_server_version(self.client.get_version(), chromadb.__version__, settings.chroma_url)
                self.location = settings.chroma_url
            else:
                path = settings.index_dir / "chroma"
                if not create and not path.exists():
                    raise StoreError(f"no index at {settings.index_dir} (run `assistant index PATH` first)")
                path.mkdir(parents=True, exist_ok=True)
                self._chroma_settings = chroma_settings
                self.client, self._system = _private_client(path, chroma_settings)
                self.location = str(settings.index_dir)
        except StoreError:
            raise
        except Exception as exc:
            where = settings.chroma_url or str(settings.index_dir)
            detail = str(exc).splitlines()[0] if str(exc) else ""
            if settings.chroma_url and not _is_connection_error(exc):
                # something answered, but not as a Chroma server of our API version does
                raise StoreError(f"{where} does not answer the Chroma API of this client (chromadb {chromadb.__version__}): "
                                 f"is it a Chroma server of version {_major(chromadb.__version__)}.x?") from exc
            raise StoreError(f"cannot open the index at {where}: {type(exc).__name__}: {detail}") from exc
        name = settings.collection
        self._chunks_name, self._manifest_name = name, f"{name}__manifest"
        self._expect = expect
        self._open_collections(expect, create)

    @property
    def local(self) -> bool:
        return not self.settings.chroma_url

    def reopen(self) -> None:
        """A fresh embedded client for this index folder, so reads see what other processes wrote.

        The old client is retired, not stopped at once (a thread may still be reading through
        it), and stopped at a later reopen or `close()`. A server client reads the server's
        current state already, so it is kept.
        """
        if not self.local:
            return
        now = time.monotonic()
        self._retired.append((now, self._system))
        self.client, self._system = _private_client(self.settings.index_dir / "chroma", self._chroma_settings)
        self._open_collections(self._expect, create=True)
        keep = []
        for since, system in self._retired:
            if now - since >= RETIRED_CLIENT_SECONDS:
                _stop(system)
            else:
                keep.append((since, system))
        self._retired = keep

    def close(self) -> None:
        """Release the embedded client's files and memory (nothing to do for a server)."""
        for _, system in self._retired:
            _stop(system)
        self._retired = []
        if self.local and self._system is not None:
            _stop(self._system)
            self._system = None

    def _open_collections(self, expect: dict[str, Any] | None, create: bool) -> None:
        names = {c if isinstance(c, str) else c.name for c in self.client.list_collections()}
        if not create and self._chunks_name not in names:
            raise StoreError(f"no index at {self.location} (run `assistant index PATH` first)")
        meta = {"format_version": FORMAT_VERSION, **(expect or {})}
        self.chunks = self.client.get_or_create_collection(
            self._chunks_name, configuration={"hnsw": {"space": "cosine"}}, metadata=meta)
        self.manifest = self.client.get_or_create_collection(self._manifest_name, metadata={"format_version": FORMAT_VERSION})
        have = dict(self.chunks.metadata or {})
        if expect:
            for key, want in expect.items():
                if key in have and have[key] != want:
                    raise StoreError(
                        f"the index at {self.location} was built with {key}={have[key]!r}, not {want!r}; "
                        "re-run `assistant index --rebuild PATH` (or use the original setting)")

    @property
    def built_with(self) -> dict[str, Any]:
        return dict(self.chunks.metadata or {})

    # --- manifest -------------------------------------------------------------------------

    @_reads
    def read_manifest(self) -> dict[str, ManifestEntry]:
        out: dict[str, ManifestEntry] = {}
        total = self.manifest.count()
        for offset in range(0, total, 5000):
            got = self.manifest.get(include=["documents"], limit=5000, offset=offset)
            for doc_id, text in zip(got["ids"], got["documents"]):
                if doc_id != _STATE_ID and text and not doc_id.startswith(_LOG_PREFIX):
                    out[doc_id] = ManifestEntry.from_json(text)
        return out

    @_reads
    def read_entries(self, doc_ids: Sequence[str]) -> dict[str, ManifestEntry]:
        """Manifest records of some documents (absent ones are left out): what a change touched."""
        out: dict[str, ManifestEntry] = {}
        ids = [d for d in dict.fromkeys(doc_ids) if d != _STATE_ID and not d.startswith(_LOG_PREFIX)]
        for b in range(0, len(ids), 5000):
            got = self.manifest.get(ids=ids[b:b + 5000], include=["documents"])
            for doc_id, text in zip(got["ids"], got["documents"]):
                if text:
                    out[doc_id] = ManifestEntry.from_json(text)
        return out

    def commit_entry(self, entry: ManifestEntry) -> None:
        self.commit_entries([entry])

    @_writes
    def commit_entries(self, entries: Sequence[ManifestEntry]) -> None:
        """One write for many documents: each switches to its new version together."""
        for b in range(0, len(entries), 1000):
            part = entries[b:b + 1000]
            self.manifest.upsert(ids=[e.doc_id for e in part], embeddings=[[1.0]] * len(part),
                                 documents=[e.to_json() for e in part],
                                 metadatas=[{"content_hash": e.content_hash} for e in part])

    @_writes
    def remove_entry(self, doc_id: str) -> None:
        self.manifest.delete(ids=[doc_id])

    @_reads
    def state(self) -> dict[str, Any]:
        """Generation, change sequence number and change log, and whether a run is in progress."""
        got = self.manifest.get(ids=[_STATE_ID], include=["documents"])
        return json.loads(got["documents"][0]) if got["ids"] else {}

    @_writes
    def set_state(self, **values: Any) -> dict[str, Any]:
        state = {**self.state(), **values}
        state.pop("log", None)  # the change log of earlier versions lived here; now one record an entry
        state.setdefault("epoch", uuid.uuid4().hex)
        epoch, seq, generation = version_of(state)
        self.manifest.upsert(ids=[_STATE_ID], embeddings=[[1.0]], documents=[json.dumps(state)],
                             metadatas=[{"kind": "state", "epoch": epoch, "seq": seq, "generation": generation}])
        self._write_stamp(state)
        return state

    def new_generation(self, generation: str | None = None) -> str:
        gen = generation or uuid.uuid4().hex
        self.set_state(generation=gen, in_progress=False)
        return gen

    def record_changes(self, changed: Sequence[str] = (), removed: Sequence[str] = (), reset: bool = False) -> int:
        """Log which documents a committed write touched, so readers reload only those.

        Each entry is a record of its own (the state record stays small: it is read and
        written on every batch), written before the state's sequence number moves on, so a
        reader that sees number n finds entry n. `reset` says the log cannot be trusted (a run
        was killed between a commit and its entry): readers behind it reload everything once.
        Returns the new sequence number.
        """
        state = self.state()
        seq = int(state.get("seq", 0)) + 1
        entry = {"changed": sorted(set(changed)), "removed": sorted(set(removed))}
        self._write_log_entry(seq, entry)
        self.set_state(seq=seq, log_start=seq if reset else int(state.get("log_start", 1)))
        return seq

    @_writes
    def _write_log_entry(self, seq: int, entry: dict[str, list[str]]) -> None:
        self.manifest.upsert(ids=[f"{_LOG_PREFIX}{seq}"], embeddings=[[1.0]], documents=[json.dumps(entry)],
                             metadatas=[{"kind": "log", "seq": seq}])
        old = seq - CHANGE_LOG_ENTRIES
        if old > 0:
            self.manifest.delete(ids=[f"{_LOG_PREFIX}{old}"])

    @_reads
    def changes_since(self, epoch: str | None, seq: int) -> set[str] | None:
        """Documents the change log names after version (epoch, seq); None when the log does not
        reach back that far (or the index was rebuilt): then only a full reload is right."""
        state = self.state()
        if state.get("epoch") != epoch:
            return None
        current = int(state.get("seq", 0))
        if current == seq:
            return set()
        if seq < int(state.get("log_start", 1)) - 1 or current - seq > CHANGE_LOG_ENTRIES:
            return None
        wanted = [f"{_LOG_PREFIX}{n}" for n in range(seq + 1, current + 1)]
        got = self.manifest.get(ids=wanted, include=["documents"])
        if len(got["ids"]) != len(wanted):
            return None
        docs: set[str] = set()
        for text in got["documents"]:
            entry = json.loads(text)
            docs.update(entry["changed"], entry["removed"])
        return docs

    @property
    def stamp_path(self) -> Path | None:
        """A small file mirroring the state's version, so local readers check for changes with one stat."""
        return None if not self.local else self.settings.index_dir / STAMP_FILE

    def _write_stamp(self, state: dict[str, Any]) -> None:
        path = self.stamp_path
        if path is None:
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(version_of(state)))
        os.replace(tmp, path)

    def version(self) -> tuple[str, int, str]:
        """(epoch, seq, generation): cheap for local indexes (a stat, a small read when it moved)."""
        path = self.stamp_path
        if path is not None:
            try:
                st = path.stat()
                key = (st.st_ino, st.st_mtime_ns, st.st_size)
                if key != self._stamp_key:
                    data = json.loads(path.read_text())
                    self._stamp_key, self._stamp = key, (str(data[0]), int(data[1]), str(data[2]))
                return self._stamp
            except (OSError, ValueError, IndexError, KeyError):
                pass  # no stamp yet (an index from before stamps): ask Chroma
        return self._stored_version()

    @_reads
    def _stored_version(self) -> tuple[str, int, str]:
        """The version from the state record's metadata: one small read, without the change log."""
        got = self.manifest.get(ids=[_STATE_ID], include=["metadatas"])
        meta = got["metadatas"][0] if got["ids"] else None
        if not meta or "seq" not in meta:
            return version_of(self.state())  # a state written before versions were kept in metadata
        return (str(meta.get("epoch", "")), int(meta["seq"]), str(meta.get("generation", "")))

    # --- chunks ---------------------------------------------------------------------------

    @_writes
    def add_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        batch = max(1, min(1000, self.client.get_max_batch_size()))
        for b in range(0, len(chunks), batch):
            part = chunks[b:b + batch]
            self.chunks.upsert(ids=[c.chunk_id for c in part], embeddings=vectors[b:b + batch].tolist(),
                               documents=[c.text for c in part], metadatas=[_chunk_meta(c) for c in part])

    @_writes
    def delete_chunks(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for b in range(0, len(ids), 1000):
            self.chunks.delete(ids=ids[b:b + 1000])

    @_reads
    def all_chunk_ids(self) -> list[str]:
        ids: list[str] = []
        total = self.chunks.count()
        for offset in range(0, total, 10000):
            ids.extend(self.chunks.get(include=[], limit=10000, offset=offset)["ids"])
        return ids

    def iter_chunks(self, page: int = 5000) -> Iterator[Chunk]:
        total = self.chunks.count()
        for offset in range(0, total, page):
            got = self.chunks.get(include=["documents", "metadatas"], limit=page, offset=offset)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                yield chunk_from_record(cid, text, meta)

    @_reads
    def get_chunks(self, ids: Sequence[str]) -> dict[str, Chunk]:
        if not ids:
            return {}
        got = self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        return {cid: chunk_from_record(cid, text, meta) for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])
                if meta is not None}

    @_reads
    def get_chunks_with_vectors(self, ids: Sequence[str]) -> dict[str, tuple[Chunk, np.ndarray]]:
        """One read for chunks that need their stored vector too (BM25-only retrieval candidates)."""
        if not ids:
            return {}
        got = self.chunks.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        return {cid: (chunk_from_record(cid, text, meta), np.asarray(v, dtype=np.float32))
                for cid, text, meta, v in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])
                if meta is not None}

    @_reads
    def count(self) -> int:
        return self.chunks.count()

    @_reads
    def query(self, vector: np.ndarray, n: int, doc_ids: Sequence[str] | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks with cosine similarity (1 - distance). Chroma returns fewer than n
        from a small collection; counting first cost 15 ms a query at 100,000 chunks."""
        if n <= 0:
            return []
        where = None
        if doc_ids is not None:
            if not doc_ids:
                return []
            where = {"doc_id": {"$in": list(doc_ids)}}
        got = self.chunks.query(query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
                                n_results=n, where=where, include=["documents", "metadatas", "distances"])
        return [(chunk_from_record(cid, text, meta), 1.0 - float(dist))
                for cid, text, meta, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])
                if meta is not None]

    def drop_all(self) -> None:
        for name in (self._chunks_name, self._manifest_name):
            try:
                self.client.delete_collection(name)
            except Exception:  # absent already
                pass


def _private_client(path: Path, chroma_settings: Any) -> tuple[Any, Any]:
    """An embedded client with a System of its own, outside chromadb's per-folder cache.

    chromadb shares one System per folder in a process, so a reader could not take a fresh
    view of the folder without breaking every other user of the shared one (a writer thread,
    another engine). A private System can be replaced and stopped alone.
    """
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient

    key = str(path)
    with SharedSystemClient._refcount_lock:  # a stale shared System for this folder must not be reused
        SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)
    client = chromadb.PersistentClient(path=key, settings=chroma_settings)
    with SharedSystemClient._refcount_lock:
        system = SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)
    return client, system


def _stop(system: Any) -> None:
    try:
        system.stop()
    except Exception as exc:  # already stopped, or torn down with the interpreter
        log.debug("stopping a retired Chroma client: %s", exc)


def release_clients() -> None:
    """Forget chromadb's per-path client cache, so a swapped-in index folder is opened afresh."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
    except Exception:  # older/newer chromadb without the cache: nothing to forget
        pass
