"""Tests for poolcli.batch (folders of inputs, output mapping, parallel runs, interruption) and
poolcli.model.steps (chained ops)."""

import contextlib
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import numpy as np
import pytest
from PIL import Image

from poolcli import batch
from poolcli import io as pio
from poolcli.cli import batch_report as cli_report
from poolcli.engine import core
from poolcli.engine.chain import run_chain
from poolcli.errors import Interrupted, UsageError
from poolcli.io import atomic as pio_atomic
from poolcli.io import write as pio_write
from poolcli.model.steps import make_step, parse_step, split_then
from poolcli.model.window import WindowSpec
from poolcli.render import batch_report, documents

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX2 = make_step("max", kernel_size=2)
AVG2 = make_step("avg", kernel_size=2)


def rgb(seed: int, size: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def save_png(path, array) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)
    return str(path)


def save_npy(path, array) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        np.save(f, array)
    return str(path)


class Unpickled:
    """Unpickling this creates a file: proof that a disguised pickle was (not) loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def tree(tmp_path):
    """A folder of inputs: nested folders, junk, a corrupt PNG, a pickle named .npy."""
    src = tmp_path / "in"
    save_png(src / "a.png", rgb(0))
    save_npy(src / "b.npy", np.arange(64, dtype=np.float32).reshape(8, 8))
    save_png(src / "sub" / "c.png", rgb(1)[..., 0])
    save_npy(src / "sub" / "deeper" / "d.npy", np.arange(36, dtype=np.int16).reshape(6, 6))
    (src / "notes.txt").write_text("not an image")
    (src / "sub" / "deeper" / "README").write_text("no suffix")
    save_png(src / ".hidden.png", rgb(2))
    good = (src / "a.png").read_bytes()
    (src / "sub" / "corrupt.png").write_bytes(good[: len(good) // 2])
    marker = tmp_path / "unpickled"
    (src / "sub" / "pickle.npy").write_bytes(pickle.dumps(Unpickled(str(marker))))
    return src


def outputs(folder) -> dict[str, bytes]:
    """Relative path -> bytes of every file below ``folder``."""
    found = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = f.read()
    return found


def by_input(results):
    return {os.path.basename(r.input): r for r in results}


# --------------------------------------------------------------------------------------------
# Finding inputs


def test_folder_without_recursive_takes_top_level_supported_files(tree):
    found = batch.expand_inputs([str(tree)])
    assert [s.rel for s in found.sources] == ["a.png", "b.npy"]
    assert found.folders_not_searched == 1
    assert sorted(why for _, why in found.ignored) == ["hidden", "unsupported suffix"]


def test_recursive_descends_and_counts_what_it_leaves_out(tree):
    found = batch.expand_inputs([str(tree)], recursive=True)
    assert [s.rel for s in found.sources] == [
        "a.png",
        "b.npy",
        "sub/c.png",
        "sub/corrupt.png",
        "sub/deeper/d.npy",
        "sub/pickle.npy",
    ]
    assert all(s.origin == "dir" for s in found.sources)
    ignored = {os.path.basename(p): why for p, why in found.ignored}
    assert ignored == {
        ".hidden.png": "hidden",
        "notes.txt": "unsupported suffix",
        "README": "unsupported suffix",
    }


def test_include_and_exclude_filter_by_name_or_relative_path(tree):
    found = batch.expand_inputs([str(tree)], recursive=True, include=["*.npy"])
    assert [s.rel for s in found.sources] == ["b.npy", "sub/deeper/d.npy", "sub/pickle.npy"]
    found = batch.expand_inputs(
        [str(tree)], recursive=True, include=["*.npy"], exclude=["sub/deeper/*"]
    )
    assert [s.rel for s in found.sources] == ["b.npy", "sub/pickle.npy"]


def test_glob_pattern_paths_are_relative_to_its_fixed_part(tree):
    found = batch.expand_inputs([str(tree / "**" / "*.npy")])
    assert [s.rel for s in found.sources] == ["b.npy", "sub/deeper/d.npy", "sub/pickle.npy"]
    assert {s.origin for s in found.sources} == {"glob"}


def test_named_file_is_taken_whatever_its_suffix(tmp_path):
    path = save_npy(tmp_path / "data.bin", np.ones((4, 4)))
    found = batch.expand_inputs([path])
    assert [(s.rel, s.origin) for s in found.sources] == [("data.bin", "file")]


def test_each_file_is_taken_once(tree):
    found = batch.expand_inputs([str(tree / "a.png"), str(tree), str(tree / "*.png")])
    assert [s.rel for s in found.sources] == ["a.png", "b.npy"]


def test_missing_file_and_empty_glob_become_failed_results(tmp_path):
    plan = batch.plan_batch([str(tmp_path / "nope.png"), str(tmp_path / "*.tif")], MAX2)
    results = list(batch.iter_batch(plan))
    assert [r.status for r in results] == ["failed", "failed"]
    assert results[0].message == f"poolcli: error: {tmp_path / 'nope.png'}: No such file."
    assert results[1].error == f"{tmp_path / '*.tif'}: matches no files."


def test_standard_input_cannot_be_part_of_a_batch():
    with pytest.raises(UsageError, match="standard input"):
        batch.expand_inputs(["-"])


def test_files_from_nul_separated_keeps_any_name(tmp_path, monkeypatch):
    odd = save_npy(tmp_path / "new\nline.npy", np.ones((4, 4)))
    plain = save_png(tmp_path / "plain.png", rgb(3))
    stream = io.BytesIO(os.fsencode(odd) + b"\0" + os.fsencode(plain) + b"\0")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stream))
    found = batch.expand_inputs(files_from="-", null=True)
    assert [s.path for s in found.sources] == [odd, plain]
    assert [s.origin for s in found.sources] == ["list", "list"]


def test_files_from_lines_mirrors_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_png(tmp_path / "x" / "y" / "a.png", rgb(4))
    outside = save_png(tmp_path.parent / f"{tmp_path.name}-other.png", rgb(5))
    (tmp_path / "list.txt").write_text(f"./x/y/a.png\r\n\n{outside}\nmissing.png\n")
    found = batch.expand_inputs(files_from="list.txt")
    assert [s.rel for s in found.sources] == ["x/y/a.png", os.path.basename(outside)]
    assert found.missing == [("missing.png", "No such file.")]
    os.unlink(outside)


def test_list_entries_are_taken_whatever_their_suffix_unless_excluded(tmp_path):
    data = save_npy(tmp_path / "data.bin", np.ones((4, 4)))
    hidden = save_png(tmp_path / ".hidden.png", rgb(6))
    listing = io.BytesIO(f"{data}\n{hidden}\n".encode())
    assert [s.path for s in batch.expand_inputs(files_from=listing).sources] == [data, hidden]
    listing.seek(0)
    found = batch.expand_inputs(files_from=listing, include=["*.png"])
    assert [s.path for s in found.sources] == [hidden]
    assert found.ignored == [(data, "excluded")]


def test_unreadable_list_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="--files-from"):
        batch.expand_inputs(files_from=str(tmp_path / "nope.txt"))


# --------------------------------------------------------------------------------------------
# A whole folder


def test_run_tree_pools_good_files_and_reports_bad_ones(tree, tmp_path):
    out = tmp_path / "out"
    run = batch.iter_batch([str(tree)], [MAX2], str(out), recursive=True, jobs=1)
    results = by_input(run)
    assert {name: r.status for name, r in results.items()} == {
        "a.png": "done",
        "b.npy": "done",
        "c.png": "done",
        "corrupt.png": "failed",
        "d.npy": "done",
        "pickle.npy": "failed",
    }
    corrupt = results["corrupt.png"]
    assert corrupt.message == (
        f"poolcli: error: {tree / 'sub' / 'corrupt.png'}: looks like a PNG image but is "
        "truncated or corrupt."
    )
    assert "neither a .npy file nor an image" in results["pickle.npy"].error
    assert not (tmp_path / "unpickled").exists()  # never unpickled
    assert sorted(outputs(out)) == ["a.png", "b.npy", "sub/c.png", "sub/deeper/d.npy"]

    a = results["a.png"]
    assert (a.input_shape, a.output_shape, a.output_dtype, a.layout) == (
        (8, 8, 3),
        (4, 4, 3),
        "uint8",
        "HWC",
    )
    assert a.bytes_in == os.path.getsize(tree / "a.png")
    assert a.bytes_out == os.path.getsize(out / "a.png")
    expected = core.pool(rgb(0), "max", kernel_size=2, layout="HWC")
    assert np.array_equal(np.asarray(Image.open(out / "a.png")), expected)
    d = np.load(out / "sub" / "deeper" / "d.npy")
    assert d.dtype == np.int16 and np.array_equal(
        d, core.pool(np.load(tree / "sub/deeper/d.npy"), "max", kernel_size=2)
    )

    s = run.summary
    assert (s.total, s.done, s.skipped, s.failed, s.ignored) == (6, 4, 0, 2, 3)
    assert s.bytes_out == sum(len(b) for b in outputs(out).values())
    assert s.exit_status == 1 and not s.interrupted
    assert [os.path.basename(r.input) for r in s.failures] == ["corrupt.png", "pickle.npy"]


def test_windows_that_do_not_fit_one_input_fail_that_input_only(tmp_path):
    src = tmp_path / "in"
    save_npy(src / "big.npy", np.ones((8, 8)))
    save_npy(src / "small.npy", np.ones((2, 2)))
    results = by_input(batch.iter_batch([str(src)], make_step("max", kernel_size=4), jobs=1))
    assert results["big.npy"].status == "done"
    assert results["small.npy"].status == "failed"
    assert "larger than the padded input" in results["small.npy"].error


def test_without_output_folder_nothing_is_written(tree, tmp_path):
    before = outputs(tmp_path)
    results = list(batch.iter_batch([str(tree)], AVG2, jobs=1))
    assert [r.status for r in results] == ["done", "done"]
    assert all(r.output is None and r.bytes_out == 0 for r in results)
    assert results[0].output_dtype == "float32"
    assert outputs(tmp_path) == before


def test_unreadable_file_in_a_folder_is_skipped_and_counted(tmp_path):
    """chmod 000 does not stop root, so as root the check runs as user nobody (65534)."""
    if os.geteuid() != 0:
        src = tmp_path / "in"
        save_png(src / "ok.png", rgb(6))
        locked = save_png(src / "locked.png", rgb(7))
        os.chmod(locked, 0)
        try:
            run = batch.iter_batch([str(src)], MAX2, str(tmp_path / "out"), jobs=1)
            results = by_input(run)
        finally:
            os.chmod(locked, 0o644)
        assert results["locked.png"].status == "skipped"
        assert results["locked.png"].reason == "Permission denied."
        assert results["ok.png"].status == "done"
        assert (run.summary.skipped, run.summary.exit_status) == (1, 0)
        return
    # Root reads everything; drop to nobody in a child after importing what the run needs
    # (the interpreter's own files are not readable for nobody here).
    base = tempfile.mkdtemp(prefix="poolcli-unreadable-")
    try:
        os.chmod(base, 0o777)
        save_png(os.path.join(base, "in", "ok.png"), rgb(6))
        locked = save_png(os.path.join(base, "in", "locked.png"), rgb(7))
        os.chmod(os.path.join(base, "in"), 0o755)
        os.chmod(locked, 0)
        script = textwrap.dedent(
            f"""
            import json, os, sys
            import numpy, PIL.Image, PIL.PngImagePlugin, torch
            from poolcli import batch, io
            import poolcli.io.atomic, poolcli.io.read, poolcli.io.write
            from poolcli.engine import core
            from poolcli.engine import ops
            from poolcli.model import steps as pipeline
            from poolcli.render.documents import file_line_json
            steps = pipeline.make_step("max", kernel_size=2)
            os.setgid(65534)
            os.setuid(65534)
            assert not os.access({locked!r}, os.R_OK)
            run = batch.iter_batch([{base!r} + "/in"], steps, {base!r} + "/out", jobs=1)
            print(json.dumps([file_line_json(r) for r in run] + [run.summary.to_dict()]))
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        *results, summary = json.loads(done.stdout)
        status = {os.path.basename(r["input"]): (r["status"], r["reason"]) for r in results}
        assert status == {"locked.png": ("skipped", "Permission denied."), "ok.png": ("done", None)}
        assert (summary["skipped"], summary["exit_status"]) == (1, 0)
    finally:
        subprocess.run(["rm", "-rf", base], check=True)


def test_broken_link_in_a_folder_is_skipped(tmp_path):
    src = tmp_path / "in"
    save_png(src / "ok.png", rgb(6))
    os.symlink(tmp_path / "gone.png", src / "dangling.png")
    results = by_input(batch.iter_batch([str(src)], MAX2, str(tmp_path / "out"), jobs=1))
    assert (results["dangling.png"].status, results["dangling.png"].reason) == (
        "skipped",
        "is a broken symbolic link.",
    )


# --------------------------------------------------------------------------------------------
# Output mapping


def test_format_and_name_template(tree, tmp_path):
    out = tmp_path / "out"
    steps = [MAX2, make_step("avg", kernel_size=2, stride=1)]
    plan = batch.plan_batch(
        [str(tree)], steps, str(out), format="npy", name="{stem}_{op}_k{k}_s{s}{in_ext}{ext}"
    )
    assert [os.path.relpath(t.output, out) for t in plan.tasks] == [
        "a_max-avg_k2-2_s2-1.png.npy",
        "b_max-avg_k2-2_s2-1.npy.npy",
    ]
    fields = batch.name_fields(plan.tasks[0].source, [make_step("sum", global_pool=True)], ".png")
    assert (fields["k"], fields["p"], fields["name"]) == ("global", "0", "a.png")


def test_format_same_keeps_the_suffix_and_png_converts(tree, tmp_path):
    plan = batch.plan_batch([str(tree)], MAX2, str(tmp_path / "o"))
    assert [os.path.basename(t.output) for t in plan.tasks] == ["a.png", "b.npy"]
    plan = batch.plan_batch([str(tree)], MAX2, str(tmp_path / "o"), format="png")
    assert [os.path.basename(t.output) for t in plan.tasks] == ["a.png", "b.png"]


def test_two_inputs_one_output_is_an_error_before_anything_is_written(tmp_path):
    src = tmp_path / "in"
    save_png(src / "x.png", rgb(8))
    save_npy(src / "x.npy", rgb(9)[..., 0])
    out = tmp_path / "out"
    with pytest.raises(UsageError) as error:
        batch.iter_batch([str(src)], MAX2, str(out), format="png")
    assert str(error.value) == (
        f"{src / 'x.npy'} and {src / 'x.png'} would both be written to {out / 'x.png'}. Use a "
        '--name template that tells them apart, such as "{stem}{in_ext}{ext}".'
    )
    assert not out.exists()
    results = list(
        batch.iter_batch(
            [str(src)], MAX2, str(out), format="png", name="{stem}{in_ext}{ext}", jobs=1
        )
    )
    assert [r.status for r in results] == ["done", "done"]
    assert sorted(os.listdir(out)) == ["x.npy.png", "x.png.png"]


def test_an_output_that_is_an_input_is_refused_even_with_overwrite(tree):
    before = (tree / "a.png").read_bytes()
    for overwrite in (False, True):
        with pytest.raises(UsageError, match="never writes over its inputs, even with"):
            batch.iter_batch([str(tree)], MAX2, str(tree), overwrite=overwrite)
    # Another input counts too: a template that maps a.png onto b.npy.
    with pytest.raises(UsageError, match="which is the input"):
        batch.iter_batch(
            [str(tree / "a.png"), str(tree / "b.npy")], MAX2, str(tree), name="b.npy{stem:.0}"
        )
    assert (tree / "a.png").read_bytes() == before


def test_a_second_run_into_the_input_folder_says_how_to_leave_outputs_out(tree):
    options = dict(name="{stem}_max{ext}", jobs=1)
    assert [r.status for r in batch.iter_batch([str(tree)], MAX2, str(tree), **options)] == [
        "done",
        "done",
    ]
    with pytest.raises(UsageError, match="leave such files out with --exclude"):
        batch.iter_batch([str(tree)], MAX2, str(tree), **options)
    again = batch.iter_batch([str(tree)], MAX2, str(tree), exclude=["*_max.*"], **options)
    assert [r.status for r in again] == ["skipped", "skipped"]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("../{stem}{ext}", "outside the output folder"),
        ("x/../../{stem}{ext}", "outside the output folder"),
        ("/tmp/{stem}{ext}", "absolute path"),
        ("{stem}", "no suffix"),
        ("{stem}.txt", "the suffix .txt"),
        ("{nope}{ext}", "{nope}, which is not a field"),
        ("{stem{ext}", "not a valid template"),
        ("same.png", "has no field"),
    ],
)
def test_bad_name_templates_are_usage_errors(tree, tmp_path, name, says):
    with pytest.raises(UsageError, match=None) as error:
        batch.plan_batch([str(tree)], MAX2, str(tmp_path / "out"), name=name)
    assert says in str(error.value)
    assert error.value.option == "--name"
    assert not (tmp_path / "out").exists() and not (tmp_path / "a.png").exists()


def test_name_template_may_make_subfolders_inside(tree, tmp_path):
    out = tmp_path / "out"
    results = list(batch.iter_batch([str(tree)], MAX2, str(out), name="max/{stem}{ext}", jobs=1))
    assert [r.status for r in results] == ["done", "done"]
    assert sorted(outputs(out)) == ["max/a.png", "max/b.npy"]


def test_a_symlinked_subfolder_cannot_lead_outside(tree, tmp_path):
    out = tmp_path / "out"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    os.symlink(elsewhere, out / "sub")
    run = batch.iter_batch([str(tree)], MAX2, str(out), recursive=True, jobs=1)
    results = by_input(run)
    assert results["c.png"].status == "failed"
    assert "outside the output folder" in results["c.png"].error
    assert results["d.npy"].status == "failed"  # sub/deeper/ would be made through the link
    assert results["a.png"].status == "done"
    assert os.listdir(elsewhere) == []


def test_a_link_at_the_output_name_is_replaced_not_written_through(tree, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"keep me")
    os.symlink(victim, out / "a.png")
    results = by_input(batch.iter_batch([str(tree)], MAX2, str(out), overwrite=True, jobs=1))
    assert results["a.png"].status == "done"
    assert victim.read_bytes() == b"keep me"
    assert not os.path.islink(out / "a.png")


def test_output_folder_inside_the_input_folder_is_not_searched(tree):
    out = tree / "small"
    first = list(batch.iter_batch([str(tree)], MAX2, str(out), recursive=True, jobs=1))
    second = batch.plan_batch([str(tree)], MAX2, str(out), recursive=True)
    assert len(second.tasks) == len(first)
    assert not any("small" in t.source.rel for t in second.tasks)


def test_output_folder_that_is_a_file_is_a_usage_error(tree, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        batch.plan_batch([str(tree)], MAX2, str(tmp_path / "file"))


def test_dry_run_lists_the_plan_and_writes_nothing(tree, tmp_path):
    out = tmp_path / "out"
    save_png(out / "a.png", rgb(0))
    plan = batch.plan_batch([str(tree)], MAX2, str(out), recursive=True, include=["*.png"])
    assert plan.lines() == [
        f"{tree / 'a.png'} -> {out / 'a.png'}  [skip: output exists (overwrite replaces it)]",
        f"{tree / 'sub' / 'c.png'} -> {out / 'sub' / 'c.png'}",
        f"{tree / 'sub' / 'corrupt.png'} -> {out / 'sub' / 'corrupt.png'}",
    ]
    doc = plan.to_dict()
    assert (doc["to_run"], doc["to_skip"], doc["chain"]) == (2, 1, "max -k 2")
    assert sorted(outputs(out)) == ["a.png"]


# --------------------------------------------------------------------------------------------
# Resuming, overwriting, temporary files


def test_existing_outputs_are_skipped_unless_overwrite(tree, tmp_path):
    out = tmp_path / "out"
    list(batch.iter_batch([str(tree)], MAX2, str(out), jobs=1))
    old = os.stat(out / "a.png").st_mtime_ns
    time.sleep(0.01)
    again = list(batch.iter_batch([str(tree)], MAX2, str(out), jobs=1))
    assert [(r.status, r.reason) for r in again] == [
        ("skipped", "output exists (overwrite replaces it)")
    ] * 2
    assert os.stat(out / "a.png").st_mtime_ns == old
    forced = list(batch.iter_batch([str(tree)], MAX2, str(out), jobs=1, overwrite=True))
    assert [r.status for r in forced] == ["done", "done"]
    assert os.stat(out / "a.png").st_mtime_ns != old


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporary_files_of_dead_runs_are_removed(tmp_path):
    mine = tmp_path / f".a.png{pio.TEMP_MARK}{os.getpid()}-0123abcd.png"
    stale = tmp_path / f".a.png{pio.TEMP_MARK}{dead_pid()}-deadbeef.png"
    inner = tmp_path / f"..b.npy{pio.TEMP_MARK}{dead_pid()}-00ff00ff.npy.1234abcd.tmp"
    other = tmp_path / ".a.png.notours"
    for path in (mine, stale, inner, other):
        path.write_bytes(b"partial")
    assert sorted(pio.clean_stale_temps(str(tmp_path))) == sorted([stale.name, inner.name])
    assert mine.exists() and other.exists() and not stale.exists()


def test_temporary_files_of_an_unreaped_killed_process_are_removed(tmp_path):
    # Where no init reaps orphans (some containers), a killed worker stays a zombie that
    # still answers kill(pid, 0); its files are leftovers all the same.
    child = subprocess.Popen(["sleep", "30"])
    try:
        child.kill()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(f"/proc/{child.pid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    break
            time.sleep(0.01)
        stale = tmp_path / f".a.png{pio.TEMP_MARK}{child.pid}-0badcafe.png"
        stale.write_bytes(b"partial")
        assert pio.clean_stale_temps(str(tmp_path)) == [stale.name]
    finally:
        child.wait()


def test_temp_names_stay_in_the_folder_and_keep_the_suffix(tmp_path):
    name = pio.temp_name(str(tmp_path / ("x" * 250 + ".png")))
    base = os.path.basename(name)
    assert os.path.dirname(name) == str(tmp_path)
    assert base.startswith(".") and base.endswith(".png") and len(base) < 255
    assert pio_atomic._TEMP_NAME.match(base)


def test_keyboard_interrupt_while_writing_leaves_no_partial_file(tree, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = pio.atomic_write
    calls = []

    @contextlib.contextmanager
    def interrupted(path, **options):
        calls.append(path)
        with real(path, **options) as f:
            if len(calls) == 2:  # Ctrl-C halfway through writing the second output
                f.write(b"\x93NUMPY half")
                raise KeyboardInterrupt
            yield f

    monkeypatch.setattr(pio_write, "atomic_write", interrupted)
    run = batch.iter_batch([str(tree)], MAX2, str(out), recursive=True, jobs=1)
    seen = []
    with pytest.raises(KeyboardInterrupt):
        for result in run:
            seen.append(result)
    assert [os.path.basename(r.input) for r in seen] == ["a.png"]
    assert run.summary.interrupted and run.summary.exit_status == 130
    assert (run.summary.done, run.summary.not_started) == (1, 5)
    assert sorted(outputs(out)) == ["a.png"]  # b.npy neither final nor temporary


# --------------------------------------------------------------------------------------------
# Parallel runs


@pytest.fixture
def many(tmp_path):
    src = tmp_path / "many"
    for i in range(6):
        save_png(src / f"p{i}.png", rgb(10 + i, 12))
        save_npy(src / "arrays" / f"a{i}.npy", np.random.default_rng(i).random((9, 7)))
    save_png(src / "rgba.png", np.random.default_rng(99).integers(0, 256, (8, 8, 4), np.uint8))
    return src


def test_outputs_are_byte_identical_whatever_jobs(many, tmp_path):
    steps = [make_step("avg", kernel_size=3, stride=1, padding="same"), MAX2]
    runs = {}
    for jobs, executor in [(1, "auto"), (2, "processes"), (3, "threads")]:
        out = tmp_path / f"out-{executor}"
        run = batch.iter_batch(
            [str(many)], steps, str(out), recursive=True, jobs=jobs, executor=executor
        )
        results = list(run)
        assert run.kind == ("serial" if jobs == 1 else executor)
        assert [r.status for r in results] == ["done"] * 13
        assert [r.input for r in results] == sorted(r.input for r in results)  # input order
        runs[executor] = outputs(out)
    assert len(runs["auto"]) == 13
    assert runs["auto"] == runs["processes"] == runs["threads"]


@pytest.mark.parametrize("batch_size", [1, 4, 32])
def test_stacked_runs_give_the_same_bytes_as_one_file_at_a_time(many, tree, tmp_path, batch_size):
    # The GPU executor stacks same-shape inputs; forced here on the CPU. A corrupt file and a
    # pickle in a stack's group still fail alone.
    steps = [make_step("avg", kernel_size=3, stride=1, padding="same"), MAX2]
    serial = batch.iter_batch(
        [str(many), str(tree)], steps, str(tmp_path / "one"), recursive=True, jobs=1
    )
    stacked = batch.iter_batch(
        [str(many), str(tree)],
        steps,
        str(tmp_path / "stack"),
        recursive=True,
        jobs=2,
        executor="stacked",
        batch_size=batch_size,
    )
    one, many_results = list(serial), list(stacked)
    assert stacked.kind == "stacked"
    assert [(r.input, r.status) for r in many_results] == [(r.input, r.status) for r in one]
    assert [r.status for r in one].count("failed") == 2
    assert outputs(tmp_path / "stack") == outputs(tmp_path / "one")
    assert len(outputs(tmp_path / "one")) == 17


def test_stacking_leaves_stochastic_sampling_alone(many, tmp_path):
    steps = make_step("stochastic", kernel_size=2, seed=3)
    for name, executor in [("one", "serial"), ("stack", "stacked")]:
        list(
            batch.iter_batch(
                [str(many / "arrays")], steps, str(tmp_path / name), executor=executor, batch_size=8
            )
        )
    assert outputs(tmp_path / "stack") == outputs(tmp_path / "one")


def test_fail_fast_stops_at_the_first_failure(tree, tmp_path):
    run = batch.iter_batch(
        [str(tree)], MAX2, str(tmp_path / "out"), recursive=True, jobs=1, fail_fast=True
    )
    results = list(run)
    assert [r.status for r in results] == ["done", "done", "done", "failed"]
    assert run.summary.stopped and run.summary.not_started == 2
    assert run.summary.exit_status == 1


def test_fail_fast_with_workers_starts_nothing_after_the_failure(tmp_path):
    src = tmp_path / "in"
    (src).mkdir()
    (src / "a0.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    for i in range(1, 12):
        save_png(src / f"a{i}.png", rgb(i))
    run = batch.iter_batch(
        [str(src)], MAX2, str(tmp_path / "out"), jobs=2, fail_fast=True, executor="threads"
    )
    results = list(run)
    assert results[0].status == "failed"
    assert len(results) <= 4  # at most the files already in flight
    assert run.summary.not_started == 12 - len(results)


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_slow_file_does_not_hold_up_the_workers(tmp_path, executor):
    # Results come in input order, but while the first file is still being pooled the other
    # worker goes on through the small ones instead of stopping after 2 * jobs files.
    src = tmp_path / "in"
    save_npy(src / "a_slow.npy", np.random.default_rng(0).random((384, 384), np.float32))
    for i in range(12):
        save_npy(src / f"b{i:02}.npy", np.random.default_rng(i).random((16, 16)))
    out = tmp_path / "out"
    step = parse_step("median -k 13 -s 1")  # gathered and sorted: slow on purpose
    with batch.iter_batch([str(src)], step, str(out), jobs=2, executor=executor) as run:
        first = next(run)
        finished_meanwhile = len(list(out.glob("b*.npy")))
        rest = list(run)
    assert first.input.endswith("a_slow.npy") and first.status == "done"
    assert finished_meanwhile > 2 * 2
    assert [r.status for r in rest] == ["done"] * 12
    assert [os.path.basename(r.input) for r in rest] == [f"b{i:02}.npy" for i in range(12)]


def test_a_worker_killed_midway_costs_nothing_but_a_retry(tmp_path):
    src = tmp_path / "in"
    # The first file is tiny, so that it comes back while the others are being pooled.
    arrays = [np.random.default_rng(i).random((8, 8) if i == 0 else (96, 96)) for i in range(12)]
    for i, array in enumerate(arrays):
        save_npy(src / f"x{i:02}.npy", array)
    step = parse_step("median -k 7 -s 1")
    out = tmp_path / "out"
    run = batch.iter_batch([str(src)], step, str(out), jobs=2, executor="processes")
    results = [next(run)]
    while not (busy := [w for w in run._workers._workers if w.tasks]):
        results.append(next(run))  # hand out more files
    victim = busy[0]
    os.kill(victim.process.pid, signal.SIGKILL)  # with files handed to it, not answered
    results += list(run)
    assert [os.path.basename(r.input) for r in results] == sorted(os.listdir(src))
    # Its answers already sent are read; the others are pooled again by another worker,
    # except a file it had written as it died: that one is found written.
    assert run.summary.done >= 11 and run.summary.done + run.summary.skipped == 12
    assert all(r.reason.startswith("output exists") for r in results if r.status == "skipped")
    assert sorted(os.listdir(out)) == sorted(os.listdir(src))  # no temporary file left
    for i, array in enumerate(arrays):
        expected = run_chain(array, [step]).output
        assert np.array_equal(np.load(out / f"x{i:02}.npy"), expected)


def test_a_worker_killed_while_writing_leaves_no_temporary_file(tmp_path):
    src = tmp_path / "in"
    for i in range(6):
        pixels = np.random.default_rng(i).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
        save_npy(src / f"x{i}.npy", pixels)  # PNG level 9 of noise: slow writes
    out = tmp_path / "out"
    step = make_step("max", kernel_size=1)
    options = dict(format="png", png_compression=9, jobs=2, executor="processes")
    run = batch.iter_batch([str(src)], step, str(out), **options)
    killed = []

    def kill_a_writer():
        """SIGKILL the first worker seen writing; note whether it died before renaming."""
        while not killed and run.summary.not_started:
            for name in os.listdir(out) if out.exists() else ():
                if pio.TEMP_MARK in name:
                    pid = int(name.split(pio.TEMP_MARK)[1].split("-")[0])
                    os.kill(pid, signal.SIGKILL)
                    while pio.pid_alive(pid):
                        time.sleep(0.001)
                    killed.append(not (out / name[1:].split(pio.TEMP_MARK)[0]).exists())
                    break
            time.sleep(0.001)

    killer = threading.Thread(target=kill_a_writer)
    killer.start()
    results = list(run)
    killer.join()
    assert killed == [True]  # it died with its output half written
    assert [r.status for r in results] == ["done"] * 6
    assert sorted(os.listdir(out)) == [f"x{i}.png" for i in range(6)]


def test_iteration_can_stop_early_and_close(many, tmp_path):
    out = tmp_path / "out"
    with batch.iter_batch([str(many)], MAX2, str(out), jobs=2, executor="processes") as run:
        first = next(run)
    assert first.status == "done"
    names = os.listdir(out)
    assert not any(pio.TEMP_MARK in n for n in names)


# --------------------------------------------------------------------------------------------
# Killed and interrupted runs (real processes)

RUNNER = textwrap.dedent(
    """
    import json, sys, time
    from poolcli.batch import iter_batch
    from poolcli.model.steps import parse_step

    def main():
        src, out, jobs, delay, chain = sys.argv[1:6]
        steps = [parse_step(s) for s in chain.split("|")]
        run = iter_batch([src], steps, out, jobs=int(jobs))
        try:
            with run:  # on Ctrl-C: workers stopped, temporary files removed
                for result in run:
                    print(result.status, result.output, flush=True)
                    time.sleep(float(delay))
        except KeyboardInterrupt:
            pass
        print("SUMMARY", json.dumps(run.summary.to_dict()), flush=True)
        sys.exit(run.summary.exit_status)

    if __name__ == "__main__":
        main()
    """
)


def start_runner(tmp_path, src, out, jobs, delay, chain):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.Popen(
        [sys.executable, str(script), str(src), str(out), str(jobs), str(delay), chain],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )


def wait_until_group_gone(group: int, seconds: float) -> bool:
    """Whether every process of ``group`` has exited (and been reaped) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def read_done(process, count: int) -> list[str]:
    done = []
    while len(done) < count:
        line = process.stdout.readline()
        assert line, process.stderr.read()
        status, path = line.split(maxsplit=1)
        assert status == "done"
        done.append(path.strip())
    return done


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_killed_run_resumes_without_partial_or_recomputed_outputs(tmp_path, jobs):
    src = tmp_path / "in"
    for i in range(40):
        save_png(src / f"img{i:02}.png", rgb(i, 256))
    chain = "max -k 2|avg -k 2"
    reference = tmp_path / "reference"
    steps = [parse_step(s) for s in chain.split("|")]
    list(batch.iter_batch([str(src)], steps, str(reference), jobs=1))

    out = tmp_path / "out"
    # A reader that keeps up: a slow one would not hold the workers back (files finished
    # behind it queue up), and the kill must land midway through the files.
    # Killed after the third file: workers that run ahead while this test waits for a core
    # could otherwise finish all 40 first, and the rerun would have nothing left to do.
    process = start_runner(tmp_path, src, out, jobs, 0, chain)
    finished = read_done(process, 3)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    # The workers too must be gone: the rerun keeps the temporary files of live processes.
    assert wait_until_group_gone(process.pid, 30)
    written = outputs(out)
    assert 3 <= len([n for n in written if pio.TEMP_MARK not in n]) < 40
    mtimes = {path: os.stat(path).st_mtime_ns for path in finished}
    # A write cut short by the kill leaves only a temporary name, which the rerun removes.
    stale = out / f".img39.png{pio.TEMP_MARK}{dead_pid()}-0badf00d.png"
    stale.write_bytes(b"\x89PNG cut short")

    rerun = batch.iter_batch([str(src)], [parse_step(s) for s in chain.split("|")], str(out))
    results = {r.output: r for r in rerun}
    for path in finished:
        assert results[path].status == "skipped"
        assert os.stat(path).st_mtime_ns == mtimes[path]
    assert rerun.summary.done + rerun.summary.skipped == 40
    assert outputs(out) == outputs(reference)  # all complete, no temporary files left


def test_ctrl_c_stops_workers_and_leaves_no_partial_files(tmp_path):
    src = tmp_path / "in"
    # Enough work that the workers cannot finish it all while this test waits for a core
    # (with 40 small files they once did, under the full suite's load).
    for i in range(120):
        save_npy(src / f"x{i:03}.npy", np.random.default_rng(i).random((200, 200)))
    chain = "median -k 3 -s 1 -p same|mode -k 2"
    out = tmp_path / "out"
    process = start_runner(tmp_path, src, out, 2, 0, chain)
    read_done(process, 3)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    summary = json.loads(stdout.splitlines()[-1].split(" ", 1)[1])
    assert summary["interrupted"] and summary["not_started"] > 0
    written = outputs(out)
    assert not any(pio.TEMP_MARK in name for name in written)
    assert len(written) >= summary["processed"] >= 3
    steps = [parse_step(s) for s in chain.split("|")]
    for name, data in written.items():
        expected = run_chain(np.load(src / name), steps).output
        assert np.array_equal(np.load(io.BytesIO(data)), expected)


# --------------------------------------------------------------------------------------------
# Machine-readable results, progress


def test_jsonl_lines_are_json_one_per_file(tree, tmp_path):
    run = batch.iter_batch([str(tree)], MAX2, str(tmp_path / "out"), recursive=True, jobs=1)
    lines = [documents.jsonl_line(r) for r in run]
    assert len(lines) == 6 and all("\n" not in line for line in lines)
    records = [json.loads(line) for line in lines]
    assert [os.path.basename(r["input"]) for r in records] == [
        "a.png",
        "b.npy",
        "c.png",
        "corrupt.png",
        "d.npy",
        "pickle.npy",
    ]
    first = records[0]
    assert first["status"] == "done" and first["output_shape"] == [4, 4, 3]
    assert set(first) >= {"input", "output", "input_shape", "output_dtype", "error", "seconds"}
    assert records[3]["status"] == "failed" and "corrupt" in records[3]["error"]


def test_json_document_has_chain_files_and_summary(tree, tmp_path):
    steps = [MAX2, AVG2]
    run = batch.iter_batch([str(tree)], steps, str(tmp_path / "out"), jobs=1)
    results = list(run)
    doc = json.loads(json.dumps(documents.batch_json(results, run.summary, steps)))
    assert doc["chain"] == "max -k 2 | avg -k 2"
    assert [s["reduction"] for s in doc["steps"]] == ["max", "avg"]
    assert len(doc["files"]) == 2
    assert doc["summary"]["processed"] == 2 and doc["summary"]["exit_status"] == 0


def test_summary_table_and_failure_lines(tree, tmp_path):
    from rich.console import Console

    run = batch.iter_batch([str(tree)], MAX2, str(tmp_path / "out"), recursive=True, jobs=1)
    list(run)
    rows = dict(batch_report.summary_rows(run.summary))
    assert (rows["processed"], rows["skipped"], rows["failed"]) == ("4", "0", "2")
    assert rows["ignored"].startswith("3 ")
    assert rows["bytes in / out"].endswith(" B") or "KiB" in rows["bytes in / out"]
    for width in (60, 120):
        console = Console(file=io.StringIO(), width=width, color_system=None)
        console.print(batch_report.summary_table(run.summary))
        text = console.file.getvalue()
        assert "processed" in text and "files/s" in text
        assert max(len(line) for line in text.splitlines()) <= width
    lines = batch_report.failure_lines(run.summary)
    assert len(lines) == 2 and all(line.startswith("poolcli: error: ") for line in lines)


def test_progress_is_a_no_op_off_a_terminal(tree):
    result = batch.FileResult(input=str(tree / "a.png"), output=None, status="done")
    with batch_report.Progress(3, enabled=False) as progress:
        progress.advance(result)
    assert progress._progress is None


def test_progress_draws_on_a_terminal_console(tree):
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    result = batch.FileResult(input=str(tree / "a.png"), output=None, status="done")
    with batch_report.Progress(2, enabled=True, console=console) as progress:
        progress.advance(result)
        progress.advance(result)
    text = buffer.getvalue()
    assert "2/2" in text and "a.png" in text and "files/s" in text


# --------------------------------------------------------------------------------------------
# PNG compression


def test_png_compression_changes_size_not_pixels(tmp_path):
    src = tmp_path / "in"
    smooth = np.tile(np.arange(64, dtype=np.uint8)[:, None, None], (1, 64, 3))
    save_png(src / "s.png", smooth)
    save_npy(
        src / "deep.npy",
        np.tile(np.arange(0, 65536, 1024, dtype=np.uint16), (64, 1))[..., None].repeat(3, 2),
    )
    sizes, pixels = {}, {}
    for level in (0, 6, 9):
        out = tmp_path / f"out{level}"
        run = batch.iter_batch(
            [str(src)], MAX2, str(out), format="png", png_compression=level, jobs=1
        )
        assert [r.status for r in run] == ["done", "done"]
        sizes[level] = {n: len(b) for n, b in outputs(out).items()}
        pixels[level] = {n: np.asarray(Image.open(out / n)) for n in sizes[level]}
    for name in ("s.png", "deep.png"):
        assert sizes[0][name] > sizes[6][name] >= sizes[9][name]
        assert np.array_equal(pixels[0][name], pixels[9][name])
    from poolcli import io as pio

    loaded = pio.read_input(str(src / "deep.npy"))
    deep = pio.read_input(str(tmp_path / "out0" / "deep.png")).array
    assert deep.dtype == np.uint16
    assert np.array_equal(deep, core.pool(loaded.array, "max", kernel_size=2, layout="HWC"))


def test_png_compression_6_is_what_io_writes(tmp_path):
    from poolcli import io as pio

    src = save_png(tmp_path / "in" / "a.png", rgb(5, 16))
    list(batch.iter_batch([src], MAX2, str(tmp_path / "out"), png_compression=6, jobs=1))
    loaded = pio.read_input(src)
    pio.write_output(
        str(tmp_path / "direct.png"),
        core.pool(loaded.array, "max", kernel_size=2, layout="HWC"),
        loaded,
    )
    assert (tmp_path / "out" / "a.png").read_bytes() == (tmp_path / "direct.png").read_bytes()


def test_png_compression_out_of_range_is_a_usage_error(tree):
    with pytest.raises(UsageError, match="0 to 9"):
        batch.iter_batch([str(tree)], MAX2, png_compression=10)


# --------------------------------------------------------------------------------------------
# Chains


def test_chain_equals_the_ops_run_one_after_another():
    x = np.random.default_rng(0).random((2, 3, 12, 10)).astype(np.float32)
    steps = [
        make_step("max", kernel_size=3, stride=1, padding="same"),
        make_step("lp", kernel_size=2, norm_type=3),
        make_step("stochastic", kernel_size=2, seed=4),
    ]
    chained = run_chain(x, steps, "NCHW")
    y = x
    for step in steps:
        y = core.run(y, step.reduction, step.spec, "NCHW", step.options).output
    assert np.array_equal(chained.output, y)
    assert [r.output.shape for r in chained.results] == [(2, 3, 12, 10), (2, 3, 6, 5), (2, 3, 3, 2)]


def test_chained_batch_equals_batches_run_one_after_another(many, tmp_path):
    arrays = many / "arrays"
    chained = tmp_path / "chained"
    list(batch.iter_batch([str(arrays)], [MAX2, make_step("sum", kernel_size=2)], str(chained)))
    first, second = tmp_path / "first", tmp_path / "second"
    list(batch.iter_batch([str(arrays)], MAX2, str(first)))
    list(batch.iter_batch([str(first)], make_step("sum", kernel_size=2), str(second)))
    assert outputs(chained) == outputs(second)
    assert len(outputs(chained)) == 6
    # Images too, with integer ops (no rounding in between).
    images = [str(many / f"p{i}.png") for i in range(6)]
    steps = [make_step("min", kernel_size=2), make_step("mode", kernel_size=3, stride=1)]
    list(batch.iter_batch(images, steps, str(tmp_path / "img-chained")))
    list(batch.iter_batch(images, steps[0], str(tmp_path / "img-first")))
    list(batch.iter_batch([str(tmp_path / "img-first")], steps[1], str(tmp_path / "img-second")))
    assert outputs(tmp_path / "img-chained") == outputs(tmp_path / "img-second")


def test_rgba_chain_keeps_alpha_weighting_in_every_step():
    pixels = np.zeros((4, 4, 4), np.uint8)
    pixels[:, :2] = (255, 0, 0, 255)
    pixels[:, 2:] = (0, 0, 255, 0)
    chained = run_chain(pixels, [AVG2, AVG2], "HWC", alpha=True)
    # The transparent blue never bleeds into the colour.
    assert np.allclose(chained.output[0, 0], [255, 0, 0, 127.5])
    assert all(r.premultiplied for r in chained.results)


def test_parse_step_reads_command_line_words():
    step = parse_step("avg -k 3x2 -s 1 -p 0:1x1:0 -d 2 --count-include-pad --dtype float64")
    assert step.spec == WindowSpec.make(
        kernel_size="3x2", stride=1, padding="0:1x1:0", dilation=2, count_include_pad=True
    )
    assert step.options.dtype == "float64"
    assert parse_step("lp -k2 --norm-type=3").options.norm_type == 3.0
    assert parse_step("stochastic --global --seed 7 --expectation").options.seed == 7
    assert parse_step("max --output-size 7x5").spec.output_size == (7, 5)
    assert parse_step(step.label) == step


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "needs a reduction"),
        ("maximum -k 2", "maximum is not a reduction"),
        ("max -k 2 -o out.png", "-o is not an option of a step"),
        ("max -k", "-k needs a value"),
        ("max -k 2 --seed 3", "--seed applies only to stochastic"),
        ("avg -k 2 --norm-type 3", "--norm-type applies only to lp"),
        ("lp -k 2 --norm-type -1", "positive number"),
        ("max -k 2 --dtype int64", "--dtype int64 is not one of"),
        ("sum -k 2 --dtype int8", "--dtype int8 applies only to avg"),
        ("max -k 0", "--kernel must be positive"),
        ("max -k 2 --global", "different windowings"),
    ],
)
def test_parse_step_errors(text, says):
    with pytest.raises(UsageError) as error:
        parse_step(text)
    assert says in str(error.value)


def test_split_then_moves_call_options_back_to_the_first_command():
    head, steps = split_then(
        [
            "max",
            "x.png",
            "-k",
            "2",
            "--then",
            "avg",
            "-k",
            "2",
            "-o",
            "out/",
            "--then",
            "median",
            "--kernel=3",
            "-s",
            "1",
            "--json",
        ]
    )
    assert head == ["max", "x.png", "-k", "2", "-o", "out/", "--json"]
    assert [s.label for s in steps] == ["avg -k 2", "median -k 3 -s 1"]
    assert split_then(["max", "x.png", "-k", "2"]) == (["max", "x.png", "-k", "2"], [])
    with pytest.raises(UsageError, match="--then needs a reduction"):
        split_then(["max", "x.png", "-k", "2", "--then", "-k", "2"])


def test_step_and_chain_labels():
    from poolcli.model.steps import chain_label

    steps = [parse_step("max -k 2 -p 1 --ceil"), parse_step("sum --global")]
    assert chain_label(steps) == "max -k 2 -p 1 --ceil | sum --global"


# --------------------------------------------------------------------------------------------
# What the command line prints


def run_report(run, **options):
    out, err = io.StringIO(), io.StringIO()
    status = cli_report.report_batch(run, out=out, err=err, **options)
    return status, out.getvalue(), err.getvalue()


def test_report_batch_names_failures_and_prints_the_summary(tree, tmp_path):
    run = batch.iter_batch([str(tree)], MAX2, str(tmp_path / "out"), recursive=True, jobs=1)
    status, out, err = run_report(run)
    assert status == 1 and out == ""
    corrupt = f"poolcli: error: {tree / 'sub' / 'corrupt.png'}: looks like a PNG image"
    assert err.count(corrupt) == 2  # as it happens, and again after the summary
    assert "processed" in err and "2 failed:" in err
    assert "\x1b[" not in err  # no colour or animation off a terminal


def test_report_batch_jsonl_streams_one_line_per_file(tree, tmp_path):
    run = batch.iter_batch([str(tree)], MAX2, str(tmp_path / "out"), recursive=True, jobs=1)
    status, out, err = run_report(run, jsonl=True, quiet=True)
    lines = out.splitlines()
    assert len(lines) == 6
    assert [json.loads(line)["status"] for line in lines].count("failed") == 2
    assert "processed" not in err and err.count("poolcli: error:") == 2


def test_report_batch_json_document_on_stdout_only(tree, tmp_path):
    run = batch.iter_batch([str(tree)], [MAX2, AVG2], str(tmp_path / "out"), jobs=1)
    status, out, err = run_report(run, json_output=True)
    doc = json.loads(out)
    assert status == 0 and doc["summary"]["processed"] == 2 and len(doc["files"]) == 2
    assert doc["chain"] == "max -k 2 | avg -k 2"
    assert "processed" in err


@pytest.mark.parametrize(
    ("stop", "status"),
    [(KeyboardInterrupt(), 130), (Interrupted(signal.SIGTERM), 143), (Interrupted(1), 129)],
)
def test_report_batch_after_ctrl_c_says_what_was_finished(
    tree, tmp_path, monkeypatch, stop, status
):
    real = pio.write_output

    def interrupted(path, *args, **kwargs):
        if path.endswith(".npy"):
            raise stop
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pio, "write_output", interrupted)
    run = batch.iter_batch([str(tree)], MAX2, str(tmp_path / "out"), jobs=1)
    got, _, err = run_report(run, quiet=True)
    assert got == status
    assert "poolcli: interrupted." in err and "not started" in err
    assert run.summary.done == 1 and os.listdir(tmp_path / "out") == ["a.png"]
    assert run.summary.to_dict()["exit_status"] == status


def test_a_signal_while_a_result_is_handled_sets_the_exit_status(tree, tmp_path):
    run = batch.iter_batch([str(tree)], MAX2, str(tmp_path / "out"), jobs=1)
    with pytest.raises(Interrupted), run:
        for _ in run:
            raise Interrupted(signal.SIGHUP)
    assert run.summary.interrupted and run.summary.exit_status == 128 + signal.SIGHUP


def test_report_plan_lists_and_counts(tree, tmp_path):
    plan = batch.plan_batch([str(tree)], MAX2, str(tmp_path / "out"))
    out = io.StringIO()
    assert cli_report.report_plan(plan, out=out) == 0
    assert out.getvalue().splitlines()[-1] == (
        "dry run: 2 to pool, 0 to skip, 2 other files ignored, "
        "1 sub-folder not searched (-r to descend); nothing written."
    )
    out = io.StringIO()
    cli_report.report_plan(plan, json_output=True, out=out)
    assert json.loads(out.getvalue())["to_run"] == 2
    assert not (tmp_path / "out").exists()


def test_importing_batch_loads_no_torch_numpy_or_pillow():
    code = (
        "import sys, poolcli.batch, poolcli.model.steps; "
        "print(sorted(m for m in ('torch', 'numpy', 'PIL', 'rich') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
