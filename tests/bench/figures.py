"""The shape every benchmark reports in, so one harness can print and record them all."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure, with the target an issue set for it (if any)."""

    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = True
    note: str = ""

    @property
    def meets_target(self) -> bool | None:
        """Whether the figure meets its target; ``None`` where no target was set."""
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target
