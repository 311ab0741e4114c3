"""Generated assets through the real CLI: the lighthouse example builds offline from words alone.

The preview backend draws each generated image as a labelled placeholder of the size asked; the
shots are made from those files. Sizes are measured from the files; what is generated again after
an edit is read from run_results.json.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from storyboard.media.probe import probe
from support.cli import results, run_cli


def _images(build: Path) -> dict[str, str]:
    data = json.loads((build / "run_results.json").read_text("utf-8"))
    return {r["id"]: r["status"] for r in data["images"]}


def test_the_lighthouse_builds_offline_from_words(example) -> None:
    sb = example("lighthouse")
    proc = run_cli("build", str(sb))
    assert proc.returncode == 0, proc.stderr
    build = sb.parent / "build"
    film = probe(build / "film.mp4")
    assert abs(film.duration - 10) < 0.1 and (film.width, film.height) == (1280, 720)
    assert set(_images(build).values()) == {"generated"}
    sizes = {}
    for p in (build / "images").glob("*.png"):
        with Image.open(p) as im:
            sizes[p.stem] = im.size
    assert sizes == {
        "keeper.front": (768, 1024), "keeper.view1": (768, 1024), "keeper.view2": (768, 1024),
        "lamp.front": (1024, 1024), "lamp.view1": (1024, 1024),
        "pastel.image1": (1024, 1024), "pastel.image2": (1024, 1024), "tower.image": (1344, 768),
    }  # fmt: skip
    # the views are drawn apart from the frontal (each placeholder names its view)
    front = (build / "images" / "keeper.front.png").read_bytes()
    assert front != (build / "images" / "keeper.view1.png").read_bytes()

    board = run_cli("board", str(sb))
    assert board.returncode == 0, board.stderr
    page = (build / "board" / "index.html").read_text("utf-8")
    assert "generated images: tower.image (from words)" in page
    assert "keeper.view1 (made from keeper.front)" in page and "not made yet" not in page
    graph = run_cli("graph", str(sb), "--format", "dot")
    assert '[label="view"]' in graph.stdout and "[style=dotted]" in graph.stdout

    again = run_cli("build", str(sb))
    assert again.returncode == 0, again.stderr
    assert set(_images(build).values()) == {"cached"}
    assert {r["status"] for r in results(build).values()} == {"cached"}

    # a changed prompt makes the keeper again, and the shots he is in; nothing else
    sb.write_text(sb.read_text("utf-8").replace("white beard", "grey beard"), "utf-8")
    status = run_cli("status", str(sb))
    assert "keeper.front         stale: prompt changed" in status.stdout, status.stdout
    assert "keeper.view1         stale: the image it is made from (keeper.front) changed" in status.stdout
    third = run_cli("build", str(sb))
    assert third.returncode == 0, third.stderr
    made = _images(build)
    assert {k for k, v in made.items() if v == "generated"} == {"keeper.front", "keeper.view1", "keeper.view2"}
    assert {r["status"] for r in results(build).values()} == {"generated"}


def test_cost_ls_and_max_cost_count_the_generated_images(example) -> None:
    sb = example("lighthouse")
    cost = run_cli("cost", str(sb), "--json")
    assert cost.returncode == 0, cost.stderr
    data = json.loads(cost.stdout)
    assert [i["id"] for i in data["images"]][:3] == ["keeper.front", "keeper.view1", "keeper.view2"]
    # 2 shots × 5 s × $0.084, 5 FLUX.1 [dev] images of at most 1024×1024 ($0.025), 3 Kontext views ($0.04)
    assert data["total"] == round(10 * 0.084 + 5 * 0.025 + 3 * 0.04, 4)
    ls = run_cli("ls", str(sb), "--select", "dusk")
    assert "keeper.view1         image  to build  after keeper.front" in ls.stdout
    refused = run_cli("build", str(sb), "--backend", "fal", "--max-cost", "0.9", env={"FAL_KEY": "k:s"})
    assert refused.returncode == 2 and "over --max-cost $0.90" in refused.stderr
    assert not (sb.parent / "build").exists()


def test_freeze_writes_the_images_and_keeps_the_shots_cached(example) -> None:
    sb = example("lighthouse")
    early = run_cli("freeze", str(sb), "keeper")
    assert early.returncode == 2
    assert "'keeper' is not generated yet with --backend preview" in early.stderr
    assert "run `storyboard build" in early.stderr and "Traceback" not in early.stderr
    assert "generate:" in sb.read_text("utf-8")  # nothing was rewritten
    unknown = run_cli("freeze", str(sb), "keepr")
    assert unknown.returncode == 2 and "generated assets: keeper, lamp, pastel, tower" in unknown.stderr

    assert run_cli("build", str(sb)).returncode == 0
    build = sb.parent / "build"
    before = sb.read_text("utf-8")
    frozen = run_cli("freeze", str(sb), "keeper")
    assert frozen.returncode == 0, frozen.stderr
    assert "2 cached shot(s) kept under their new keys" in frozen.stderr
    folder = sb.parent / "assets" / "keeper"
    for stem in ("front", "view1", "view2"):
        assert (folder / f"{stem}.png").read_bytes() == (build / "images" / f"keeper.{stem}.png").read_bytes()
    after = sb.read_text("utf-8")
    assert (
        "    image: assets/keeper/front.png\n    references: [assets/keeper/view1.png, assets/keeper/view2.png]\n"
        in after
    )
    assert after.count("generate:") == before.count("generate:") - 1
    assert after.splitlines()[:6] == before.splitlines()[:6]  # the comments at the head are the user's still
    status = run_cli("status", str(sb))
    assert "0 stale" in status.stderr, status.stdout + status.stderr
    rebuilt = run_cli("build", str(sb))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert {r["status"] for r in results(build).values()} == {"cached"}  # nothing paid again
    assert "keeper.front" not in _images(build)
    listing = run_cli("compile", str(sb), "--json")
    elements = json.loads(listing.stdout)["shots"][0]["request"]["elements"]
    assert elements[0] == {
        "frontal_image_url": "assets/keeper/front.png",
        "reference_image_urls": ["assets/keeper/view1.png", "assets/keeper/view2.png"],
    }
