"""A time source for tests and demos only: the agent's clock running faster than real time.

``QUANTIFY_EDGE_TEST_CLOCK_RATE=3600`` makes one real second pass as an hour for everything the
agent times by its clock (readings' times, charges' intervals, standing charges, friendly-credit
windows, journal ``recorded_at``), so a test can keep a gateway offline for 72 simulated hours in
72 real seconds while it goes on rating and enforcing. Polling intervals, timeouts and backoff stay
in real time, and so does request signing (the cloud checks signatures against its own clock).

``QUANTIFY_EDGE_TEST_CLOCK_EPOCH`` (Unix seconds; default: when the variable is read) is the real
moment the simulated time starts from: ``agent time = epoch + (real time − epoch) × rate``. Agents
restarted with the same epoch carry on along the same simulated timeline instead of jumping back.

The variables are read once, by the command line that starts the agent, through
:func:`clock_from_environment`; nothing else reads them. Unset (the production default) means the
real clock. They must never be set on a real gateway: charges would be rated over time that did
not pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from edge_agent.errors import ConfigError

TEST_CLOCK_RATE_ENV = "QUANTIFY_EDGE_TEST_CLOCK_RATE"
TEST_CLOCK_EPOCH_ENV = "QUANTIFY_EDGE_TEST_CLOCK_EPOCH"
#: Fastest accepted rate: a simulated week in under a minute of real time.
MAX_RATE = 100_000.0


def _real_now() -> datetime:
    return datetime.now(UTC)


def accelerated_clock(
    rate: float, epoch: datetime, *, real: Callable[[], datetime] = _real_now
) -> Callable[[], datetime]:
    """A clock that agrees with the real one at ``epoch`` and runs ``rate`` times as fast."""
    return lambda: epoch + (real() - epoch) * rate


def clock_from_environment(environ: Mapping[str, str]) -> Callable[[], datetime] | None:
    """The accelerated clock the variables ask for, or ``None`` when the rate is unset."""
    text = environ.get(TEST_CLOCK_RATE_ENV)
    if not text:
        return None
    rate = _number(text, TEST_CLOCK_RATE_ENV)
    if not 1.0 <= rate <= MAX_RATE:
        raise ConfigError(f"{TEST_CLOCK_RATE_ENV}: expected a rate from 1 to {MAX_RATE:.0f}, got {text!r}")
    epoch_text = environ.get(TEST_CLOCK_EPOCH_ENV)
    epoch = (
        _real_now()
        if not epoch_text
        else datetime.fromtimestamp(_number(epoch_text, TEST_CLOCK_EPOCH_ENV), UTC)
    )
    return accelerated_clock(rate, epoch)


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {text!r}") from None
