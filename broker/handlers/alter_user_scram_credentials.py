"""AlterUserScramCredentials (key 51, KIP-554): delete and upsert users' SCRAM credentials.

The client sends the salt, the iteration count and ``SaltedPassword`` (never
the password); the broker keeps StoredKey and ServerKey, and the credential
works for SASL/SCRAM at once. Needs Cluster alter (else every user answers
CLUSTER_AUTHORIZATION_FAILED). Per user, all or nothing, with Kafka's codes:
UNSUPPORTED_SASL_MECHANISM, UNACCEPTABLE_CREDENTIAL (empty name, fewer than
4096 or more than 16384 iterations, empty salt), DUPLICATE_RESOURCE (a user and
mechanism twice), RESOURCE_NOT_FOUND (deleting what does not exist). Audited
(``scram.upsert|delete``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from broker.authorization import Action, require_cluster
from broker.errors import BrokerError, InvalidRequest
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE
from broker.handlers.security_support import (
    MAX_ITEMS,
    broker_error,
    error_fields,
    security_admin,
)
from broker.protocol import build, response_module
from governance.security.kafka_admin import ScramDeletion, ScramUpsertion

__all__ = ["HANDLERS"]

API_KEY = 51


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    deletions = [ScramDeletion(d.name, int(d.mechanism)) for d in request.deletions]
    upsertions = [
        ScramUpsertion(
            u.name, int(u.mechanism), int(u.iterations), bytes(u.salt), bytes(u.salted_password)
        )
        for u in request.upsertions
    ]
    users = list(dict.fromkeys([d.user for d in deletions] + [u.user for u in upsertions]))
    outcomes: dict[str, BrokerError | None]
    try:
        require_cluster(ctx, Action.ALTER)
        admin = security_admin(ctx, acls=False)
        if len(deletions) + len(upsertions) > MAX_ITEMS:
            raise InvalidRequest(f"at most {MAX_ITEMS} alterations per request")
    except BrokerError as exc:
        outcomes = dict.fromkeys(users, exc)
    else:
        errors = await asyncio.to_thread(
            admin.alter_scram, deletions, upsertions, actor=ctx.principal
        )
        outcomes = {
            user: broker_error(error) if error is not None else None
            for user, error in errors.items()
        }
    return build(
        module.AlterUserScramCredentialsResponse,
        throttle_time=NO_THROTTLE,
        results=tuple(
            build(module.AlterUserScramCredentialsResult, user=user, **error_fields(outcomes[user]))
            for user in users
        ),
    )


HANDLERS = (ApiHandler(API_KEY, 0, 0, handle),)
