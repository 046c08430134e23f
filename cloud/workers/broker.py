"""Choose the dramatiq broker from the settings: Redis, RabbitMQ, or the in-process stub."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from dramatiq import Broker
from dramatiq.brokers.stub import StubBroker

from cloud.errors import ValidationFailed

log = logging.getLogger(__name__)

#: Redis key prefix for the cloud's queues, so other dramatiq users of the same Redis do not collide.
REDIS_NAMESPACE = "quantify"


def make_broker(broker_url: str | None, *, namespace: str = REDIS_NAMESPACE) -> Broker:
    """A broker for ``QUANTIFY_BROKER_URL``: ``redis://`` or ``amqp://``; ``None`` gives the in-process stub.

    With the stub broker jobs only run inside the process that sends them (``quantify-cloud worker``
    starts a worker in-process for exactly that case).
    """
    if broker_url is None:
        log.info(
            "no QUANTIFY_BROKER_URL: jobs use dramatiq's in-process StubBroker and run in this process only"
        )
        return StubBroker()
    scheme = urlsplit(broker_url).scheme
    if scheme in {"redis", "rediss"}:
        from dramatiq.brokers.redis import RedisBroker

        log.info("dramatiq broker: Redis at %s", _without_password(broker_url))
        return RedisBroker(url=broker_url, namespace=namespace)  # type: ignore[no-untyped-call]
    if scheme in {"amqp", "amqps"}:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        log.info("dramatiq broker: RabbitMQ at %s", _without_password(broker_url))
        return RabbitmqBroker(url=broker_url)
    raise ValidationFailed(
        f"QUANTIFY_BROKER_URL: expected a redis:// or amqp:// URL, got scheme {scheme!r}; "
        "leave it unset to run jobs in-process"
    )


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
