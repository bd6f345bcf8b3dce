"""Follow the outboxes in one process: read new events in order and hand them to subscribers.

A ``Follower`` runs one thread with its own database connection. Each
subscription is an outbox, a handler (a function of one ``Event``) and a
position: the last ``seq`` handled. The thread reads ``events_since(position)``,
calls the handler on each event in order and only then moves the position, so
delivery is at-least-once and in order; a handler that raises stops its own
subscription at that event (logged) and it is retried after a back-off,
while other subscriptions go on. Where a subscription starts is its owner's
choice: caches start at the newest event when they subscribe (they load what
they need lazily); a durable subscriber passes the position it saved through
``on_progress`` and resumes after it with no gap.

Wake-ups: on PostgreSQL the thread LISTENs on the outboxes' channels (the
append NOTIFYs at commit) and re-reads on every notification, with a poll
every ``listen_timeout_s`` as a fallback; on SQLite it polls ``MAX(seq)``
every ``poll_interval_s``. A follower also prunes the outboxes it is given
with ``prune`` (events older than ``retention_s``) about every
``prune_interval_s``: each process prunes the outbox its own package writes.

``start_http_events`` and ``start_broker_events`` wire what each kind of
process follows.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import peewee

from broker.topics.store import broker_outbox
from governance.audit import registry_event_entry
from governance.runtime import Governance
from governance.store import governance_outbox
from registry.events import is_permanent_delete, registry_outbox
from registry.outbox import Event, Outbox

__all__ = [
    "DEFAULT_RETENTION_S",
    "DurableSubscriber",
    "Follower",
    "Handler",
    "Subscription",
    "start_broker_events",
    "start_http_events",
]

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]


class DurableSubscriber(Protocol):
    """A subscriber that keeps its own position per outbox (the catalog indexer)."""

    def position(self, outbox: str) -> int: ...

    def apply(self, event: Event) -> None: ...


DEFAULT_RETENTION_S = 7 * 24 * 3600.0


@dataclasses.dataclass(eq=False)
class Subscription:
    """One handler following one outbox from ``position`` (the last ``seq`` it handled)."""

    outbox: Outbox
    handler: Handler
    position: int
    on_progress: Callable[[int], None] | None = None
    failures: int = 0
    retry_at: float = 0.0


class Follower:
    """A thread delivering the events of some outboxes to their subscriptions, in order."""

    def __init__(
        self,
        database: peewee.Database,
        *,
        poll_interval_s: float = 0.02,
        listen_timeout_s: float = 0.5,
        batch_size: int = 500,
        retention_s: float = DEFAULT_RETENTION_S,
        prune_interval_s: float = 3600.0,
        name: str = "charter-events",
    ) -> None:
        self.database = database
        self.poll_interval_s = poll_interval_s
        self.listen_timeout_s = listen_timeout_s
        self.batch_size = batch_size
        self.retention_s = retention_s
        self.prune_interval_s = prune_interval_s
        self.name = name
        self.is_postgres = isinstance(database, peewee.PostgresqlDatabase)
        self.subscriptions: list[Subscription] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listening: set[str] = set()
        self._next_prune = 0.0
        self._pruned: list[Outbox] = []
        self._backoff = poll_interval_s

    def prune(self, outbox: Outbox) -> None:
        """Also delete events older than ``retention_s`` from ``outbox``, now and then."""
        self._pruned.append(outbox)

    def subscribe(
        self,
        outbox: Outbox,
        handler: Handler,
        *,
        after: int | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> Subscription:
        """Deliver to ``handler`` every event of ``outbox`` after ``after``.

        ``after=None`` starts at the newest event committed now (for caches).
        ``on_progress(seq)`` is called after each batch handled (for a durable
        subscriber to save its position).
        """
        position = outbox.latest_seq() if after is None else after
        subscription = Subscription(outbox, handler, position, on_progress)
        self.subscriptions.append(subscription)
        return subscription

    # -- the thread --------------------------------------------------------------------------

    def start(self) -> Follower:
        """Run the follower on a daemon thread until ``stop()``.

        The thread holds the follower only during a step, so a follower nothing
        refers to any more (an app thrown away without ``stop()``) ends too.
        """
        if self._thread is None:
            self._thread = threading.Thread(
                target=_follow,
                args=(weakref.ref(self), self._stop, self.database),
                name=self.name,
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (it finishes the event in hand) and close its connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _step(self) -> None:
        """Deliver what is new, prune when due, then wait for the next wake-up."""
        try:
            self._listen()
            self.deliver()
            self._maybe_prune()
            self._backoff = self.poll_interval_s
            self._wait()
        except Exception:
            log.exception("event follower %s: reading the outboxes failed", self.name)
            self._drop_connection()
            self._backoff = min(max(self._backoff * 2, 0.05), 5.0)
            self._stop.wait(self._backoff)

    def _listen(self) -> None:
        if not self.is_postgres:
            return
        for channel in sorted({sub.outbox.channel for sub in self.subscriptions}):
            if channel not in self._listening:
                self.database.execute_sql(f'LISTEN "{channel}"')
                self._listening.add(channel)

    def _wait(self) -> None:
        """Until something may have been appended (or the poll interval/timeout passes)."""
        if not self.is_postgres:
            self._stop.wait(self.poll_interval_s)
            return
        if self._retry_pending():
            self._stop.wait(self.poll_interval_s)
            return
        connection: Any = self.database.connection()
        for _ in connection.notifies(timeout=self.listen_timeout_s, stop_after=1):
            break

    def _retry_pending(self) -> bool:
        return any(sub.failures for sub in self.subscriptions)

    def _drop_connection(self) -> None:
        self._listening.clear()
        _close_connection(self.database)

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + self.prune_interval_s
        for outbox in self._pruned:
            pruned = outbox.prune(self.retention_s)
            if pruned:
                log.info("pruned %d event(s) from %s", pruned, outbox.table)

    # -- delivery (also callable directly, e.g. by tests, without the thread) ----------------

    def deliver(self) -> int:
        """Hand every committed event not yet handled to its subscriptions; returns how many."""
        latest: dict[str, int] = {}
        delivered = 0
        for subscription in self.subscriptions:
            table = subscription.outbox.table
            if table not in latest:
                latest[table] = subscription.outbox.latest_seq()
            if latest[table] > subscription.position:
                delivered += self._deliver_to(subscription, latest[table])
        return delivered

    def _deliver_to(self, subscription: Subscription, latest: int) -> int:
        if subscription.failures and time.monotonic() < subscription.retry_at:
            return 0
        delivered = 0
        while subscription.position < latest and not self._stop.is_set():
            events = subscription.outbox.events_since(subscription.position, self.batch_size)
            if not events:
                break
            if events[0].seq != subscription.position + 1:
                log.warning(
                    "%s: events %d..%d were pruned before this follower read them",
                    subscription.outbox.table,
                    subscription.position + 1,
                    events[0].seq - 1,
                )
            for event in events:
                try:
                    subscription.handler(event)
                except Exception:
                    subscription.failures += 1
                    delay = min(0.05 * 2**subscription.failures, 5.0)
                    subscription.retry_at = time.monotonic() + delay
                    log.exception(
                        "subscriber %r failed on %s #%d (%s); retrying in %.2fs",
                        subscription.handler,
                        event.source,
                        event.seq,
                        event.name,
                        delay,
                    )
                    self._progress(subscription)
                    return delivered
                subscription.position = event.seq
                subscription.failures = 0
                delivered += 1
            self._progress(subscription)
        return delivered

    @staticmethod
    def _progress(subscription: Subscription) -> None:
        if subscription.on_progress is not None:
            subscription.on_progress(subscription.position)


def _follow(
    follower_ref: weakref.ReferenceType[Follower], stop: threading.Event, database: peewee.Database
) -> None:
    """The follower's thread: steps while the follower is referenced and not stopped."""
    try:
        while not stop.is_set():
            follower = follower_ref()
            if follower is None:
                return
            follower._step()
            del follower
    finally:
        _close_connection(database)


def _close_connection(database: peewee.Database) -> None:
    """Close this thread's connection (a broken one may fail to close: dropped either way)."""
    try:
        if not database.is_closed():
            database.close()
    except Exception:
        log.debug("event follower: closing the connection failed", exc_info=True)


# -- what each process follows ------------------------------------------------------------


def start_http_events(
    database: peewee.Database,
    registry_service: Any,
    *,
    broker_handlers: Sequence[Handler] = (),
    durable: Sequence[DurableSubscriber] = (),
    retention_s: float = DEFAULT_RETENTION_S,
    governance: Governance | None = None,
) -> Follower:
    """The HTTP worker's follower: registry events, and broker events for ``broker_handlers``.

    A permanent delete in another process empties this worker's cache of
    schemas by id. ``durable`` subscribers (the catalog indexer) follow both
    outboxes from the positions they saved. With ``governance``: policy changes
    reload its engine, and registry changes are written to the audit log
    (durably: from the last registry event audited).
    """
    follower = Follower(database, retention_s=retention_s, name="charter-http-events")
    schema_cache = registry_service.store.schema_cache

    def forget_deleted_schemas(event: Event) -> None:
        if is_permanent_delete(event):
            schema_cache.invalidate()

    follower.subscribe(registry_outbox(database), forget_deleted_schemas)
    follower.prune(registry_outbox(database))
    for handler in broker_handlers:
        follower.subscribe(broker_outbox(database), handler)
    if governance is not None:
        _follow_governance(follower, governance)
        follower.subscribe(
            registry_outbox(database),
            _audit_registry_events(governance),
            after=governance.store.last_source_seq(registry_outbox(database).table) or 0,
        )
        follower.prune(governance_outbox(database))
    for subscriber in durable:  # both outboxes, each from the subscriber's saved position
        for outbox in (registry_outbox(database), broker_outbox(database)):
            follower.subscribe(outbox, subscriber.apply, after=subscriber.position(outbox.table))
    return follower.start()


def _follow_governance(follower: Follower, governance: Governance) -> None:
    follower.subscribe(governance_outbox(governance.database), governance.engine.apply)


def _audit_registry_events(governance: Governance) -> Handler:
    def audit(event: Event) -> None:
        entry = registry_event_entry(event)
        if entry is not None:
            governance.store.append_audit([entry])

    return audit


def start_broker_events(
    database: peewee.Database,
    schema_state: Any,
    *,
    retention_s: float = DEFAULT_RETENTION_S,
    governance: Governance | None = None,
) -> Follower:
    """The broker process's follower: registry events into the broker's schema state, and
    policy changes into the policy engine (``governance``)."""
    follower = Follower(database, retention_s=retention_s, name="charter-broker-events")
    follower.subscribe(registry_outbox(database), schema_state.apply)
    if governance is not None:
        _follow_governance(follower, governance)
    follower.prune(broker_outbox(database))
    return follower.start()
