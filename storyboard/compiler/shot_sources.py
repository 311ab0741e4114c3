"""Where a shot's pictures come from: its style, start and end frames, and the clip an edit changes.

A mixin of the compiler's shot pass (:mod:`storyboard.compiler.compile`): each lookup returns the
:class:`~storyboard.plan.AssetRef` (an image, or another shot's first or last frame or clip) and
the shot it depends on, or records a problem that says what was meant (a shot's name where an
image was expected, a near miss of a shot id).
"""

from __future__ import annotations

from storyboard.compiler.assets import frame_ref
from storyboard.compiler.scope import Asset
from storyboard.compiler.shot_rules import ModelRules
from storyboard.compiler.spec import Shot
from storyboard.plan import AssetRef
from storyboard.util import closest, did_you_mean

_START_HINT = "`start` takes an image name or `<shot id>.last_frame`"


def _a(noun: str) -> str:
    """``an image``, ``a style``."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


class ShotSources(ModelRules):
    """The lookups of a shot's style, start, end and edit source; needs the compiler's scope and shot ids."""

    def _asset(self, name: str, where: tuple[str | int, ...], kind: str) -> Asset | None:
        asset = self.resolved.visible.get(name)
        if asset is None:
            self.problems.append(
                self.doc.problem(
                    where,
                    f"unknown {kind} {name!r}",
                    did_you_mean(name, [n for n, a in self.resolved.visible.items() if a.kind == kind]),
                )
            )
            return None
        if asset.kind != kind:
            self.problems.append(self.doc.problem(where, f"{name!r} is {_a(asset.kind)}, not {_a(kind)}"))
            return None
        return asset

    def _start(self, shot: Shot, where: tuple[str | int, ...]) -> tuple[AssetRef | None, str | None]:
        if shot.start is None:
            return None, None
        if shot.start.endswith(".last_frame"):
            upstream = shot.start[: -len(".last_frame")]
            if upstream in self.ids:
                return frame_ref(upstream), upstream
            if upstream not in self.resolved.scope.imports:
                close = closest(upstream, list(self.ids))
                self.problems.append(
                    self.doc.problem(
                        where + ("start",),
                        f"unknown shot {upstream!r} in {shot.start!r}",
                        f"did you mean '{close}.last_frame'?" if close else _START_HINT,
                    )
                )
                return None, None
        elif shot.start not in self.resolved.visible:
            # `start: arrival` for a shot, or a near miss of one: say how to start from its last frame
            close = shot.start if shot.start in self.ids else closest(shot.start, list(self.ids))
            images = [n for n, a in self.resolved.visible.items() if a.kind == "image"]
            if close is not None and (shot.start in self.ids or closest(shot.start, images) is None):
                self.problems.append(
                    self.doc.problem(
                        where + ("start",),
                        f"unknown image {shot.start!r}"
                        + (f"; {shot.start!r} is a shot" if shot.start in self.ids else ""),
                        f"to start from a shot's last frame write '{close}.last_frame'",
                    )
                )
                return None, None
        asset = self._asset(shot.start, where + ("start",), "image")
        return (asset.refs[0], None) if asset else (None, None)

    def _end(self, shot: Shot, where: tuple[str | int, ...]) -> tuple[AssetRef | None, str | None]:
        """The end frame: an image, or another shot's first or last frame (and that shot, to depend on)."""
        if shot.end is None:
            return None, None
        for suffix, kind in ((".first_frame", "first_frame"), (".last_frame", "last_frame")):
            if shot.end.endswith(suffix):
                upstream = shot.end[: -len(suffix)]
                if upstream in self.ids:
                    if upstream == shot.id:
                        self._problem(
                            where + ("end",),
                            f"shot {shot.id!r} cannot end on its own {suffix[1:].replace('_', ' ')}",
                            "end on an image, or on another shot's frame",
                        )
                        return None, None
                    return AssetRef(kind, upstream, shot.end), upstream  # type: ignore[arg-type]
                if upstream not in self.resolved.scope.imports:
                    self._problem(
                        where + ("end",),
                        f"unknown shot {upstream!r} in {shot.end!r}",
                        did_you_mean(upstream, list(self.ids)),
                    )
                    return None, None
        asset = self._asset(shot.end, where + ("end",), "image")
        return (asset.refs[0], None) if asset else (None, None)

    def _edit(self, shot: Shot, where: tuple[str | int, ...]) -> tuple[AssetRef | None, str | None]:
        """An edit's source clip (and the shot it comes from)."""
        if shot.edit is None:
            return None, None
        if shot.edit == shot.id:
            self._problem(
                where + ("edit",),
                f"shot {shot.id!r} cannot be an edit of itself",
                "name the shot whose clip this one changes",
            )
            return None, None
        if shot.edit not in self.ids:
            self._problem(
                where + ("edit",),
                f"unknown shot {shot.edit!r} to edit",
                did_you_mean(shot.edit, [s for s in self.ids if s != shot.id]) or "name a shot of this storyboard",
            )
            return None, None
        return AssetRef("clip", shot.edit, f"{shot.edit}.clip"), shot.edit
