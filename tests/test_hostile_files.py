"""Hostile files around every command: FIFOs, devices, symlinks and corrupt plans.

Each reading command is given a FIFO, /dev/zero, a symlink loop and a folder
where it expects a file, and must answer with a diagnostic (exit 1 or 2) at
once -- a blocking open of a FIFO would hang, which the alarm below turns into
a failure.  Each writing command is pointed at a planted symlink, FIFO or
device, and must refuse (exit 2) without touching what the plant names.
Corrupt plan.json files (deep nesting, huge numbers, wrong types, binary)
exit 2 with "corrupt plan" from every reader.
"""

from __future__ import annotations

import json
import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLES, FIXTURES, MINIMAL_X86, run_cli

from sel4vmgen.app.check import check_file

X86 = EXAMPLES / "minimal.yaml"


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A command that blocks (on a FIFO, on /dev/zero) fails the test instead of hanging it."""

    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("the command blocked")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def plant(path: Path, kind: str) -> Path:
    """Put a FIFO, a symlink to /dev/zero, a symlink loop or a folder at `path`."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "loop":
        path.symlink_to(path.name)
    elif kind == "folder":
        path.mkdir()
    return path


KINDS = ("fifo", "device", "loop", "folder")
WORDS = {
    "fifo": "not a regular file: {p} (a FIFO)",
    "device": "not a regular file: {p} (a device)",
    "loop": "cannot read {p}: a symlink loop",
    "folder": "not a regular file: {p} (a folder)",
}


# ---------------------------------------------------------------- reading: system files


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["validate", "plan", "generate", "simulate", "graph"])
def test_system_file_that_is_not_a_regular_file(tmp_path: Path, kind: str, command: str) -> None:
    p = plant(tmp_path / "system.yaml", kind)
    extra = ["-o", str(tmp_path / "out")] if command == "generate" else []
    run = run_cli(command, str(p), *extra)
    assert run.exit_code == 2
    if kind == "folder" and command in ("simulate", "graph"):
        assert "no plan.json" in run.stderr  # a folder is read as a generated app
        return
    if kind == "folder" and command == "validate":
        assert f"error[E013]: no *.yaml or *.yml file in folder {p}" in run.stderr
        return  # validate checks the system files in a folder
    code = "E003" if kind == "loop" else "E002"
    assert f"error[{code}]: {WORDS[kind].format(p=p)}" in run.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_included_file_that_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    plant(tmp_path / "guest.yaml", kind)
    system = tmp_path / "system.yaml"
    system.write_text("name: s\narch: x86\nsel4_arch: ia32\nplatform: pc99\nvms:\n"
                      "  - include: guest.yaml\n")  # fmt: skip
    (d,) = check_file(system).diagnostics
    reason = WORDS[kind].format(p="").replace(": ", "").replace(" it:", "")
    if kind == "loop":
        reason = "cannot read it: a symlink loop"
    assert (d.code, d.span and (d.span.line, d.span.col)) == ("E011", (6, 14))
    assert d.message == f"cannot include 'guest.yaml': {reason}"


def test_oversized_include_is_refused_at_the_include(tmp_path: Path) -> None:
    big = tmp_path / "guest.yaml"
    with big.open("wb") as f:
        f.truncate(5 * 1024 * 1024)
    system = tmp_path / "system.yaml"
    system.write_text("name: s\narch: x86\nsel4_arch: ia32\nplatform: pc99\nvms:\n"
                      "  - include: guest.yaml\n")  # fmt: skip
    (d,) = check_file(system).diagnostics
    assert (d.code, d.span and (d.span.line, d.span.col)) == ("E005", (6, 14))
    assert d.message == "file is 5242880 bytes; the limit is 4194304 bytes"


# ---------------------------------------------------------------- reading: images and sources


def _with_kernel(tmp_path: Path, image: str) -> Path:
    system = tmp_path / "system.yaml"
    system.write_text(MINIMAL_X86.replace("images/bzimage", image), encoding="utf-8")
    return system


@pytest.mark.parametrize("kind", ["fifo", "device", "loop", "folder"])
def test_kernel_image_that_is_not_a_regular_file_is_found_by_validate(
    tmp_path: Path, kind: str
) -> None:
    plant(tmp_path / "bzimage", kind)
    system = _with_kernel(tmp_path, "bzimage")
    words = {"fifo": "a FIFO", "device": "a device", "loop": "a symlink loop", "folder": "a folder"}
    errors = [d for d in check_file(system).diagnostics if d.is_error]
    assert [(d.code, d.span and (d.span.line, d.span.col), d.message) for d in errors] == [
        ("E241", (10, 14), f"vm0 kernel image bzimage cannot be used: {words[kind]}")
    ]
    run = run_cli("generate", str(system), "-o", str(tmp_path / "out"))
    assert run.exit_code == 1 and "error[E241]" in run.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["fifo", "device", "loop"])
def test_component_source_that_is_not_a_regular_file_is_found_by_validate(
    tmp_path: Path, kind: str
) -> None:
    text = (EXAMPLES / "vm_cross_connector.yaml").read_text(encoding="utf-8")
    system = tmp_path / "system.yaml"
    system.write_text(text.replace("components/crossvm_init.c", "main.c"), encoding="utf-8")
    plant(tmp_path / "main.c", kind)
    errors = [d for d in check_file(system).diagnostics if d.is_error]
    assert [d.code for d in errors] == ["E241"]
    assert errors[0].span is not None and errors[0].span.file == str(system)
    run = run_cli("generate", str(system), "-o", str(tmp_path / "out"), "--no-simulate")
    assert run.exit_code == 1
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- reading: plan.json


def _app(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    assert run_cli("generate", str(X86), "-o", str(app), "--no-simulate").exit_code == 0
    return app


def _corrupt(plan: str) -> dict[str, str]:
    data = json.loads(plan)
    wrong_type = dict(data, num_nodes="one")
    huge_hex = json.loads(plan)
    huge_hex["vms"][0]["ram"]["size"] = "0x" + "f" * 40
    return {
        "deep nesting": "[" * 100_000 + "]" * 100_000,
        "huge number": plan.replace('"num_nodes": 1', '"num_nodes": 1' + "0" * 5000, 1),
        "huge hex": json.dumps(huge_hex),
        "NaN": plan.replace('"num_nodes": 1', '"num_nodes": NaN', 1),
        "wrong type": json.dumps(wrong_type),
        "not JSON": "\x00\xff binary",
        "broken invariant": plan.replace('"num_nodes": 1', '"num_nodes": 0', 1),
    }


@pytest.mark.parametrize(
    "fault",
    [
        "deep nesting",
        "huge number",
        "huge hex",
        "NaN",
        "wrong type",
        "not JSON",
        "broken invariant",
    ],
)
def test_corrupt_plan_exits_2_from_every_reader(tmp_path: Path, fault: str) -> None:
    app = _app(tmp_path)
    plan = app / "plan.json"
    text = _corrupt(plan.read_text(encoding="utf-8"))[fault]
    assert text != plan.read_text(encoding="utf-8")
    plan.write_text(text, encoding="utf-8", errors="surrogateescape")
    readers = [["simulate", str(app)], ["graph", str(app)], ["graph", str(plan)]]
    for args in readers:
        run = run_cli(*args)
        assert run.exit_code == 2, (args, run.stderr)
        assert run.stderr.startswith(f"error: {plan}: corrupt plan: "), (args, run.stderr)
        assert "Traceback" not in run.stderr


@pytest.mark.parametrize("kind", ["fifo", "device", "loop"])
def test_plan_json_that_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    app = _app(tmp_path)
    (app / "plan.json").unlink()
    plant(app / "plan.json", kind)
    readers = (["graph", str(app / "plan.json")], ["graph", str(app)], ["simulate", str(app)])
    for args in readers:
        run = run_cli(*args)
        assert run.exit_code == 2
        assert "corrupt plan: cannot read it: " in run.stderr


BAD_PLANS = sorted((FIXTURES / "bad-plan").glob("*.json"))


@pytest.mark.parametrize("fixture", BAD_PLANS, ids=[p.stem for p in BAD_PLANS])
def test_bad_plan_fixture_exits_2_with_its_exact_message(tmp_path: Path, fixture: Path) -> None:
    """Each fixtures/bad-plan/NAME.json pins, in NAME.expect, what follows "corrupt plan: "."""
    want = fixture.with_suffix(".expect").read_text(encoding="utf-8").rstrip("\n")
    app = tmp_path / "app"
    app.mkdir()
    plan = app / "plan.json"
    plan.write_bytes(fixture.read_bytes())
    readers = [["simulate", str(app)], ["graph", str(plan)], ["graph", str(app)]]
    for args in readers:
        run = run_cli(*args)
        assert (run.exit_code, run.stderr) == (2, f"error: {plan}: corrupt plan: {want}\n")


def _text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None


TEXT_PLANS = [p for p in BAD_PLANS if _text(p) is not None]


@pytest.mark.parametrize("fixture", TEXT_PLANS, ids=[p.stem for p in TEXT_PLANS])
def test_a_plans_text_is_refused_as_its_file_is(fixture: Path) -> None:
    """A plan held as text (the tests' and the API's round trip) is read by the same checked
    reader as plan.json, invariants included: nothing reads a plan unchecked."""
    from sel4vmgen.app.planfile import CorruptPlan, parse_plan

    want = fixture.with_suffix(".expect").read_text(encoding="utf-8").rstrip("\n")
    with pytest.raises(CorruptPlan) as caught:
        parse_plan(_text(fixture) or "", "plan.json")
    assert str(caught.value) == f"plan.json: corrupt plan: {want}"


def test_every_bad_plan_fixture_has_its_expectation() -> None:
    assert len(BAD_PLANS) >= 10
    assert sorted(p.stem for p in (FIXTURES / "bad-plan").glob("*.expect")) == [
        p.stem for p in BAD_PLANS
    ]


# ---------------------------------------------------------------- writing


def _writers(tmp_path: Path, target: Path) -> list[list[str]]:
    return [
        ["graph", str(X86), "-o", str(target)],
        ["schema", "-o", str(target)],
        ["simulate", str(X86), "--trace", str(target)],
    ]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["graph", "schema", "simulate"])
def test_single_file_outputs_never_write_through_a_symlink(tmp_path: Path, which: int) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    target = tmp_path / "out.dot"
    target.symlink_to(victim)
    run = run_cli(*_writers(tmp_path, target)[which])
    assert run.exit_code == 2
    assert f"error: cannot write {target}: it is a symlink, and no output is written" in run.stderr
    assert victim.read_text() == "keep me\n"
    assert target.is_symlink()


@pytest.mark.parametrize("which", [0, 1, 2], ids=["graph", "schema", "simulate"])
@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_single_file_outputs_refuse_a_fifo_or_folder(tmp_path: Path, which: int, kind: str) -> None:
    target = plant(tmp_path / "out.dot", kind)
    run = run_cli(*_writers(tmp_path, target)[which])
    assert run.exit_code == 2
    if kind == "fifo":
        assert f"cannot write {target}: it is a FIFO, not a regular file" in run.stderr
    else:  # the option itself takes no folder
        assert f"File '{target}' is a directory." in run.stderr
    mode = os.lstat(target).st_mode
    assert stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISDIR(mode)


@pytest.mark.parametrize("which", [0, 1, 2], ids=["graph", "schema", "simulate"])
def test_single_file_outputs_replace_a_file_leaving_no_temporary(
    tmp_path: Path, which: int
) -> None:
    target = tmp_path / "out.dot"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    run = run_cli(*_writers(tmp_path, target)[which])
    assert run.exit_code == 0, run.stderr
    assert target.read_text() != "old\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.dot"]


def test_device_as_single_file_output_is_refused(tmp_path: Path) -> None:
    run = run_cli("schema", "-o", "/dev/zero")
    assert run.exit_code == 2
    assert "cannot write /dev/zero: it is a device, not a regular file" in run.stderr


def test_new_guest_never_writes_through_a_planted_symlink(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "guests"
    out.mkdir()
    (out / "g1").symlink_to(elsewhere)
    run = run_cli("new-guest", "g1", "--no-input", "-o", str(out))
    assert run.exit_code == 2
    assert f"{out / 'g1'} already exists" in run.stderr
    assert list(elsewhere.iterdir()) == []


def test_new_guest_leaves_no_staging_folder(tmp_path: Path) -> None:
    run = run_cli("new-guest", "g1", "--no-input", "-o", str(tmp_path))
    assert run.exit_code == 0, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g1"]


def test_generate_into_a_symlinked_file_inside_dir_is_refused(tmp_path: Path) -> None:
    app = _app(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (app / "plan.json").unlink()
    (app / "plan.json").symlink_to(victim)
    run = run_cli("generate", str(X86), "-o", str(app), "--no-simulate", "--force")
    assert run.exit_code == 1
    assert "error[E403]: refusing to write plan.json: plan.json is a symlink" in run.stderr
    assert victim.read_text() == "keep me\n"


def test_a_manifest_listing_a_users_file_never_deletes_it(tmp_path: Path) -> None:
    app = _app(tmp_path)
    manifest = app / "sel4vmgen-manifest.json"
    data = json.loads(manifest.read_text())
    (app / "notes.txt").write_text("mine\n")
    data["files"]["notes.txt"] = "0" * 64  # listed, but with content the file does not hold
    manifest.write_text(json.dumps(data))
    for force in ([], ["--force"]):
        run = run_cli("generate", str(X86), "-o", str(app), "--no-simulate", *force)
        assert (app / "notes.txt").read_text() == "mine\n", run.stderr
    assert "notes.txt" not in json.loads(manifest.read_text())["files"]


def test_a_manifest_sel4vmgen_could_not_have_written_is_not_trusted(tmp_path: Path) -> None:
    app = _app(tmp_path)
    manifest = app / "sel4vmgen-manifest.json"
    data = json.loads(manifest.read_text())
    data["files"]["../outside.txt"] = "0" * 64
    manifest.write_text(json.dumps(data))
    run = run_cli("generate", str(X86), "-o", str(app), "--no-simulate", "--force")
    assert run.exit_code == 2
    assert "error[E404]: refusing to write into" in run.stderr


def test_a_plan_whose_strings_start_like_hex_numbers_reads_back(tmp_path: Path) -> None:
    """A SATA port list ("0xf090:0xf097,...") is text, not a number beyond 64 bits."""
    out = tmp_path / "app"
    assert run_cli("generate", str(EXAMPLES / "virtio_blk.yaml"), "-o", str(out)).exit_code == 0
    assert "0xf090:0xf097," in (out / "plan.json").read_text(encoding="utf-8")
    for args in (["simulate", str(out)], ["graph", str(out / "plan.json")]):
        run = run_cli(*args)
        assert run.exit_code == 0, (args, run.stderr)
