"""Cost before spending: price × seconds of the shots that the cache does not already hold."""

from __future__ import annotations

from dataclasses import dataclass

from storyboard.build.cache import Cache
from storyboard.compiler.models import find_model, priced
from storyboard.plan import Plan


@dataclass(frozen=True, slots=True)
class ShotCost:
    """One shot's estimate."""

    id: str
    model: str
    seconds: int
    price_per_second: float | None
    cached: bool

    @property
    def usd(self) -> float:
        """Dollars this shot would cost now (0 when cached or unpriced)."""
        if self.cached or self.price_per_second is None:
            return 0.0
        return self.seconds * self.price_per_second


@dataclass(frozen=True, slots=True)
class Estimate:
    """The estimate for a build."""

    shots: tuple[ShotCost, ...]

    @property
    def total(self) -> float:
        """Dollars for everything not cached."""
        return round(sum(s.usd for s in self.shots), 4)

    @property
    def unpriced(self) -> list[str]:
        """Shots whose model has no known price."""
        return [s.id for s in self.shots if s.price_per_second is None and not s.cached]

    def to_json(self) -> dict[str, object]:
        """The estimate as ``storyboard cost --json`` prints it."""
        return {
            "currency": "USD",
            "total": self.total,
            "shots": [
                {
                    "id": s.id,
                    "model": s.model,
                    "seconds": s.seconds,
                    "price_per_second": s.price_per_second,
                    "cached": s.cached,
                    "usd": round(s.usd, 4),
                }
                for s in self.shots
            ],
        }


def estimate(plan: Plan, cache: Cache | None, prices: dict[str, float], only: set[str] | None = None) -> Estimate:
    """Estimate the cost of building ``plan`` (or the ``only`` shots) given what ``cache`` holds."""
    out = []
    for s in plan.shots:
        if only is not None and s.id not in only:
            continue
        model = find_model(s.model)
        price = priced(model, prices).price_per_second if model else None
        cached = cache is not None and cache.lookup(s.key, verify=False) is not None
        out.append(ShotCost(s.id, s.model, s.duration, price, cached))
    return Estimate(tuple(out))
