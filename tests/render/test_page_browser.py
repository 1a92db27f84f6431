"""The ``--viz FILE.html`` page in a real headless browser: Debian's Chromium (``make browser``
installs it) driven by Playwright, offline. Hovering an output cell must highlight exactly the
cells of its window and show its arithmetic; the arrow keys step through the windows."""

import os

import numpy as np
import pytest

from tests.render.test_pictures import SEED

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: run `make browser`"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(offline=True)
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors
    assert all(url.startswith("file:") for url in requests), requests  # nothing fetched


def marked(page, cls: str) -> set[tuple[int, int]]:
    """(row, col) of the input cells marked with ``cls``, in input coordinates."""
    cells = page.eval_on_selector_all(
        f"#marks rect.{cls}", "els => els.map(e => [+e.dataset.r, +e.dataset.c])"
    )
    return {tuple(c) for c in cells}


def hover_output(page, r: int, c: int) -> None:
    page.hover(f'#output rect.out[data-r="{r}"][data-c="{c}"]')


def test_hovering_an_output_cell_highlights_its_window(cli, seed_npy, workdir, page):
    cli("max", seed_npy, "-k", "2", "--viz", "seed.html", "-q")
    page.goto((workdir / "seed.html").as_uri())
    hover_output(page, 1, 0)
    # Window (1, 0) covers rows 2-3, columns 0-1; the engine's winner is 14 at (3, 1).
    assert marked(page, "hl") | marked(page, "win") == {(2, 0), (2, 1), (3, 0), (3, 1)}
    assert marked(page, "win") == {(3, 1)}
    assert page.text_content("#arithmetic").endswith("max(9, 10, 13, 14) = 14")
    hover_output(page, 0, 1)
    assert page.text_content("#arithmetic").endswith("max(2, 4, 7, 8) = 8")
    page.keyboard.press("ArrowDown")
    assert page.text_content("#arithmetic").endswith("max(11, 12, 15, 16) = 16")
    page.keyboard.press("Home")
    assert marked(page, "win") == {(1, 1)}


def test_padding_and_ceil_cells_are_marked_apart(cli, npy, workdir, page):
    name = npy(SEED.astype(np.float32), "seed32.npy")
    cli("avg", name, "-k", "3", "-s", "2", "-p", "1", "--ceil", "--viz", "p.html", "-q")
    page.goto((workdir / "p.html").as_uri())
    page.keyboard.press("End")  # the last window: past the input at the bottom right
    ring = 1  # one padding cell before the input on each axis
    assert marked(page, "hl") | marked(page, "win") == {(3 + ring, 3 + ring)}
    assert marked(page, "pad") == {(3 + ring, 4 + ring), (4 + ring, 3 + ring), (4 + ring, 4 + ring)}
    assert len(marked(page, "ceil")) == 5
    assert page.text_content("#arithmetic").endswith("16/1 = 16")


def test_adaptive_bins_are_highlighted(cli, seed_npy, workdir, page):
    cli("max", seed_npy, "--output-size", "3", "--viz", "a.html", "-q")
    page.goto((workdir / "a.html").as_uri())
    hover_output(page, 1, 1)
    # Adaptive 4 -> 3 bins: bin 1 is cells 1-2 on each axis.
    assert marked(page, "hl") | marked(page, "win") == {(1, 1), (1, 2), (2, 1), (2, 2)}
    assert page.text_content("#arithmetic").endswith("max(6, 7, 10, 11) = 11")


def test_cells_in_no_window_are_veiled_and_keyed(cli, npy, workdir, page):
    array = np.arange(25, dtype=np.float32).reshape(5, 5)
    name = npy(array, "five.npy")
    cli("max", name, "-k", "2", "-s", "3", "--viz", "gap.html", "-q")
    page.goto((workdir / "gap.html").as_uri())
    # Windows start at 0 and 3 and read 2 cells: row and column 2 are never read.
    veiled = page.eval_on_selector_all(
        "#input rect.unused", "els => els.map(e => [+e.dataset.r, +e.dataset.c])"
    )
    assert {tuple(c) for c in veiled} == {(r, c) for r in range(5) for c in range(5) if 2 in (r, c)}
    # The veil lets the cell's value show through, and the legend names it.
    assert page.eval_on_selector("#input rect.unused", "e => getComputedStyle(e).fill").startswith(
        "url("
    )
    legend = page.text_content(".legend")
    assert "in no window (never read)" in legend
    key = page.eval_on_selector(".key.unused", "e => getComputedStyle(e).backgroundImage")
    assert "repeating-linear-gradient" in key
    for r, c in ((0, 0), (0, 1), (1, 0), (1, 1)):
        hover_output(page, r, c)
        assert not (marked(page, "hl") | marked(page, "win")) & {tuple(v) for v in veiled}


def test_a_large_input_pages_through_its_top_left_windows(cli, npy, workdir, page):
    array = np.arange(40 * 40, dtype=np.float32).reshape(40, 40) % 97
    name = npy(array, "big.npy")
    cli("avg", name, "-k", "2", "--viz", "big.html", "-q")
    page.goto((workdir / "big.html").as_uri())
    assert "rows 0-15, columns 0-15 of 40x40" in page.text_content("#title")
    captions = page.eval_on_selector_all("figcaption", "els => els.map(e => e.textContent)")
    assert captions == [
        "input rows 0-15, columns 0-15 of 40x40",
        "avg output rows 0-7, columns 0-7 of 20x20",
    ]
    assert page.eval_on_selector_all("#output rect.out", "els => els.length") == 64
    hover_output(page, 7, 7)
    assert marked(page, "hl") == {(14, 14), (14, 15), (15, 14), (15, 15)}
    cells = [array[14, 14], array[14, 15], array[15, 14], array[15, 15]]
    mean = sum(float(v) for v in cells) / 4
    assert page.text_content("#arithmetic").endswith(f"/4 = {mean:g}")
