"""`storyboard board`: the static storyboard page, parsed with html.parser and rendered by headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from storyboard.compiler.compile import compile_file
from storyboard.views.board import board_command
from storyboard.views.board_cards import THUMB_SIDE
from support.browser import CHROMIUM
from support.cli import EXAMPLES, REPO
from support.shared import copy_of

SHOTS = ["title", "arrival", "orbit", "memory", "keepsake"]
TAG = re.compile(r"@(Element|Image)\d+")
ARTIFACTS = REPO / "tests" / "artifacts"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# -- a small DOM from html.parser ---------------------------------------------------------------
@dataclass
class Node:
    """An element: its tag, attributes, children and direct text."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        """All text inside, as the reader sees it (whitespace collapsed)."""
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join("".join(parts).split())

    def iter(self) -> Iterator[Node]:
        """This element and every element inside it, in document order."""
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        """Elements with this tag (and this class)."""
        return [n for n in self.iter() if n.tag == tag and (cls is None or cls in n.attrs.get("class", "").split())]

    def find(self, tag: str, cls: str | None = None) -> Node | None:
        """The first such element, or None."""
        found = self.find_all(tag, cls)
        return found[0] if found else None


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert tag not in VOID, f"end tag for void element <{tag}>"
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    """The page as a tree; every element must be closed in order."""
    b = _Builder()
    b.feed(html)
    b.close()
    assert b.stack == [b.root], f"unclosed: {[n.tag for n in b.stack[1:]]}"
    assert b.doctype.lower() == "doctype html"
    return b.root


def cards(doc: Node) -> list[Node]:
    """The shot cards in page order."""
    return doc.find_all("article", "card")


def status(card: Node) -> str:
    """A card's status text."""
    node = card.find("span", "status")
    assert node is not None
    return node.text()


# -- checks shared by several tests ------------------------------------------------------------
def check_page(page: Path) -> Node:
    """Structure every board must have: valid nesting, unique ids, local files only, linked tags."""
    html = page.read_text("utf-8")
    doc = parse(html)
    assert doc.find_all("script") == [] and doc.find_all("link") == [] and doc.find_all("iframe") == []
    ids = [n.attrs["id"] for n in doc.iter() if "id" in n.attrs]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for node in doc.iter():
        for attr in ("src", "href"):
            url = node.attrs.get(attr)
            if url is None:
                continue
            assert not url.startswith(("/", "file:", "data:")) and "://" not in url, f"not relative: {url}"
            if url.startswith("#"):
                assert url[1:] in ids, f"dangling link {url}"
            elif node.tag == "img":
                assert url.startswith("assets/"), url
                thumb = page.parent / url
                assert thumb.is_file(), f"missing thumbnail {url}"
                with Image.open(thumb) as im:
                    assert max(im.size) <= THUMB_SIDE
            else:
                assert (page.parent / url).is_file(), f"broken link {url}"
    for card in cards(doc):
        if "title card" in card.find("figure", "start").text():
            continue  # a card's text has no tags: it is drawn, not sent
        prompt = card.find("p", "prompt")
        assert prompt is not None
        tags = TAG.findall(prompt.text())
        links = prompt.find_all("a", "tag")
        assert len(links) == len(TAG.findall(prompt.text())) and tags, "every tag is a link"
        for a in links:
            target = next(n for n in card.iter() if n.attrs.get("id") == a.attrs["href"][1:])
            assert target.tag == "figure" and target.find("figcaption") is not None
            assert a.text() in target.find("figcaption").text(), "a tag links to the picture labelled with it"
    return doc


@pytest.fixture(scope="module")
def built(greenhouse_build: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The greenhouse example built with `storyboard build` (preview backend), copied for this module."""
    return copy_of(greenhouse_build[0], tmp_path_factory.mktemp("board") / "greenhouse") / "storyboard.yaml"


# -- the page before and after a build ----------------------------------------------------------
def test_board_before_any_build(example, tmp_path):
    sb = example("greenhouse")
    page = board_command(sb)
    assert page == sb.parent / "build" / "board" / "index.html"
    doc = check_page(page)
    cs = cards(doc)
    assert [c.attrs["id"] for c in cs] == [f"shot-{s}" for s in SHOTS]
    assert [c.find("span", "num").text() for c in cs] == ["1", "2", "3", "4", "5"]
    assert [c.find("h2").text() for c in cs] == SHOTS
    assert {status(c) for c in cs} == {"not built"}
    assert doc.find_all("video") == []
    header = doc.find("header", "top").text()
    assert "The Greenhouse" in header and "not built yet" in header
    assert "5" in header and "25 s" in header and "$1.85" in header and "o1-standard: $0.084/s" in header
    assert "Generated with storyboard 0.1.0 from storyboard.yaml" in header
    assert not re.search(r"\b\d{1,2}:\d{2}\b|\b\d{4}-\d{2}-\d{2}\b", page.read_text("utf-8")), "no timestamps"

    title, arrival, orbit, memory, _ = cs
    assert "title card" in title.find("figure", "start").text() and "$0.00" in title.text()  # drawn locally, free
    assert arrival.find("figure", "start").find("img") is not None
    assert "greenhouse @Image1" in arrival.find("figure", "start").text()
    assert "continues from arrival" in orbit.find("div", "side").text()
    assert orbit.find("p", "continues").find("a").attrs["href"] == "#shot-arrival"
    assert "last frame of arrival not built yet" in orbit.find("figure", "start").text()
    assert "no start frame" in memory.find("figure", "start").text()
    assert "crossfade 0.5 s" in memory.find("ul", "meta").text()
    labels = [f.find("figcaption").text() for f in arrival.find_all("figure", "ref")]
    assert labels[0].startswith("mira @Element1 character")
    assert any(lbl.startswith("storybook 1/2 @Image2 style") for lbl in labels)
    assert "reveals @mira standing" in arrival.find("details").text()  # the prompt as the author wrote it

    # deterministic, no absolute paths, and the folder works wherever it is moved
    first = page.read_bytes()
    assert str(tmp_path) not in first.decode("utf-8")
    assert board_command(sb).read_bytes() == first
    moved = tmp_path / "elsewhere" / "board"
    shutil.copytree(page.parent, moved)
    for img in parse((moved / "index.html").read_text("utf-8")).find_all("img"):
        assert (moved / img.attrs["src"]).is_file()


def test_board_escapes_what_the_author_wrote(tmp_path):
    root = tmp_path / "evil"
    shutil.copytree(EXAMPLES / "greenhouse" / "assets", root / "assets")
    (root / "storyboard.yaml").write_text(
        """\
version: 1
title: 'Bold <b>title</b> & "quotes"'
characters:
  mira:
    description: '<i onmouseover="alert(1)">sly</i>'
    image: assets/mira/front.png
images:
  hall: assets/greenhouse.png
shots:
  - id: attack
    start: hall
    prompt: '</p><script>alert("x")</script> @mira waves <img src=x onerror=alert(1)> & smiles'
""",
        encoding="utf-8",
    )
    page = board_command(root / "storyboard.yaml", tmp_path / "out")
    assert page == tmp_path / "out" / "index.html"
    html = page.read_text("utf-8")
    doc = check_page(page)
    assert "<script" not in html and "<b>" not in html and "<i " not in html
    assert "&lt;script&gt;" in html
    assert doc.find("h1").text() == 'Bold <b>title</b> & "quotes"'
    assert doc.find("title").text() == 'Bold <b>title</b> & "quotes" — storyboard'
    (card,) = cards(doc)
    assert (
        'Take @Image1 as the start frame. </p><script>alert("x")</script> @Element1 waves <img src=x onerror=alert(1)> & smiles'
        == card.find("p", "prompt").text()
    )
    assert [img.attrs["src"].startswith("assets/") for img in doc.find_all("img")] == [True, True]
    assert '<i onmouseover="alert(1)">sly</i>' in card.find("figure", "ref").text()


def test_board_after_storyboard_build(built):
    page = board_command(built)
    doc = check_page(page)
    cs = cards(doc)
    assert [c.attrs["id"] for c in cs] == [f"shot-{s}" for s in SHOTS]
    assert [status(c) for c in cs] == ["generated"] * 5
    assert "5 generated, 0 cached, 0 failed, 0 skipped (preview)" in doc.find("header", "top").text()
    for c, sid in zip(cs, SHOTS):
        video = c.find("video")
        assert video is not None and video.attrs["src"] == f"../shots/{sid}.mp4"
        assert "controls" in video.attrs and video.attrs["preload"] == "metadata"
        assert (page.parent / video.attrs["src"]).is_file()
    # orbit continues from arrival: its start frame is arrival's last frame, from the cache
    orbit_start = cs[2].find("figure", "start")
    assert orbit_start.find("img") is not None and "arrival.last_frame @Image1" in orbit_start.text()
    film = doc.find("header", "top").find("a")
    assert film.attrs["href"] == "../greenhouse.mp4"


def test_board_shows_every_status_of_the_last_build(example):
    sb = example("greenhouse")
    plan = compile_file(sb)
    keys = {s.id: s.key for s in plan.shots}
    shots = sb.parent / "build" / "shots"
    shots.mkdir(parents=True)
    for sid, key in (("memory", "0" * 64), ("keepsake", keys["keepsake"])):
        (shots / f"{sid}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
        (shots / f"{sid}.json").write_text(json.dumps({"key": key}))
    (sb.parent / "build" / "run_results.json").write_text(
        json.dumps(
            {
                "version": 1,
                "backend": "preview",
                "film": None,
                "shots": [
                    {
                        "id": "arrival",
                        "key": keys["arrival"],
                        "status": "failed",
                        "seconds": 1.0,
                        "error": "the backend said <no>",
                    },
                    {"id": "orbit", "key": keys["orbit"], "status": "skipped", "seconds": 0, "error": "arrival failed"},
                    {"id": "memory", "key": "0" * 64, "status": "generated", "seconds": 2.0, "error": None},
                    {"id": "keepsake", "key": keys["keepsake"], "status": "cached", "seconds": 0, "error": None},
                ],
            }
        )
    )
    page = board_command(sb)
    doc = check_page(page)
    _, arrival, orbit, memory, keepsake = cards(doc)  # the title card is not in these results: not built
    assert [c.attrs["class"].split()[1] for c in (arrival, orbit, memory, keepsake)] == [
        "st-failed",
        "st-skipped",
        "st-outdated",
        "st-cached",
    ]
    assert status(arrival) == "failed" and arrival.find("p", "error").text() == "the backend said <no>"
    assert status(orbit) == "skipped" and orbit.find("p", "error").text() == "arrival failed"
    assert status(memory) == "changed since the last build (generated)"
    assert "clip of an earlier version" in memory.find("figure", "clip").text()
    assert status(keepsake) == "cached" and keepsake.find("video") is not None
    assert arrival.find("video") is None
    assert "0 generated, 1 cached, 1 failed, 1 skipped, 1 changed since" in doc.find("header", "top").text()


# -- real headless Chromium --------------------------------------------------------------------
def chromium() -> Path:
    """Chromium's path; skip without it locally, fail without it in CI (where .ci/run installs it)."""
    found = CHROMIUM if CHROMIUM.exists() else (Path(p) if (p := shutil.which("chromium")) else None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, but CI must run this test (.ci/run installs Debian's chromium)")
        pytest.skip("headless Chromium not installed (/usr/bin/chromium): apt-get install chromium")
    return found


def run_chromium(binary: Path, profile: Path, *args: str, timeout: float = 60) -> tuple[str, str]:
    """Run headless Chromium in its own process group; (stdout, stderr); the whole group is killed after."""
    cmd = [
        str(binary),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"chromium did not finish within {timeout} s")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, err[-2000:]
    return out, err


def test_board_renders_in_headless_chromium(built, tmp_path):
    binary = chromium()
    page = board_command(built, tmp_path / "board")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "board.png"
    shot.unlink(missing_ok=True)
    dom, log = run_chromium(
        binary, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1366,900", "--dump-dom", page.as_uri()
    )
    console = [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == [], "the page logged to the console:\n" + "\n".join(console)
    rendered = parse(dom)
    assert [c.attrs["id"] for c in cards(rendered)] == [f"shot-{s}" for s in SHOTS]
    assert len(rendered.find_all("video")) == 5
    assert len(rendered.find_all("a", "tag")) == len(parse(page.read_text("utf-8")).find_all("a", "tag")) > 0

    with Image.open(shot) as im:
        assert im.size == (1366, 900)
        rgb = im.convert("RGB")
    colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is not None
    assert len(colours) > 2000, "the screenshot looks blank: no pictures rendered"
    assert max(n for n, _ in colours) < 0.8 * 1366 * 900, "one colour fills the screenshot"
