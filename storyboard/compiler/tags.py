"""Tags: ``@name`` → ``@ElementN`` / ``@ImageN`` in a rendered prompt, and the request's lists.

Mapping follows the format contract's "How a shot compiles into one request": elements in order
of first mention, images (start frame, mentions, style), the start and style sentences, limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from storyboard.compiler.assets import frame_ref
from storyboard.compiler.render import PromptError
from storyboard.compiler.scope import Asset, is_model_tag
from storyboard.plan import FRAME_KINDS, AssetRef, ElementRef, Mention
from storyboard.util import closest

# an @ right after a letter or digit of any script (josé@example.com, 東京@mail.jp) is plain text
MENTION = re.compile(r"@@|(?<!\w)@([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?")


def join_tags(tags: list[str] | tuple[str, ...]) -> str:
    """``@Image2``; ``@Image2 and @Image3``; ``@Image2, @Image3 and @Image4``."""
    if len(tags) <= 1:
        return "".join(tags)
    return ", ".join(tags[:-1]) + " and " + tags[-1]


@dataclass
class Mapped:
    """A shot's prompt after tag mapping, with the request's images and elements in order."""

    prompt: str
    images: list[AssetRef]
    elements: list[ElementRef]
    mentions: list[Mention]
    depends_on: list[str] = field(default_factory=list)


class TagMapper:
    """Maps ``@name`` mentions to the model's tags for one storyboard."""

    def __init__(self, visible: dict[str, Asset], namespaces: set[str], shot_ids: set[str]):
        self.visible = visible
        self.namespaces = namespaces
        self.shot_ids = shot_ids

    def map(
        self,
        text: str,
        *,
        start: AssetRef | None,
        start_label: str | None,
        style: Asset | None,
        style_name: str | None,
        max_refs: int,
        frames_tagged: bool = True,
        end: AssetRef | None = None,
        end_label: str | None = None,
        untagged_refs: int = 0,
    ) -> Mapped:
        """Rewrite one rendered prompt; PromptError listing every bad mention and the limit.

        With ``frames_tagged`` the start frame is @Image1 (and the end frame @Image2, where the
        model takes one) and a sentence names them unless the prompt does; without it the frames
        travel in fields of their own and only ``untagged_refs`` counts them against the limit.
        """
        text = text.strip()
        images: dict[AssetRef, int] = {}
        labels: dict[AssetRef, str] = {}
        if not frames_tagged:
            start = None
            end = None
        if start is not None:
            images[start] = 1
            labels[start] = f"start frame {start_label}"
        if end is not None and end not in images:
            images[end] = len(images) + 1
            labels[end] = f"end frame {end_label}"
        elements: dict[int, tuple[int, Asset, str]] = {}
        mentions: dict[str, Mention] = {}
        depends: list[str] = []
        problems: list[tuple[str, str | None]] = []
        state = {"start_mentioned": False, "style_mentioned": False, "end_mentioned": False}

        def image_tag(ref: AssetRef, label: str) -> str:
            if ref not in images:
                images[ref] = len(images) + 1
                labels[ref] = label
            if ref == start:
                state["start_mentioned"] = True
            if ref == end:
                state["end_mentioned"] = True
            return f"@Image{images[ref]}"

        def replace(m: re.Match[str]) -> str:
            if m.group(0) == "@@":
                return "@"
            name, sub = m.group(1), m.group(2)
            tail = ""
            if sub is not None:
                if sub == "last_frame" and name in self.shot_ids:
                    ref = frame_ref(name)
                    if ref != start and name not in depends:
                        depends.append(name)
                    tag = image_tag(ref, f"last frame of {name}")
                    mentions.setdefault(ref.display, Mention(ref.display, "last_frame", (tag,)))
                    return tag
                if name in self.namespaces:
                    name = f"{name}.{sub}"
                elif sub == "last_frame":  # only shots have a last frame: never "@Element1.last_frame"
                    close = closest(name, self.shot_ids)
                    problems.append(
                        (
                            f"unknown shot {name!r} in {m.group(0)}",
                            f"did you mean @{close}.last_frame?"
                            if close
                            else "only a shot has a last frame: write @<shot id>.last_frame",
                        )
                    )
                    return m.group(0)
                else:
                    tail = "." + sub
            if is_model_tag(name):
                problems.append(
                    (
                        f"{m.group(0)} is written by hand",
                        "the compiler numbers @ElementN/@ImageN itself: write the asset's name (e.g. @mira)",
                    )
                )
                return m.group(0)
            asset = self.visible.get(name)
            if asset is None:
                written = name + tail  # @more.gull where `more` is not a namespace: report it as written
                problems.append((f"unknown reference @{written}", self._hint(written)))
                return m.group(0)
            if asset.is_element:
                key = id(asset)
                if key not in elements:
                    refs = asset.refs
                    # the endpoint takes 1 to 3 views: with none declared, the frontal image is the one
                    el = ElementRef(name, refs[0], tuple(refs[1:]) or (refs[0],), asset.description)
                    elements[key] = (len(elements) + 1, asset, name)
                    element_list.append(el)
                tag = f"@Element{elements[key][0]}"
                mentions.setdefault(name, Mention(name, asset.kind, (tag,)))
                return tag + tail
            if asset.kind == "style":
                if asset is style:
                    state["style_mentioned"] = True
                tags = tuple(image_tag(r, f"style {name}") for r in asset.refs)
                mentions.setdefault(name, Mention(name, "style", tags))
                return join_tags(tags) + tail
            tag = image_tag(asset.refs[0], f"image {name}")
            mentions.setdefault(name, Mention(name, "image", (tag,)))
            return tag + tail

        element_list: list[ElementRef] = []
        body = MENTION.sub(replace, text) if "@" in text else text
        if not body:
            problems.append(("the prompt is empty", "describe the shot"))
        if start is not None and not state["start_mentioned"]:
            body = "Take @Image1 as the start frame. " + body
            label = start_label or start.display
            mentions.setdefault(
                label, Mention(label, "last_frame" if start.kind in FRAME_KINDS else "image", ("@Image1",))
            )
        if end is not None and not state["end_mentioned"]:
            body += f" End on @Image{images[end]} as the end frame."
            label = end_label or end.display
            mentions.setdefault(
                label, Mention(label, "last_frame" if end.kind in FRAME_KINDS else "image", (f"@Image{images[end]}",))
            )
        if style is not None and not state["style_mentioned"]:
            tags = tuple(image_tag(r, f"style {style_name}") for r in style.refs)
            mentions.setdefault(style_name or style.name, Mention(style_name or style.name, "style", tags))
            body += f" Make sure to keep it as the style of {join_tags(tags)}."
        total = len(images) + len(element_list) + untagged_refs
        if total > max_refs:
            counted = [f"@Image{i} {labels[r]}" for r, i in images.items()]
            counted += [f"@Element{i + 1} {el.name}" for i, el in enumerate(element_list)]
            counted += ["the start and end frames"] * bool(untagged_refs)
            problems.append(
                (
                    f"{total} references, over the model's limit of {max_refs}: " + ", ".join(counted),
                    "split the shot, drop a reference, or use a style with fewer images",
                )
            )
        if problems:
            raise PromptError(problems)
        return Mapped(body, list(images), element_list, list(mentions.values()), depends)

    def _hint(self, name: str) -> str | None:
        close = closest(name, list(self.visible))
        if close:
            return f"did you mean @{close}?"
        if "." in name and name.split(".")[0] not in self.namespaces:
            return f"{name.split('.')[0]!r} is not an imported namespace"
        return "declare it under characters, objects, styles or images (or write @@ for a literal @)"
