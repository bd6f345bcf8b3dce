"""Incremental fetch sessions (KIP-227): the partitions a consumer fetches, remembered by the broker.

A consumer of many partitions would otherwise name every partition in every
Fetch and get every partition back. With a session, the first (full) fetch
creates it: the broker answers a session id, and later (incremental) fetches
name only partitions whose fetch position changed, plus ``forgotten`` ones;
the response holds only partitions with news (records, a changed high
watermark / last stable offset / log start offset, or an error).

The session id and epoch in a request mean (Kafka's ``FetchMetadata``):

- id 0, epoch -1: a full fetch without a session;
- id 0, epoch 0: a full fetch creating a session (none when the cache is
  disabled: the response then says session id 0);
- id N, epoch E > 0: an incremental fetch; unknown N is
  FETCH_SESSION_ID_NOT_FOUND, E not the epoch expected is
  INVALID_FETCH_SESSION_EPOCH (the client then starts over with a full fetch);
- id N, epoch -1: close session N (this fetch is a full, sessionless one);
- id N, epoch 0: close N and create a new one.

The cache holds at most ``max_sessions``; when full, the least recently used
session is evicted (its client gets FETCH_SESSION_ID_NOT_FOUND and starts
over). Sessions are in memory only: after a restart every client starts over,
as with Kafka. ``full_fetches`` and ``incremental_fetches`` count requests.
"""

from __future__ import annotations

import collections
import dataclasses
import random
import uuid

from broker.errors import FetchSessionIdNotFound, InvalidFetchSessionEpoch

__all__ = [
    "FINAL_EPOCH",
    "FetchSession",
    "FetchSessionCache",
    "INITIAL_EPOCH",
    "PartitionKey",
    "SessionPartition",
]

INITIAL_EPOCH = 0
FINAL_EPOCH = -1
_MAX_SESSION_ID = 2**31 - 1

PartitionKey = tuple[str, int]


@dataclasses.dataclass(slots=True)
class SessionPartition:
    """A partition in a session: where the client fetches it and what it was last told."""

    topic_id: uuid.UUID
    fetch_offset: int
    max_bytes: int
    high_watermark: int = -1
    last_stable_offset: int = -1
    log_start_offset: int = -1


@dataclasses.dataclass(slots=True)
class FetchSession:
    session_id: int
    epoch: int
    """The epoch the next incremental request must carry."""
    partitions: dict[PartitionKey, SessionPartition] = dataclasses.field(default_factory=dict)

    def changed(self, key: PartitionKey, hw: int, lso: int, log_start: int) -> bool:
        """Whether these values differ from the last ones sent; remembers them."""
        entry = self.partitions.get(key)
        if entry is None:
            return True
        before = (entry.high_watermark, entry.last_stable_offset, entry.log_start_offset)
        entry.high_watermark, entry.last_stable_offset, entry.log_start_offset = hw, lso, log_start
        return before != (hw, lso, log_start)


class FetchSessionCache:
    """Open fetch sessions by id, least recently used first."""

    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self._sessions: collections.OrderedDict[int, FetchSession] = collections.OrderedDict()
        self.full_fetches = 0
        self.incremental_fetches = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self) -> FetchSession | None:
        """A new session (epoch 1 expected next), evicting the least recently used when full."""
        if self.max_sessions <= 0:
            return None
        while len(self._sessions) >= self.max_sessions:
            self._sessions.popitem(last=False)
            self.evictions += 1
        session_id = random.randint(1, _MAX_SESSION_ID)
        while session_id in self._sessions:
            session_id = random.randint(1, _MAX_SESSION_ID)
        session = FetchSession(session_id, INITIAL_EPOCH + 1)
        self._sessions[session_id] = session
        return session

    def remove(self, session_id: int) -> None:
        self._sessions.pop(session_id, None)

    def incremental(self, session_id: int, epoch: int) -> FetchSession:
        """The session an incremental request names, its epoch checked and advanced."""
        session = self._sessions.get(session_id)
        if session is None:
            raise FetchSessionIdNotFound(f"fetch session {session_id} not found")
        if epoch != session.epoch:
            raise InvalidFetchSessionEpoch(
                f"fetch session {session_id} expected epoch {session.epoch}, got {epoch}"
            )
        session.epoch = 1 if session.epoch >= _MAX_SESSION_ID else session.epoch + 1
        self._sessions.move_to_end(session_id)
        return session
