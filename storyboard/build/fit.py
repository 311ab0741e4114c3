"""After the speech exists: do a shot's lines fit it, measured from the generated sound?

The compiler warns from an estimate before anything is generated (:mod:`storyboard.compiler.fit`);
speech is made before the shots, so the build can say, before any video is paid for, when the
real speech runs past its shot's end. A warning, never an error: the video is independent of the
speech, and the user may want a line to run over the cut.
"""

from __future__ import annotations

from storyboard.build.audio import SoundStore
from storyboard.build.cache import Cache
from storyboard.plan import Plan

TOLERANCE = 0.05  # seconds: speech ending within this of the shot's end still fits


def measured_fit_warnings(plan: Plan, cache: Cache) -> list[str]:
    """One warning per shot whose generated lines end after the shot does (lines not built are skipped)."""
    store = SoundStore(cache)
    ends: dict[str, list[tuple[float, str]]] = {}
    for a in plan.audio:
        if a.kind != "line" or a.shot is None:
            continue
        record = store.lookup(a.key, verify=False)
        if record is None:
            continue
        where = ""
        if a.location is not None and a.location.line:
            where = f"{a.location.file}:{a.location.line}:{a.location.column or 1}: "
        ends.setdefault(a.shot, []).append((a.offset + record.span[1], where))
    out = []
    for shot in plan.shots:
        spoken = ends.get(shot.id)
        if not spoken:
            continue
        end, where = max(spoken)
        if end > shot.duration + TOLERANCE:
            lines = f"{len(spoken)} line{'s' if len(spoken) != 1 else ''}"
            out.append(
                f"{where}shot {shot.id!r}: its {lines} end {end:.1f} s in, measured from the generated speech; "
                f"the shot is {shot.duration} s — the speech runs into the next shot (or past the film's end): "
                "lengthen the shot (or `duration: auto`), move the line earlier, or shorten it"
            )
    return out
