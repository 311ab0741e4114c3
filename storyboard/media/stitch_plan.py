"""Pure planning for :mod:`storyboard.media.stitch`: transitions in frames, the film's layout, the
smart-render segments and the ffmpeg filtergraphs that render the re-encoded windows.

Nothing here touches a file or runs a process; everything is in whole frames (and whole audio
samples) so that the film's length is exact by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from storyboard.plan import Transition

JoinKind = Literal["cut", "crossfade", "fade"]


@dataclass(frozen=True, slots=True)
class Join:
    """A transition resolved to frames: ``tail`` frames of the clip before take part, ``head`` of the clip after."""

    kind: JoinKind
    tail: int = 0
    head: int = 0

    @property
    def overlap(self) -> int:
        """Frames by which the two clips overlap in the film (a crossfade's length, else 0)."""
        return self.tail if self.kind == "crossfade" else 0


CUT = Join("cut")


def _ordinal(i: int) -> str:
    return f"clip {i + 1}"


def resolve_joins(transitions: Sequence[Transition], durations: Sequence[float], fps: Fraction) -> list[Join]:
    """Turn ``transitions[i]`` (into clip i) into frame counts; ValueError if one cannot fit.

    ``durations`` are the clips' lengths in seconds. A crossfade of d seconds overlaps d; a fade
    of d seconds takes d/2 from each side. A transition may not be longer than either clip, nor
    longer than half a clip that also has a transition on its other side.
    """
    if len(transitions) != len(durations):
        raise ValueError(f"{len(durations)} clips but {len(transitions)} transitions; give one transition per clip")
    joins: list[Join] = [CUT]
    for i, tr in enumerate(transitions[1:], start=1):
        if tr.type not in ("cut", "crossfade", "fade"):
            raise ValueError(
                f"transition into {_ordinal(i)}: unknown type {tr.type!r} (expected cut, crossfade or fade)"
            )
        if tr.duration < 0:
            raise ValueError(f"transition into {_ordinal(i)}: duration {tr.duration} s is negative")
        if tr.type == "cut" or tr.duration == 0:
            joins.append(CUT)
            continue
        frames = max(1, round(tr.duration * fps))
        if tr.type == "crossfade":
            joins.append(Join("crossfade", frames, frames))
        else:
            frames = max(2, frames)
            joins.append(Join("fade", frames // 2, frames - frames // 2))
    for i in range(1, len(joins)):
        if joins[i].kind == "cut":
            continue
        d = transitions[i].duration
        for side, other in ((i - 1, joins[i - 1] if i > 1 else CUT), (i, joins[i + 1] if i + 1 < len(joins) else CUT)):
            limit, why = durations[side], ""
            if other.kind != "cut":
                limit, why = (
                    durations[side] / 2,
                    ", and it has a transition on its other side too, so at most half its length",
                )
            if d > limit + 1e-6:
                raise ValueError(
                    f"the {transitions[i].type} into {_ordinal(i)} lasts {d:g} s, but {_ordinal(side)} is "
                    f"{durations[side]:.2f} s long{why} ({limit:.2f} s); shorten the transition"
                )
    return joins


def film_starts(frames: Sequence[int], joins: Sequence[Join]) -> tuple[list[int], int]:
    """Each clip's first frame in the film, and the film's length in frames."""
    starts, pos = [], 0
    for i, n in enumerate(frames):
        pos -= joins[i].overlap if i else 0
        starts.append(pos)
        pos += n
    return starts, pos


def check_fits(frames: Sequence[int], joins: Sequence[Join]) -> None:
    """ValueError if a clip (in frames, after normalising) is too short for its transitions."""
    for i, n in enumerate(frames):
        used = (joins[i].head if i else 0) + (joins[i + 1].tail if i + 1 < len(joins) else 0)
        if used > n:
            raise ValueError(f"{_ordinal(i)} has {n} frames but its transitions need {used}; shorten them")


@dataclass(frozen=True, slots=True)
class Piece:
    """Frames ``[start, end)`` of clip ``clip`` (display order)."""

    clip: int
    start: int
    end: int

    @property
    def frames(self) -> int:
        """Number of frames in the piece."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class CopyPart:
    """A piece stream-copied into the film at ``film_start`` (it begins and ends at cut points)."""

    piece: Piece
    film_start: int

    @property
    def frames(self) -> int:
        """Frames this part contributes to the film."""
        return self.piece.frames


@dataclass(frozen=True, slots=True)
class Window:
    """Pieces joined by ``joins`` (one fewer than pieces), re-encoded as one segment at ``film_start``."""

    pieces: tuple[Piece, ...]
    joins: tuple[Join, ...]
    film_start: int

    @property
    def frames(self) -> int:
        """Frames this window contributes to the film."""
        return sum(p.frames for p in self.pieces) - sum(j.overlap for j in self.joins)


Part = CopyPart | Window

# A clip with nothing to copy is split in its untouched middle once a window would span this
# many clips: it bounds what one ffmpeg process decodes at once and lets windows run in parallel,
# at the price of decoding the clip's first half twice when it has no keyframe there.
MAX_WINDOW_CLIPS = 3


def plan_segments(
    frames: Sequence[int], cut_points: Sequence[Sequence[int]], joins: Sequence[Join], *, copy: bool = True
) -> list[Part]:
    """Split the film into stream-copied parts and re-encoded windows, in film order.

    A clip's copied part runs from its first cut point at or after its incoming transition to its
    last cut point at or before its outgoing one; everything else goes to windows. A clip with no
    copied part is split inside its untouched middle at a cut point when it has one there, else
    when the window would span :data:`MAX_WINDOW_CLIPS` clips. With ``copy=False`` every frame
    is re-encoded (the same windows, no copied parts).
    """
    check_fits(frames, joins)
    parts: list[Part] = []
    pieces: list[Piece] = []
    inner: list[Join] = []
    pos = 0

    def add(piece: Piece, join: Join) -> None:
        if piece.frames <= 0:
            return
        if pieces:
            inner.append(join)
        pieces.append(piece)

    def flush() -> None:
        nonlocal pos
        if pieces:
            window = Window(tuple(pieces), tuple(inner), pos)
            parts.append(window)
            pos += window.frames
            pieces.clear()
            inner.clear()

    for i, n in enumerate(frames):
        join_in = joins[i] if i else CUT
        head = join_in.head
        tail = joins[i + 1].tail if i + 1 < len(joins) else 0
        if join_in.kind == "cut":
            flush()
        kfs = sorted(cut_points[i])
        cs = next((k for k in kfs if k >= head), None)
        ce = n if tail == 0 else max((k for k in kfs if k <= n - tail), default=None)
        if copy and cs is not None and ce is not None and cs < ce:
            add(Piece(i, 0, cs), join_in)
            flush()
            parts.append(CopyPart(Piece(i, cs, ce), pos))
            pos += ce - cs
            add(Piece(i, ce, n), CUT)
            continue
        lo, hi = head, n - tail  # the frames no transition touches
        inside = [k for k in kfs if lo <= k <= hi and 0 < k < n]
        split = inside[len(inside) // 2] if inside else (lo + hi) // 2
        crowded = len({p.clip for p in pieces}) + 1 >= MAX_WINDOW_CLIPS
        if tail and 0 < split < n and lo <= split <= hi and (inside or crowded):
            add(Piece(i, 0, split), join_in)
            flush()
            add(Piece(i, split, n), CUT)
        else:
            add(Piece(i, 0, n), join_in)
    flush()
    return parts


def _seconds(value: Fraction) -> str:
    """A time in seconds for an ffmpeg option, rounded down to the microsecond."""
    micros = (value * 1_000_000).__floor__()
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def window_filtergraph(
    trims: Sequence[tuple[int, int]], joins: Sequence[Join], fps: Fraction, conform: Sequence[str] = ()
) -> str:
    """The video filtergraph of a window: input j trimmed to frames ``trims[j]``, joined by ``joins``.

    ``conform[j]``, when not empty, is a filter chain applied to input j before trimming (to bring
    a clip to the film's shape). The output pad is ``[v]``; its length is the sum of the trims
    minus the crossfade overlaps.
    """
    rate = f"{fps.numerator}/{fps.denominator}"
    pre = [f"{c}," if c else "" for c in conform] or [""] * len(trims)
    chains = [
        f"[{j}:v:0]{pre[j]}trim=start_frame={a}:end_frame={b},setpts=PTS-STARTPTS,fps={rate},setsar=1[p{j}]"
        for j, (a, b) in enumerate(trims)
    ]
    acc, length = "p0", trims[0][1] - trims[0][0]
    for j, join in enumerate(joins, start=1):
        piece_len = trims[j][1] - trims[j][0]
        out = f"x{j}"
        if join.kind == "crossfade":
            offset = Fraction(length - join.overlap) / fps
            chains.append(
                f"[{acc}][p{j}]xfade=transition=fade:duration={_seconds(join.overlap / fps)}:offset={_seconds(offset)}[{out}]"
            )
        elif join.kind == "fade":
            chains.append(f"[{acc}]fade=t=out:start_frame={length - join.tail}:nb_frames={join.tail}[fo{j}]")
            chains.append(f"[p{j}]fade=t=in:start_frame=0:nb_frames={join.head}[fi{j}]")
            chains.append(f"[fo{j}][fi{j}]concat=n=2:v=1:a=0[{out}]")
        else:
            chains.append(f"[{acc}][p{j}]concat=n=2:v=1:a=0[{out}]")
        acc, length = out, length + piece_len - join.overlap
    chains.append(f"[{acc}]fps={rate},format=yuv420p[v]")
    return ";".join(chains)


def sample_at(frame: int, fps: Fraction, rate: int) -> int:
    """The audio sample at which a film frame starts."""
    return round(Fraction(frame) * rate / fps)


def audio_filtergraph(
    frames: Sequence[int],
    joins: Sequence[Join],
    inputs: Sequence[int | None],
    fps: Fraction,
    rate: int,
    layout: str,
) -> str:
    """The film's audio filtergraph: each clip's sound cut or padded to its video, joined like the video.

    ``inputs[i]`` is the ffmpeg input index holding clip i's audio, or None for silence. Sample
    positions come from the video frames, so the audio is exactly as long as the film. The output
    pad is ``[a]``.
    """
    starts, _ = film_starts(frames, joins)
    chains, spans = [], []
    for i, n in enumerate(frames):
        a, b = sample_at(starts[i], fps, rate), sample_at(starts[i] + n, fps, rate)
        spans.append((a, b))
        fmt = f"aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts={layout}"
        if inputs[i] is None:
            chains.append(f"anullsrc=r={rate}:cl={layout},atrim=end_sample={b - a},{fmt}[s{i}]")
        else:
            chains.append(
                f"[{inputs[i]}:a]aresample={rate}:async=1:first_pts=0,{fmt},"
                f"atrim=end_sample={b - a},apad=whole_len={b - a}[s{i}]"
            )
    acc, end = "s0", spans[0][1]
    for i in range(1, len(frames)):
        join, (a, b), out = joins[i], spans[i], f"y{i}"
        if join.kind == "crossfade":
            chains.append(f"[{acc}][s{i}]acrossfade=ns={end - a}:c1=tri:c2=tri[{out}]")
        elif join.kind == "fade":
            fade_out = end - sample_at(starts[i] - join.tail, fps, rate)
            fade_in = sample_at(starts[i] + join.head, fps, rate) - a
            chains.append(f"[{acc}]afade=t=out:start_sample={end - fade_out}:nb_samples={fade_out}[fo{i}]")
            chains.append(f"[s{i}]afade=t=in:start_sample=0:nb_samples={fade_in}[fi{i}]")
            chains.append(f"[fo{i}][fi{i}]concat=n=2:v=0:a=1[{out}]")
        else:
            chains.append(f"[{acc}][s{i}]concat=n=2:v=0:a=1[{out}]")
        acc, end = out, b
    chains.append(f"[{acc}]anull[a]")
    return ";".join(chains)
