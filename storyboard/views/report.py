"""Human-readable renderings of a plan (``storyboard compile`` without ``--json``)."""

from __future__ import annotations

from storyboard.plan import Plan


def plan_text(plan: Plan) -> str:
    """The plan as indented text: per shot its key, dependencies and request."""
    n = len(plan.shots)
    lines = [f"{plan.title} — {n} shot{'s' if n != 1 else ''}, {sum(s.duration for s in plan.shots)} s of video", ""]
    for s in plan.shots:
        lines.append(f"[{s.index}] {s.id}  ({s.duration} s, {s.aspect_ratio}, key {s.key[:12]})")
        if s.card is not None:
            c = s.card
            lines.append("    card:     made locally (free)")
            lines.append(f"    text:     {c.text!r}")
            font = c.font.display if c.font is not None else "Aileron Regular (bundled)"
            back = c.image.display if c.image is not None else c.background
            lines.append(f"    look:     {font}, {c.size} px, {c.color} on {back}, {c.position}, "
                         f"fades {c.fade_in:g} s / {c.fade_out:g} s")  # fmt: skip
            if s.transition.type != "cut":
                lines.append(f"    enters:   {s.transition.type} {s.transition.duration:g} s")
            lines.append("")
            continue
        lines.append(f"    endpoint: {s.endpoint}")
        if s.depends_on:
            lines.append(f"    after:    {', '.join(s.depends_on)}")
        if s.takes > 1 or s.picked:
            lines.append(f"    takes:    {s.takes}, take {s.take} in the film" + (" (picked)" if s.picked else ""))
        if s.transition.type != "cut":
            lines.append(f"    enters:   {s.transition.type} {s.transition.duration:g} s")
        if s.video is not None:
            lines.append(f"    edits:    the clip of {s.video.value} ({s.shape.video})")
        if s.multi_prompt:
            for part in s.multi_prompt:
                lines.append(f"    prompt:   ({part.duration} s) {part.prompt}")
        else:
            lines.append(f"    prompt:   {s.prompt}")
        if s.start is not None and s.shape.start not in (None, "image_urls"):
            lines.append(f"    start:    {s.start.display} ({s.shape.start})")
        if s.end is not None:
            lines.append(f"    end:      {s.end.display} ({s.shape.end})")
        if s.audio is not None:
            lines.append(f"    audio:    {'on' if s.audio else 'off'} ({s.shape.audio})")
        for i, ref in enumerate(s.image_urls, 1):
            lines.append(f"    @Image{i}:  {ref.display}")
        for i, el in enumerate(s.elements, 1):
            refs = f" (+ {', '.join(r.display for r in el.references)})" if el.references else ""
            lines.append(f"    @Element{i}: {el.name} = {el.frontal.display}{refs}")
        lines.append("")
    if plan.audio:
        lines.append(f"sound — {len(plan.audio)} node{'s' if len(plan.audio) != 1 else ''}")
        for a in plan.audio:
            where = f"{a.shot} +{a.offset:g} s" if a.shot else f"{a.start} → {a.end if a.end is not None else 'end'}"
            what = (
                f"{a.speaker} ({a.voice.fal if a.voice else ''}): {a.text!r}"
                if a.kind == "line"
                else (f"file {a.file.display}" if a.file is not None else repr(a.text))
            )
            lines.append(f"  {a.id:<16} {a.kind:<5} {where:<18} {what}  (key {a.key[:12]})")
        lines.append("")
    return "\n".join(lines)
