"""The dependency graph (networkx): uploads, generations, last-frame extractions, the film.

Node ids: ``asset:<display path or URL>``, ``shot:<id>``, ``frame:<id>`` (a last frame),
``first:<id>`` (a first frame, which a shot may end on), ``image:<id>`` (a generated asset's
image), ``film``. An edge ``a → b`` means b needs a; an edit's edge from the shot whose clip it
changes carries ``kind="edit"``, a frame's edge into the shot that ends on it ``kind="end"``, a
reference view's edge from the frontal image it is made from ``kind="view"``, a generated
image's edge into a shot ``kind="generated"``. Independent shots have no path between them and may run at once.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import TYPE_CHECKING

from storyboard.plan import Plan

if TYPE_CHECKING:  # networkx is imported where a graph is built: compiling needs it only for a cycle
    import networkx as nx


def continuity_cycle(edges: Iterable[tuple[str, str]], nodes: Iterable[str]) -> list[str] | None:
    """A cycle among shots as ``[a, b, a]`` given edges ``upstream → shot``, or None."""
    import networkx as nx

    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return None
    order = [u for u, _ in cycle]
    return order + [order[0]]


def format_cycle(cycle: list[str]) -> str:
    """``a.last_frame → b.last_frame → a``: a's last frame feeds b, whose last frame feeds a."""
    return " → ".join([f"{s}.last_frame" for s in cycle[:-1]] + [cycle[-1]])


def topological_shots(deps: dict[str, tuple[str, ...]], order: list[str]) -> list[str] | None:
    """Shot ids with every shot after those it depends on (storyboard order on ties); None on a cycle."""
    position = {s: i for i, s in enumerate(order)}
    waiting = dict.fromkeys(order, 0)
    down: dict[str, list[str]] = {}
    for shot, ups in deps.items():
        for up in ups:
            waiting[shot] += 1
            down.setdefault(up, []).append(shot)
    ready = [position[s] for s in order if not waiting[s]]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        shot = order[heapq.heappop(ready)]
        out.append(shot)
        for nxt in down.get(shot, ()):
            waiting[nxt] -= 1
            if not waiting[nxt]:
                heapq.heappush(ready, position[nxt])
    return out if len(out) == len(order) else None


def build_graph(plan: Plan) -> nx.DiGraph[str]:
    """The whole build as a DAG: uploads → generations → frames → generations …, all → film."""
    import networkx as nx

    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_node("film", kind="film", label=plan.film.output)
    for image in plan.images:  # generated assets: the frontal first, each view made from it
        g.add_node(f"image:{image.id}", kind="image", label=image.label, key=image.key, asset=image.asset)
        if image.source is not None:
            g.add_edge(f"image:{image.source}", f"image:{image.id}", kind="view")
    for shot in plan.shots:
        sid = f"shot:{shot.id}"
        g.add_node(sid, kind="shot", label=shot.id, key=shot.key, duration=shot.duration, card=shot.card is not None)
        for ref in shot.assets():
            role = "end" if ref == shot.end else "input"
            if ref.kind == "clip":
                g.add_edge(f"shot:{ref.value}", sid, kind="edit")
            elif ref.kind == "generated":
                g.add_edge(f"image:{ref.value}", sid, kind="end" if role == "end" else "generated")
            elif ref.kind in ("last_frame", "first_frame"):
                fid = f"{'frame' if ref.kind == 'last_frame' else 'first'}:{ref.value}"
                g.add_node(fid, kind="frame", label=ref.display)
                g.add_edge(f"shot:{ref.value}", fid)
                g.add_edge(fid, sid, kind=role)
            else:
                aid = f"asset:{ref.display}"
                g.add_node(aid, kind="asset", label=ref.display, url=ref.kind == "url")
                g.add_edge(aid, sid, kind=role)
        g.add_edge(sid, "film")
    for audio in plan.audio:  # each line, effect and music cue: its own node, mixed into the film
        nid = f"audio:{audio.id}"
        g.add_node(nid, kind="audio", label=audio.id, key=audio.key, sound=audio.kind)
        if audio.file is not None:
            aid = f"asset:{audio.file.display}"
            g.add_node(aid, kind="asset", label=audio.file.display, url=False)
            g.add_edge(aid, nid)
        g.add_edge(nid, "film")
    return g


def _node_label(g: nx.DiGraph[str], node: str) -> str:
    data = g.nodes[node]
    if data["kind"] == "shot":
        return f"{data['label']} ({'card, ' if data.get('card') else ''}{data['duration']} s)"
    if data["kind"] == "audio":
        return f"{data['label']} ({data['sound']})"
    return str(data["label"])


def render_graph(plan: Plan, fmt: str) -> str:
    """The build graph as ``mermaid``, ``dot`` or indented ``text``."""
    g = build_graph(plan)
    ids = {n: f"n{i}" for i, n in enumerate(sorted(g.nodes))}
    if fmt == "mermaid":
        shapes = {"asset": ("[/", "/]"), "shot": ("[", "]"), "frame": ("([", "])"), "film": ("[[", "]]"),
                  "audio": ("{{", "}}"), "image": ("[(", ")]")}  # fmt: skip
        lines = ["flowchart LR"]
        for n in sorted(g.nodes):
            left, right = shapes[g.nodes[n]["kind"]]
            lines.append(f'  {ids[n]}{left}"{_node_label(g, n)}"{right}')
        arrows = {"edit": ' -- "edit" --> ', "end": ' -- "end frame" --> ', "view": ' -- "view" --> ',
                  "generated": " -.-> "}  # fmt: skip
        lines += [f"  {ids[u]}{arrows.get(g.edges[u, v].get('kind', ''), ' --> ')}{ids[v]}" for u, v in sorted(g.edges)]
        return "\n".join(lines) + "\n"
    if fmt == "dot":
        dot_shapes = {"asset": "note", "shot": "box", "frame": "ellipse", "film": "doubleoctagon", "audio": "hexagon",
                      "image": "cylinder"}  # fmt: skip
        lines = ["digraph storyboard {", "  rankdir=LR;"]
        for n in sorted(g.nodes):
            label = _node_label(g, n).replace('"', '\\"')
            lines.append(f'  {ids[n]} [label="{label}", shape={dot_shapes[g.nodes[n]["kind"]]}];')
        styles = {"edit": ' [label="edit", style=bold]', "end": ' [label="end frame", style=dashed]',
                  "view": ' [label="view"]', "generated": " [style=dotted]"}  # fmt: skip
        lines += [f"  {ids[u]} -> {ids[v]}{styles.get(g.edges[u, v].get('kind', ''), '')};" for u, v in sorted(g.edges)]
        return "\n".join(lines + ["}"]) + "\n"
    if fmt == "text":
        lines = [f"film {plan.film.output} ← " + ", ".join([s.id for s in plan.shots] + [a.id for a in plan.audio])]
        for i in plan.images:
            made = f"made from {i.source}" if i.source is not None else "from words"
            lines.append(f"image {i.id} ({i.endpoint}) ← {made}")
        for s in plan.shots:
            lines.append(f"{'card' if s.card is not None else 'shot'} {s.id} ({s.duration} s)")
            for ref in s.assets():
                prefix = {
                    "last_frame": "last frame of",
                    "first_frame": "first frame of",
                    "clip": "edit of the clip of",
                    "url": "url",
                    "generated": "generated image",
                }.get(ref.kind, "file" if s.card is not None else "upload")
                if ref == s.end:
                    prefix = "end frame: " + prefix
                shown = ref.value if ref.kind in ("last_frame", "first_frame", "clip", "generated") else ref.display
                lines.append(f"  ← {prefix} {shown}")
        for a in plan.audio:
            source = f"file {a.file.display}" if a.file is not None else a.endpoint
            lines.append(f"sound {a.id} ({a.kind}) ← {source}")
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown graph format {fmt!r}")
