"""The endpoint's limits, checked at compile time: a storyboard that compiles is one fal accepts.

Each limit lives on the model (``storyboard/compiler/models.py``) and is checked here word for
word with its line number: reference views per element, the prompt after rewriting, and every
image input (size before reading, header, decode, sides, aspect).
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest
from PIL import Image

from sbtest import draw, time_limit, write_storyboard
from storyboard.compiler.assets import AssetProblem, AssetStore, check_image
from storyboard.compiler.compile import compile_file
from storyboard.compiler.models import MODELS, find_model
from storyboard.errors import InputError, Problem
from storyboard.plan import ImageLimits

Where = tuple[str | None, int | None, int | None, str, str, str | None]
VIEWS_HINT = "keep the 3 that show it best (with none, its `image` is sent as its one reference view)"


def facts(path: Path) -> list[Where]:
    """Each problem of compiling ``path`` as (file, line, column, path, message, hint)."""
    with pytest.raises(InputError) as info:
        compile_file(path)
    problems: list[Problem] = info.value.problems
    return [(p.file, p.line, p.column, p.path, p.message, p.hint) for p in problems]


# -- the registry holds the limits -----------------------------------------------------------


def test_every_model_carries_the_endpoint_limits() -> None:
    """fal-kling-o1.md's limits, as data on each model of the registry."""
    for model in MODELS:
        assert model.max_prompt_chars == 2500, model.name
        assert model.element_views == (1, 3), model.name
        assert model.images == ImageLimits(300, 10_000_000, 0.40, 2.50, ("JPEG", "PNG", "WEBP")), model.name
    for name in ("o1-standard", "o1-pro"):
        o1 = find_model(name)
        assert o1 is not None
        assert o1.max_references == 7
        assert o1.durations == tuple(range(3, 11))
        assert o1.aspect_ratios == ("16:9", "9:16", "1:1")


def test_a_models_file_can_change_the_image_limits(project: Path) -> None:
    """The image limits are data: a models file that raises the least side refuses a 320 px image."""
    draw(project / "assets" / "small.png", (200, 90, 40), (320, 320))
    (project / "models.yaml").write_text(
        "version: 1\nmodels:\n  - endpoint: fal-ai/kling-video/o1/standard/reference-to-video\n"
        "    limits: {images: {min_side: 512}}\n"
    )
    path = write_storyboard(
        project,
        "version: 1\ntitle: T\nmodels: models.yaml\nimages:\n  small: assets/small.png\n"
        "shots:\n  - {id: a, prompt: '@small at dawn.'}\n",
    )
    shot = compile_file(path).shots[0]
    assert shot.image_limits.min_side == 512


def test_an_element_without_references_keeps_the_key_it_had_before_the_compiler_sent_its_view() -> None:
    """Earlier versions compiled `reference_image_urls: []` and the fal backend sent the frontal image
    as the one view: the same request on the wire, so the same key (a cached clip is not paid again)."""
    from storyboard.plan import shot_key

    frontal = "sha256:" + "a" * 64
    before = {"prompt": "@Element1 waves.", "elements": [{"frontal_image_url": frontal, "reference_image_urls": []}]}
    now = {**before, "elements": [{"frontal_image_url": frontal, "reference_image_urls": [frontal]}]}
    other = {**before, "elements": [{"frontal_image_url": frontal, "reference_image_urls": ["sha256:" + "b" * 64]}]}
    endpoint = "fal-ai/kling-video/o1/standard/reference-to-video"
    assert shot_key(endpoint, now, {}) == shot_key(endpoint, before, {})
    assert shot_key(endpoint, other, {}) != shot_key(endpoint, now, {})


def test_the_plan_carries_each_shots_image_limits(project: Path) -> None:
    """The build checks frames it makes (last frames) against the shot's model, read from the Plan."""
    path = write_storyboard(project, "version: 1\ntitle: T\nshots:\n  - {id: a, prompt: x, model: o1-pro}\n")
    shot = compile_file(path).shots[0]
    pro = find_model("o1-pro")
    assert pro is not None and shot.image_limits == pro.images


def test_strictest_limits_are_what_every_model_takes() -> None:
    a = ImageLimits(300, 10_000_000, 0.4, 2.5, ("JPEG", "PNG", "WEBP"))
    b = ImageLimits(512, 5_000_000, 0.5, 3.0, ("PNG", "JPEG"))
    assert ImageLimits.strictest((a, b)) == ImageLimits(512, 5_000_000, 0.5, 2.5, ("JPEG", "PNG"))


# -- elements: 1 to 3 reference views --------------------------------------------------------

ELEMENTS = """\
version: 1
title: Views
characters:
  mira:
    image: assets/mira/front.png
    references: [assets/mira/side.png, assets/mira/back.png, assets/red.png, assets/blue.png]
objects:
  stone: {image: assets/grey.png}
shots:
  - id: first
    prompt: "@stone rests."
"""


def test_four_reference_views_are_an_error_at_the_declaration(project: Path) -> None:
    """Reported where the element is declared, whether a shot uses it or not."""
    path = write_storyboard(project, ELEMENTS)
    assert facts(path) == [
        (
            "storyboard.yaml",
            6,
            17,
            "characters.mira.references",
            "character 'mira' has 4 reference views; an element takes 1 to 3",
            VIEWS_HINT,
        )
    ]


def test_four_reference_views_in_a_library_name_the_library(project: Path) -> None:
    (project / "lib" / "views.yaml").write_text(
        "version: 1\nobjects:\n  boat:\n    image: img/boat.png\n"
        "    references: [img/boat.png, img/lake.png, img/ink.png, img/gull.png]\n",
        encoding="utf-8",
    )
    path = write_storyboard(
        project, "version: 1\ntitle: T\nimports: {v: lib/views.yaml}\nshots:\n  - {id: a, prompt: x}\n"
    )
    assert facts(path) == [
        (
            "lib/views.yaml",
            5,
            17,
            "objects.boat.references",
            "object 'boat' has 4 reference views; an element takes 1 to 3",
            VIEWS_HINT,
        )
    ]


def test_an_element_without_references_sends_its_image_as_its_one_view(project: Path) -> None:
    """fal refuses an empty reference_image_urls; `references: []` (dropping inherited views) too."""
    path = write_storyboard(
        project,
        """\
        version: 1
        title: Views
        characters:
          mira: {image: assets/mira/front.png, references: [assets/mira/side.png]}
          bare: {extends: mira, image: assets/red.png, references: []}
        objects:
          stone: {image: assets/grey.png}
        shots:
          - id: first
            prompt: "@stone, @mira and @bare."
        """,
    )
    elements = compile_file(path).to_json()["shots"][0]["request"]["elements"]
    assert elements == [
        {"frontal_image_url": "assets/grey.png", "reference_image_urls": ["assets/grey.png"]},
        {"frontal_image_url": "assets/mira/front.png", "reference_image_urls": ["assets/mira/side.png"]},
        {"frontal_image_url": "assets/red.png", "reference_image_urls": ["assets/red.png"]},
    ]


def test_a_child_of_a_broken_element_adds_no_second_message(project: Path) -> None:
    """The 4 views are reported once, at the parent; the child that extends it says nothing more."""
    path = write_storyboard(project, ELEMENTS.replace("objects:\n", "  old: {extends: mira}\nobjects:\n"))
    assert [f[3] for f in facts(path)] == ["characters.mira.references"]


# -- the prompt after rewriting --------------------------------------------------------------


def test_a_prompt_over_2500_characters_after_rewriting_is_an_error(project: Path) -> None:
    """2,480 characters written fit alone; the start sentence pushes the request over the limit."""
    body = "x" * 2480
    text = f"""\
version: 1
title: Long
images:
  hall: assets/green.png
shots:
  - id: fits
    prompt: "{body}"
  - id: long
    start: hall
    prompt: "{body}"
"""
    path = write_storyboard(project, text)
    assert facts(path) == [
        (
            "storyboard.yaml",
            10,
            13,
            "shots[1].prompt",
            "shot 'long': the prompt is 2,513 characters once its tags and sentences are written in; "
            "Kling O1 reference-to-video (standard) takes at most 2,500",
            "shorten the prompt (a start frame or style that the prompt does not mention adds a sentence)",
        )
    ]


def test_a_prompt_of_exactly_2500_characters_compiles(project: Path) -> None:
    path = write_storyboard(project, f'version: 1\ntitle: T\nshots:\n  - id: a\n    prompt: "{"y" * 2500}"\n')
    assert len(compile_file(path).shots[0].prompt) == 2500


def test_a_megabyte_prompt_is_refused(project: Path) -> None:
    """A plain 1 MB prompt used to be sent as it was."""
    path = write_storyboard(project, f'version: 1\ntitle: T\nshots:\n  - id: a\n    prompt: "{"z" * 1_000_000}"\n')
    (problem,) = facts(path)
    assert problem[3] == "shots[0].prompt" and "1,000,000 characters" in problem[4]


# -- image inputs ------------------------------------------------------------------------------

IMAGE_BOARD = """\
version: 1
title: Images
images:
  pic: assets/pic.{ext}
shots:
  - id: a
    prompt: "@pic"
"""


def image_facts(project: Path, ext: str = "png") -> list[Where]:
    return facts(write_storyboard(project, IMAGE_BOARD.format(ext=ext)))


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((299, 400), "'assets/pic.png' is 299×400 pixels; the model needs at least 300 on each side"),
        ((300, 751), "'assets/pic.png' has aspect ratio 0.3995; the model takes 0.40 to 2.50"),
        ((751, 300), "'assets/pic.png' has aspect ratio 2.5033; the model takes 0.40 to 2.50"),
    ],
)
def test_sides_and_aspect_at_the_edges(project: Path, size: tuple[int, int], message: str) -> None:
    """Just outside each limit (a ratio that two places would round into the range gets four)."""
    draw(project / "assets/pic.png", (1, 2, 3), size)
    assert image_facts(project) == [("storyboard.yaml", 4, 8, "images.pic", message, None)]


@pytest.mark.parametrize("size", [(300, 750), (750, 300), (300, 300)])
def test_images_just_inside_the_limits_compile(project: Path, size: tuple[int, int]) -> None:
    draw(project / "assets/pic.png", (1, 2, 3), size)
    compile_file(write_storyboard(project, IMAGE_BOARD.format(ext="png")))


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_jpeg_and_webp_are_accepted(project: Path, fmt: str) -> None:
    Image.new("RGB", (320, 320), (9, 9, 9)).save(project / "assets" / "pic.img", format=fmt)
    compile_file(write_storyboard(project, IMAGE_BOARD.format(ext="img")))


def test_a_bmp_is_refused_by_its_header(project: Path) -> None:
    Image.new("RGB", (320, 320), (9, 9, 9)).save(project / "assets" / "pic.png", format="BMP")
    assert image_facts(project) == [
        (
            "storyboard.yaml",
            4,
            8,
            "images.pic",
            "'assets/pic.png' is a BMP image; the model takes PNG, JPEG or WebP",
            None,
        )
    ]


def test_over_10_mb_is_refused(project: Path) -> None:
    """10 MB as fal writes it: 10,000,000 bytes (the stricter reading of "10MB")."""
    draw(project / "assets/pic.png", (1, 2, 3))
    with (project / "assets/pic.png").open("ab") as f:
        f.write(b"\0" * (10_000_001 - f.tell()))
    assert image_facts(project) == [
        ("storyboard.yaml", 4, 8, "images.pic", "'assets/pic.png' is 10.0 MB; the model takes images up to 10 MB", None)
    ]


def test_a_sparse_multi_gigabyte_png_is_refused_without_reading_it(project: Path) -> None:
    """Issue 11 item 12: the size is checked before the file is read, under a 512 MB memory cap."""
    with (project / "assets/pic.png").open("wb") as f:
        f.truncate(8 * 1024**3)  # 8 GB of holes: reading it would take seconds and gigabytes
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (512 * 1024**2 + _current_vm(), hard))
        with time_limit(30):
            found = image_facts(project)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert found == [
        (
            "storyboard.yaml",
            4,
            8,
            "images.pic",
            "'assets/pic.png' is 8589.9 MB; the model takes images up to 10 MB",
            None,
        )
    ]


def _current_vm() -> int:
    """This process's virtual memory now, in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def test_a_file_that_grows_after_stat_is_still_read_only_up_to_the_limit(tmp_path: Path) -> None:
    """The read itself is bounded: whatever stat said, at most max_bytes + 1 bytes are read."""
    path = tmp_path / "grow.png"
    path.write_bytes(b"\0" * 2000)
    store = AssetStore(root=tmp_path, limits=ImageLimits(max_bytes=1000))
    with pytest.raises(AssetProblem, match=r"'grow.png' is 0.0 MB; the model takes images up to 0.001 MB"):
        store.ref("grow.png", tmp_path / "sb.yaml")


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width``×``height`` RGB but holds no valid pixel data at all."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return head + chunk(b"IDAT", b"junk") + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("side", "message"),
    [
        (8000, "'big' is 8000×8000 pixels, too large to be a reference image"),  # over our 40 Mpx
        (10000, "'big' is 10000×10000 pixels, too large to be a reference image"),  # Pillow warns here
        (20000, "'big' has too many pixels to be a reference image"),  # Pillow refuses here
    ],
)
def test_check_image_refuses_a_huge_canvas_from_its_header(side: int, message: str) -> None:
    """Refused before a pixel is decoded (the pixel data is junk: decoding would say "not readable")."""
    with pytest.raises(AssetProblem) as info:
        check_image(_png_header(side, side), "big")
    assert info.value.message == message


def test_a_url_asset_compiles_with_a_warning_that_it_is_not_checked(project: Path) -> None:
    """URLs are passed through (the contract) and never fetched (the compiler reads no network)."""
    from storyboard.compiler.compile import compile_with_context

    path = write_storyboard(
        project,
        'version: 1\ntitle: T\nimages:\n  sky: "https://example.com/sky.png"\nshots:\n  - {id: a, prompt: "@sky"}\n',
    )
    plan, ctx = compile_with_context(path)
    assert plan.shots[0].image_urls[0].value == "https://example.com/sky.png"
    assert [w.format() for w in ctx.warnings] == [
        "storyboard.yaml:4:8: images.sky: 'https://example.com/sky.png' is a URL: its image is not checked against "
        "the model's limits (10 MB, 300 px a side, aspect 0.40-2.50, PNG/JPEG/WebP), and fal refuses one it cannot "
        "take — download it beside the storyboard and name the file, so that it is checked before you pay"
    ]


def test_a_frame_the_build_extracts_is_checked_against_the_shots_own_model(tmp_path: Path) -> None:
    """The fal backend checks an extracted last or first frame with the limits the Plan carries."""
    from storyboard.backends.fal_support import check_start_frame
    from storyboard.errors import BackendError

    frame = tmp_path / "frame.png"
    draw(frame, (10, 20, 30), (400, 400))
    check_start_frame(frame, "a.last_frame", ImageLimits())  # fal's own limits: 400 px is fine
    with pytest.raises(BackendError) as info:
        check_start_frame(frame, "a.last_frame", ImageLimits(min_side=512))  # a model that needs more
    assert str(info.value) == (
        "a.last_frame cannot be a start or end frame on fal: it is 400×400 pixels; "
        "the model needs at least 512 on each side; nothing was uploaded"
    )
