"""Cost before spending: price × seconds of the shots (and price × characters or seconds of the
sounds) that the cache does not already hold."""

from __future__ import annotations

from dataclasses import dataclass

from storyboard.build.audio import SoundStore, sounds_to_build
from storyboard.build.cache import Cache
from storyboard.build.takes import TakePlan
from storyboard.compiler.audio_models import PRICES, audio_price
from storyboard.plan import Plan, ShotPlan


@dataclass(frozen=True, slots=True)
class ShotCost:
    """One shot's estimate."""

    id: str
    model: str
    seconds: int
    price_per_second: float | None
    cached: bool
    refetch: bool = False  # not cached, but fal's CDN still has the video it paid for: downloaded again, free

    @property
    def usd(self) -> float:
        """Dollars this shot would cost now (0 when cached, downloadable again, or unpriced)."""
        if self.cached or self.refetch or self.price_per_second is None:
            return 0.0
        return self.seconds * self.price_per_second


@dataclass(frozen=True, slots=True)
class AudioCost:
    """One generated sound's estimate: speech by characters, effects and music by seconds."""

    id: str
    kind: str
    endpoint: str
    amount: float  # characters (speech) or seconds
    unit: str
    price_usd: float | None  # what it costs when generated
    cached: bool

    @property
    def usd(self) -> float:
        """Dollars this sound would cost now (0 when cached or unpriced)."""
        return 0.0 if self.cached or self.price_usd is None else self.price_usd


@dataclass(frozen=True, slots=True)
class ImageCost:
    """One generated image's estimate (per image, or per megapixel of the size asked)."""

    id: str
    model: str
    width: int
    height: int
    price_usd: float | None
    cached: bool

    @property
    def usd(self) -> float:
        """Dollars this image would cost now (0 when cached or unpriced)."""
        return 0.0 if self.cached or self.price_usd is None else self.price_usd


@dataclass(frozen=True, slots=True)
class Estimate:
    """The estimate for a build."""

    shots: tuple[ShotCost, ...]
    audio: tuple[AudioCost, ...] = ()
    images: tuple[ImageCost, ...] = ()

    @property
    def total(self) -> float:
        """Dollars for everything not cached."""
        return round(
            sum(s.usd for s in self.shots) + sum(a.usd for a in self.audio) + sum(i.usd for i in self.images), 4
        )

    @property
    def unpriced(self) -> list[str]:
        """Shots (and generated images) whose model has no known price."""
        return [s.id for s in self.shots if s.price_per_second is None and not s.cached and not s.refetch] + [
            i.id for i in self.images if i.price_usd is None and not i.cached
        ]

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
                    "refetch": s.refetch,
                    "usd": round(s.usd, 4),
                }
                for s in self.shots
            ],
            **(
                {
                    "audio": [
                        {
                            "id": a.id,
                            "kind": a.kind,
                            "endpoint": a.endpoint,
                            a.unit: a.amount,
                            "cached": a.cached,
                            "usd": round(a.usd, 4),
                        }  # fmt: skip
                        for a in self.audio
                    ]
                }
                if self.audio
                else {}
            ),
            **(
                {
                    "images": [
                        {
                            "id": i.id,
                            "model": i.model,
                            "width": i.width,
                            "height": i.height,
                            "cached": i.cached,
                            "usd": round(i.usd, 4),
                        }  # fmt: skip
                        for i in self.images
                    ]
                }
                if self.images
                else {}
            ),
        }


def refetchable(plan: Plan, cache: Cache, backend: str, only: set[str] | None = None) -> set[str]:
    """Shot ids whose clip is not cached but whose paid video fal's CDN still serves (fal only).

    The fal journal keeps each result's video URL; a HEAD on it tells whether the build will
    download it again for free or has to generate (and pay for) the shot again.
    """
    if backend != "fal":
        return set()
    from storyboard.backends.fal_http import live_urls
    from storyboard.backends.fal_state import read_videos

    videos = read_videos(cache.base / "state")  # only read: no folder is made for a storyboard never built
    wanted = {
        s.key: s.id
        for s in plan.shots
        if (only is None or s.id in only) and s.key in videos and cache.lookup(s.key, drop=False) is None
    }
    live = live_urls({key: videos[key].url for key in wanted})
    return {wanted[key] for key in live}


def estimate(
    plan: Plan,
    cache: Cache | None,
    prices: dict[str, float],
    only: set[str] | None = None,
    refetch: set[str] | frozenset[str] = frozenset(),
    image_cache: Cache | None = None,
    *,
    fresh_sounds: bool = False,
) -> Estimate:
    """Estimate what building ``plan`` (or the ``only`` shots) will spend, given what ``cache`` holds.

    What the build will do, not what the cache's records say: a cached clip counts as paid only
    when its bytes still hash to its record (the build's own check; nothing is dropped here), and
    a shot whose request is identical to an earlier one's is paid once (the build makes it once).
    ``refetch`` shots are downloaded again from fal's CDN, not paid for again. ``cache=None``
    (``--force``) counts every shot as to be paid; generated images are never made again by
    ``--force``, so they are counted from ``image_cache`` (the build's cache) then;
    ``fresh_sounds`` counts every sound (``--force`` generates the selected shots' sounds again).
    """
    out = []
    seen: set[str] = set()
    for s in plan.shots:
        if only is not None and s.id not in only:
            continue
        # the compiler priced each shot from its own model (audio surcharge included); --prices wins
        price = prices.get(s.model, s.price_per_second)
        cached = s.key in seen or (cache is not None and cache.lookup(s.key, drop=False) is not None)
        seen.add(s.key)
        out.append(ShotCost(s.id, s.model, s.duration, price, cached, not cached and s.id in refetch))
    sounds = []
    store = SoundStore(cache) if cache is not None else None
    for a in sounds_to_build(plan, frozenset(only) if only is not None else None):
        chars = a.kind == "line"
        amount = float(len(a.text)) if chars else float(a.seconds or 0)
        usd = audio_price(a.endpoint, characters=len(a.text), seconds=a.seconds or 0)
        cached = not fresh_sounds and store is not None and store.lookup(a.key, verify=False) is not None
        unit = "characters" if chars else "seconds"
        sounds.append(AudioCost(a.id, a.kind, a.endpoint, amount, unit, usd, cached))
    pictures = []
    images_from = cache if cache is not None else image_cache
    if plan.images and images_from is not None:
        from storyboard.build.images import ImageStore, images_to_build

        store_i = ImageStore(images_from)
        for i in images_to_build(plan, only, images_from):
            cached_i = store_i.lookup(i.key, verify=False) is not None
            price_i = prices.get(i.model, i.price_usd)
            pictures.append(ImageCost(i.id, i.model, i.width, i.height, price_i, cached_i))
    elif plan.images:
        pictures = [ImageCost(i.id, i.model, i.width, i.height, i.price_usd, False) for i in plan.images]
    return Estimate(tuple(out), tuple(sounds), tuple(pictures))


def estimate_build(
    takes: TakePlan,
    cache: Cache,
    prices: dict[str, float],
    backend: str,
    building: list[ShotPlan],
    *,
    fresh_sounds: bool = False,
) -> Estimate:
    """What a build of ``takes`` will spend: every take it builds that the cache does not hold.

    ``building`` is what the executor runs (the selected takes and the upstream shots they need);
    new takes of ``--force`` have new keys, so they count; a take the backend is told to force is
    never fetched again for free. Music counts only when the whole film is built.
    """
    only = None if takes.only is None else {s.id for s in building}
    again = refetchable(takes.plan, cache, backend, only) - takes.force
    return estimate(takes.plan, cache, prices, only, again, image_cache=cache, fresh_sounds=fresh_sounds)


def audio_price_note(endpoint: str) -> str:
    """Where an audio price comes from (for the cost table)."""
    price = PRICES.get(endpoint)
    return f"${price.usd:g} per {price.unit} ({price.source})" if price else "no price known"
