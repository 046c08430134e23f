"""Bounded memories of what has been seen, so a repeated frame is never counted twice.

Network servers and meters repeat frames: ChirpStack may publish an uplink again (same
``deduplicationId``) after a restart or a QoS 1 redelivery, a meter retransmits a frame it got no
answer for (same frame counter). Both memories are bounded: the oldest entries are forgotten first,
long after any repeat could still arrive.
"""

from __future__ import annotations

from collections import OrderedDict, deque


class RecentIds:
    """The last ``capacity`` ids seen (e.g. ChirpStack's ``deduplicationId``), least recent dropped."""

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def seen_before(self, identifier: str) -> bool:
        """Whether ``identifier`` was seen already; remembers it either way."""
        if identifier in self._ids:
            self._ids.move_to_end(identifier)
            return True
        self._ids[identifier] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._ids)


class CounterWindow:
    """Per device, the last ``per_device`` frame counters seen, for at most ``devices`` devices.

    A counter seen again is a repeat. A device that rejoins the network starts counting from 0
    again, so the bridge calls :meth:`forget` on a join.
    """

    def __init__(self, per_device: int = 64, devices: int = 10_000) -> None:
        if per_device < 1 or devices < 1:
            raise ValueError("per_device and devices must be at least 1")
        self.per_device = per_device
        self.devices = devices
        self._seen: OrderedDict[str, tuple[deque[int], set[int]]] = OrderedDict()

    def seen_before(self, device: str, counter: int) -> bool:
        """Whether ``device`` already sent ``counter`` recently; remembers it either way."""
        entry = self._seen.get(device)
        if entry is None:
            entry = (deque(), set())
            self._seen[device] = entry
            if len(self._seen) > self.devices:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(device)
        order, members = entry
        if counter in members:
            return True
        order.append(counter)
        members.add(counter)
        if len(order) > self.per_device:
            members.discard(order.popleft())
        return False

    def forget(self, device: str) -> None:
        """The device's counters restart (it rejoined); earlier values are no longer repeats."""
        self._seen.pop(device, None)
