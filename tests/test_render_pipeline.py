"""The shared render pipeline: the sandboxed environment, its filters, and the atomic writer."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path
from typing import Any

import jinja2
import pytest
from conftest import EXAMPLES, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.exceptions import SecurityError

from sel4vmgen import safeio
from sel4vmgen.app.writer import (
    MANIFEST,
    WriteError,
    check_tree,
    safe_relpath,
    sha256,
    write_tree,
)
from sel4vmgen.render.env import (
    RenderError,
    c_string,
    camkes_string,
    cmake_quote,
    environment,
    hex_filter,
)
from sel4vmgen.safeio import BIDI, SEPARATORS

V = "9.9.9"
H = "ab" * 32
MINIMAL = EXAMPLES / "minimal.yaml"


def write(out: Path, files: dict[str, str], force: bool = False) -> None:
    write_tree(out, files, version=V, input_sha256=H, force=force)


# ---------------------------------------------------------------- environment


def test_environment_has_no_globals_and_only_the_listed_filters() -> None:
    env = environment("x86")
    assert dict(env.globals) == {}
    assert sorted(env.filters) == sorted(
        [
            "hex",
            "c_string",
            "camkes_string",
            "cmake_quote",
            "c_comment",
            "xml_attr",
            "xml_comment",
            "make_path",
            "join",
            "length",
            "first",
            "last",
        ]
    )


def test_undefined_values_are_errors_not_empty_strings() -> None:
    env = environment("x86")
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ vm.nmae }}").render(vm={"name": "vm0"})


def test_templates_cannot_reach_python_internals() -> None:
    env = environment("x86")
    with pytest.raises(SecurityError):
        env.from_string("{{ x.__class__.__mro__ }}").render(x=1)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ range(3) }}").render()
    with pytest.raises(SecurityError):
        env.from_string("{{ l.append(1) }}").render(l=[])


def test_unknown_filter_is_refused_at_compile_time() -> None:
    with pytest.raises(jinja2.TemplateAssertionError):
        environment("x86").from_string("{{ 'x' | upper }}")


def test_hex_filter() -> None:
    assert hex_filter(0x0F) == "0xf"
    assert hex_filter(0xF, 2) == "0x0f"
    with pytest.raises(RenderError):
        hex_filter(True)


HOSTILE = 'a "q" \\ */ /* %s %n\nline2\t?? =\x01 é'


def test_c_string_escapes_everything_that_could_end_the_literal() -> None:
    text = c_string(HOSTILE)
    assert text == ('"a \\"q\\" \\\\ */ /* %s %n\\nline2\\t\\?\\? =\\001 \\303\\251"')
    assert "\n" not in text


def test_camkes_string_is_verbatim_and_refuses_what_camkes_cannot_read() -> None:
    # camkes-tool strings have no escapes: backslashes are kept as written
    assert camkes_string("a \\ b */ % #x \\\\") == '"a \\ b */ % #x \\\\"'
    for value, why in [
        ('say "hi"', "cannot hold a double quote"),
        ("a\nb", "cannot hold the control character '\\n'"),
        ("ends \\", "cannot end with an odd run of backslashes"),
    ]:
        with pytest.raises(RenderError) as e:
            camkes_string(value)
        assert why in str(e.value)


def test_cmake_quote_escapes_variables_unless_asked_to_keep_them() -> None:
    assert cmake_quote('${X}/a b c"d\\') == '"\\${X}/a b c\\"d\\\\"'
    assert cmake_quote("${CAMKES_VM_IMAGES_DIR}/$x/${A", variables=True) == (
        '"${CAMKES_VM_IMAGES_DIR}/\\$x/\\${A"'
    )


# ---------------------------------------------------------------- writer: paths


@pytest.mark.parametrize("rel", ["/etc/passwd", "../x", "a/../../x", "a/./b", "a\\b", "", "a//b"])
def test_relative_paths_that_could_leave_the_folder_are_refused(rel: str) -> None:
    with pytest.raises(WriteError):
        safe_relpath(rel)


def test_writer_refuses_a_path_through_a_planted_symlink(tmp_path: Path) -> None:
    out, outside = tmp_path / "app", tmp_path / "outside"
    outside.mkdir()
    write(out, {"a.txt": "a\n"})
    (out / "src").symlink_to(outside)
    with pytest.raises(WriteError, match="src is a symlink"):
        write(out, {"a.txt": "a\n", "src/x.c": "int x;\n"}, force=True)
    assert list(outside.iterdir()) == []


def test_writer_refuses_a_file_planted_where_a_folder_goes(tmp_path: Path) -> None:
    out = tmp_path / "app"
    out.mkdir()
    (out / "src").write_text("user file")
    with pytest.raises(WriteError, match="src is not a folder"):
        write(out, {"src/x.c": "int x;\n"}, force=True)


# ---------------------------------------------------------------- writer: manifest, edits, check


def test_manifest_lists_every_file_with_its_hash(tmp_path: Path) -> None:
    out = tmp_path / "app"
    write(out, {"b/c.txt": "c\n", "a.txt": "a\n"})
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest == {
        "format": 1,
        "tool": "sel4vmgen",
        "version": V,
        "input_sha256": H,
        "files": {"a.txt": sha256(b"a\n"), "b/c.txt": sha256(b"c\n")},
    }


def test_rewrite_is_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    files = {"x.txt": "x\n", "d/y.txt": "y\n"}
    write(a, files)
    write(b, files)
    for rel in ("x.txt", "d/y.txt", MANIFEST):
        assert (a / rel).read_bytes() == (b / rel).read_bytes()


def test_edited_file_blocks_regeneration_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "app"
    write(out, {"a.txt": "a\n", "b.txt": "b\n"})
    (out / "b.txt").write_text("mine\n")
    with pytest.raises(WriteError) as e:
        write(out, {"a.txt": "A\n", "b.txt": "B\n"})
    assert e.value.kind == "edited"
    assert e.value.paths == ("b.txt",)
    assert "b.txt" in str(e.value)
    assert (out / "a.txt").read_text() == "a\n"  # nothing written
    write(out, {"a.txt": "A\n", "b.txt": "B\n"}, force=True)
    assert (out / "b.txt").read_text() == "B\n"


def test_user_added_files_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "app"
    write(out, {"a.txt": "a\n"})
    (out / "notes").mkdir()
    (out / "notes" / "mine.txt").write_text("keep me\n")
    write(out, {"a.txt": "changed\n"})
    assert (out / "notes" / "mine.txt").read_text() == "keep me\n"
    assert "notes/mine.txt" not in json.loads((out / MANIFEST).read_text())["files"]


def test_files_no_longer_generated_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "app"
    write(out, {"a.txt": "a\n", "old.txt": "o\n"})
    write(out, {"a.txt": "a\n"})
    assert not (out / "old.txt").exists()


def test_check_detects_one_changed_byte_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "app"
    files = {"a.txt": "abc\n", "b.txt": "b\n"}
    write(out, files)
    assert check_tree(out, files, V, H) == ()
    (out / "a.txt").write_bytes(b"abd\n")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert check_tree(out, files, V, H) == ("a.txt",)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_check_reports_missing_files_and_a_missing_folder(tmp_path: Path) -> None:
    files = {"a.txt": "a\n"}
    assert check_tree(tmp_path / "none", files, V, H) == ("a.txt", MANIFEST)
    assert not (tmp_path / "none").exists()


def test_interrupted_write_leaves_the_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "app"
    write(out, {"a.txt": "a\n", "b.txt": "b\n"})
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = os.open
    calls = {"n": 0}

    def failing_open(path: str, flags: int, mode: int = 0o777, **kw: int) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(path, flags, mode, **kw)

    monkeypatch.setattr(os, "open", failing_open)
    with pytest.raises(KeyboardInterrupt):
        write(out, {"a.txt": "A\n", "b.txt": "B\n"})
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app"]  # no temporary folder left


def test_output_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(WriteError, match="is not a folder") as e:
        write(f, {"a.txt": "a\n"})
    assert e.value.kind == "folder"


def test_the_current_folder_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "app"
    write(out, {"a.txt": "a\n"})
    monkeypatch.chdir(out)
    with pytest.raises(WriteError, match="is the current folder or holds it") as e:
        write(out, {"a.txt": "b\n"})
    assert e.value.kind == "folder"
    assert (out / "a.txt").read_text() == "a\n"


def test_an_output_path_that_is_a_symlink_replaces_the_folder_it_names(tmp_path: Path) -> None:
    real, link = tmp_path / "real", tmp_path / "link"
    write(real, {"a.txt": "a\n"})
    link.symlink_to(real)
    write(link, {"a.txt": "b\n"})
    assert link.is_symlink()
    assert (real / "a.txt").read_text() == "b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


# ---------------------------------------------------------------- writer: the output folder


def snapshot(folder: Path) -> dict[str, tuple[str, bytes | str | int]]:
    """Every entry under `folder`: files by content, symlinks by target, folders by mode."""
    found: dict[str, tuple[str, bytes | str | int]] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            found[rel] = ("link", os.readlink(p))
        elif p.is_dir():
            found[rel] = ("dir", p.stat().st_mode & 0o7777)
        else:
            found[rel] = ("file", p.read_bytes())
    return found


def test_a_non_empty_folder_sel4vmgen_did_not_write_is_refused_even_with_force(
    tmp_path: Path,
) -> None:
    out = tmp_path / "project"
    out.mkdir()
    (out / "README").write_text("mine\n")
    (out / "src").mkdir()
    (out / "src" / "main.c").write_text("int main;\n")
    before = snapshot(out)
    for force in (False, True):
        with pytest.raises(WriteError) as e:
            write(out, {"a.txt": "a\n"}, force=force)
        assert e.value.kind == "folder"
        assert str(e.value) == (
            f"refusing to write into {out}: the folder is not empty and was not written by "
            f"sel4vmgen (it has no {MANIFEST}); choose an empty or new folder"
        )
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_an_existing_empty_folder_is_written(tmp_path: Path) -> None:
    out = tmp_path / "app"
    out.mkdir()
    write(out, {"a.txt": "a\n"})
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", MANIFEST]


def test_cli_refuses_a_folder_sel4vmgen_did_not_write_with_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "home-like"
    out.mkdir()
    (out / ".profile").write_text("export A=1\n")
    for extra in ((), ("--force",)):
        run = run_cli("generate", str(MINIMAL), "-o", str(out), "--no-simulate", *extra)
        assert (run.exit_code, run.stdout + run.stderr) == (
            2,
            f"error[E404]: refusing to write into {out}: the folder is not empty and was not "
            f"written by sel4vmgen (it has no {MANIFEST}); choose an empty or new folder\n",
        )
    assert [p.name for p in out.iterdir()] == [".profile"]


def test_cli_refuses_dot_in_a_project_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "system.yaml").write_text(MINIMAL.read_text())
    monkeypatch.chdir(project)
    run = run_cli("generate", "system.yaml", "-o", ".", "--no-simulate", "--force")
    assert (run.exit_code, run.stdout + run.stderr) == (
        2,
        f"error[E404]: refusing to write into {project}: the folder is not empty and was not "
        f"written by sel4vmgen (it has no {MANIFEST}); choose an empty or new folder\n",
    )
    assert [p.name for p in project.iterdir()] == ["system.yaml"]


def test_empty_folders_the_user_made_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "app"
    write(out, {"a.txt": "a\n", "gen/b.txt": "b\n"})
    (out / "build").mkdir()
    (out / "notes" / "drafts").mkdir(parents=True)
    (out / "gen" / "scratch").mkdir()
    (out / "locked").mkdir(mode=0o700)
    write(out, {"a.txt": "changed\n", "gen/b.txt": "b\n"})
    assert (out / "a.txt").read_text() == "changed\n"
    for rel in ("build", "notes/drafts", "gen/scratch", "locked"):
        assert (out / rel).is_dir() and not any((out / rel).iterdir()), rel
    assert (out / "locked").stat().st_mode & 0o777 == 0o700


def test_a_folder_only_generated_files_used_goes_with_them(tmp_path: Path) -> None:
    out = tmp_path / "app"
    write(out, {"a.txt": "a\n", "old/b.txt": "b\n"})
    (out / "old" / "b.txt").unlink()
    write(out, {"a.txt": "A\n"})
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", MANIFEST]


@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_a_fifo_or_socket_in_the_output_folder_is_refused(tmp_path: Path, kind: str) -> None:
    out = tmp_path / "app"
    write(out, {"a.txt": "a\n"})
    (out / "run").mkdir()
    special = out / "run" / "chan"
    if kind == "fifo":
        os.mkfifo(special)
    else:
        import socket

        here = os.getcwd()
        os.chdir(out / "run")  # a socket path must be short
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.bind("chan")
        finally:
            os.chdir(here)
    for force in (False, True):
        with pytest.raises(WriteError) as e:
            write(out, {"a.txt": "A\n"}, force=force)
        assert (e.value.kind, e.value.paths) == ("folder", ("run/chan",))
        assert str(e.value) == (
            f"refusing to replace {out}: run/chan is not a regular file, folder or symlink "
            "(a FIFO, socket or device), so it cannot be carried over; "
            "move it out of the output folder"
        )
    assert (out / "a.txt").read_text() == "a\n"
    assert not special.is_file() and special.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app"]


def test_cli_refuses_a_fifo_in_the_output_folder_with_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "app"
    assert run_cli("generate", str(MINIMAL), "-o", str(out), "--no-simulate").exit_code == 0
    os.mkfifo(out / "pipe")
    (out / "README.md").unlink()  # something to write
    run = run_cli("generate", str(MINIMAL), "-o", str(out), "--no-simulate")
    assert (run.exit_code, run.stdout + run.stderr) == (
        2,
        f"error[E404]: refusing to replace {out}: pipe is not a regular file, folder or "
        "symlink (a FIFO, socket or device), so it cannot be carried over; "
        "move it out of the output folder\n",
    )
    assert not (out / "README.md").exists()


def test_a_folder_that_cannot_be_read_is_refused_not_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "app"
    write(out, {"a.txt": "a\n"})
    (out / "private").mkdir()
    (out / "private" / "key").write_text("secret\n")
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) == str(out / "private"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(WriteError) as e:
        write(out, {"a.txt": "A\n"})
    monkeypatch.undo()
    assert e.value.kind == "folder"
    assert str(e.value) == f"cannot read {out / 'private'} in the output folder: Permission denied"
    assert (out / "private" / "key").read_text() == "secret\n"
    assert (out / "a.txt").read_text() == "a\n"


def test_user_symlinks_are_kept_as_links_and_never_followed(tmp_path: Path) -> None:
    out, outside = tmp_path / "app", tmp_path / "outside"
    (outside / "tree").mkdir(parents=True)
    (outside / "tree" / "big.bin").write_bytes(b"\0" * 10)
    (outside / "secret.txt").write_text("secret\n")
    write(out, {"a.txt": "a\n"})
    (out / "to_dir").symlink_to(outside / "tree")
    (out / "to_file").symlink_to(outside / "secret.txt")
    (out / "sub").mkdir()
    (out / "sub" / "relative").symlink_to("../../outside/secret.txt")
    (out / "dangling").symlink_to(tmp_path / "nowhere")
    links = {
        rel: os.readlink(out / rel) for rel in ("to_dir", "to_file", "sub/relative", "dangling")
    }
    outside_before = snapshot(outside)
    write(out, {"a.txt": "changed\n"})
    assert (out / "a.txt").read_text() == "changed\n"
    assert {rel: os.readlink(out / rel) for rel in links} == links
    assert all((out / rel).is_symlink() for rel in links)
    assert snapshot(outside) == outside_before
    manifest = json.loads((out / MANIFEST).read_text())["files"]
    assert sorted(manifest) == ["a.txt"]


def test_a_failed_swap_puts_the_previous_output_back_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "app"
    write(out, {"a.txt": "a\n", "d/b.txt": "b\n"})
    (out / "notes.txt").write_text("mine\n")
    (out / "empty").mkdir()
    before = snapshot(out)
    real = os.rename

    def rename(src: Any, dst: Any) -> None:
        if Path(src).name.startswith(".app.new-") and Path(dst) == out:
            raise OSError(errno.EIO, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(safeio, "exchange", lambda a, b: False)  # a system without renameat2
    with pytest.raises(WriteError) as e:
        write(out, {"a.txt": "A\n", "d/b.txt": "B\n"})
    monkeypatch.undo()
    assert (e.value.kind, str(e.value)) == ("folder", f"cannot write {out}: Input/output error")
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app"]  # no temporary or old folder


def test_the_swap_exchanges_the_folders_in_one_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With renameat2 the old folder is never renamed aside: DIR exists at every moment."""
    out = tmp_path / "app"
    write(out, {"a.txt": "a\n"})
    renamed: list[tuple[str, str]] = []
    real = os.rename

    def rename(src: Any, dst: Any) -> None:
        renamed.append((str(src), str(dst)))
        real(src, dst)

    exchanged: list[tuple[Path, Path]] = []
    real_exchange = safeio.exchange

    def spy(a: Path, b: Path) -> bool:
        exchanged.append((a, b))
        return real_exchange(a, b)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(safeio, "exchange", spy)
    write(out, {"a.txt": "A\n"})
    monkeypatch.undo()
    assert [b for _, b in exchanged] == [out]
    assert renamed == []
    assert (out / "a.txt").read_text() == "A\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app"]


def test_the_root_folder_is_never_an_output_folder() -> None:
    for force in ((), ("--force",)):
        run = run_cli("generate", str(MINIMAL), "-o", "/", "--no-simulate", *force)
        assert (run.exit_code, run.stdout + run.stderr) == (
            2,
            "error[E404]: refusing to use / as the output folder: it is the root folder; "
            "choose an empty or new folder\n",
        )


def test_a_mount_point_is_never_an_output_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "disk"
    out.mkdir()
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == out)
    with pytest.raises(WriteError) as e:
        write(out, {"a.txt": "a\n"}, force=True)
    assert (e.value.kind, str(e.value)) == (
        "folder",
        f"refusing to use {out} as the output folder: it is a file system root; "
        "choose an empty or new folder",
    )
    assert list(out.iterdir()) == []


def test_the_home_folder_is_never_an_output_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    write(home, {"a.txt": "a\n"})  # even one that looks generated
    monkeypatch.setenv("HOME", str(home))
    before = snapshot(home)
    for target in (str(home), "~"):
        run = run_cli(
            "generate", str(MINIMAL), "-o", os.path.expanduser(target), "--no-simulate", "--force"
        )
        assert (run.exit_code, run.stdout + run.stderr) == (
            2,
            f"error[E404]: refusing to use {home} as the output folder: it is your home "
            "folder; choose an empty or new folder\n",
        )
    assert snapshot(home) == before


@pytest.mark.parametrize("below", ["x", "sub/x"])
def test_an_output_folder_below_a_file_says_the_parent_is_not_a_folder(
    tmp_path: Path, below: str
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    out = afile / below
    run = run_cli("generate", str(MINIMAL), "-o", str(out), "--no-simulate")
    assert (run.exit_code, run.stdout + run.stderr) == (
        2,
        f"error[E404]: cannot create the output folder {out}: {afile} exists and is not a folder\n",
    )
    assert afile.read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


# ---------------------------------------------------------------- escaping, for any text


def c_unquote(literal: str) -> str:
    """What a C compiler reads from the literals `c_string` writes (simple and octal escapes)."""
    assert literal.startswith('"') and literal.endswith('"') and "\n" not in literal
    body, out, i = literal[1:-1], bytearray(), 0
    simple = {"\\": 0x5C, '"': 0x22, "n": 0x0A, "r": 0x0D, "t": 0x09, "?": 0x3F}
    while i < len(body):
        ch = body[i]
        assert ch != '"', literal  # an unescaped quote would end the literal
        if ch != "\\":
            out.append(ord(ch))
            i += 1
        elif body[i + 1] in simple:
            out.append(simple[body[i + 1]])
            i += 2
        else:
            out.append(int(body[i + 1 : i + 4], 8))
            i += 4
    return out.decode("utf-8")


def cmake_read(arg: str) -> str:
    """What CMake reads from a quoted argument `cmake_quote` writes (no variables kept)."""
    assert arg.startswith('"') and arg.endswith('"')
    body, out, i = arg[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\":
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            assert body[i] != '"' and body[i] != "$", arg
            out.append(body[i])
            i += 1
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_c_string_reads_back_as_the_text(text: str) -> None:
    literal = c_string(text)
    assert c_unquote(literal) == text
    assert "??" not in literal  # no trigraph can form


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"))))
def test_cmake_quote_reads_back_as_the_text(text: str) -> None:
    if ";" in text:
        with pytest.raises(RenderError, match="cannot be written in a CMake argument"):
            cmake_quote(text)
    elif any(c in BIDI or c in SEPARATORS for c in text):
        # a bidirectional control or line separator would make the file read otherwise
        with pytest.raises(RenderError, match="cannot hold the control character"):
            cmake_quote(text)
    else:
        assert cmake_read(cmake_quote(text)) == text


def test_cmake_quote_refuses_a_semicolon() -> None:
    # CMake keeps `\;` as two characters in a quoted argument, so no escape names a file
    # whose path holds ';'; refusing it beats writing a path to some other file
    with pytest.raises(RenderError) as e:
        cmake_quote("/images/a;b")
    assert str(e.value) == "a ';' cannot be written in a CMake argument: '/images/a;b'"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_camkes_string_is_one_token_or_refused(text: str) -> None:
    try:
        literal = camkes_string(text)
    except RenderError:
        assert (
            '"' in text
            or any(
                ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in BIDI or c in SEPARATORS
                for c in text
            )
            or ((len(text) - len(text.rstrip("\\"))) % 2)
        )
        return
    assert literal == f'"{text}"'
    assert re.fullmatch(r'"[^"\n]*"', literal)  # camkes-tool's quoted_string, one line


def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "app"
    write(out, {"x.txt": "x\n"})
    assert (out / "x.txt").read_text() == "x\n"


def test_check_ignores_files_the_user_added(tmp_path: Path) -> None:
    out = tmp_path / "app"
    files = {"a.txt": "a\n"}
    write(out, files)
    (out / "notes.txt").write_text("mine\n")
    assert check_tree(out, files, V, H) == ()


def test_check_reports_files_left_over_from_an_earlier_run(tmp_path: Path) -> None:
    out = tmp_path / "app"
    write(out, {"a.txt": "a\n", "old.txt": "o\n"})
    assert check_tree(out, {"a.txt": "a\n"}, V, H) == ("old.txt", MANIFEST)


def _system_with_component(tmp_path: Path, sources: str) -> Path:
    """The vm_cross_connector example, copied beside `sources` (YAML list text)."""
    example = Path(__file__).resolve().parent.parent / "examples" / "vm_cross_connector.yaml"
    text = example.read_text(encoding="utf-8").replace(
        "sources: [components/crossvm_init.c]", f"sources: {sources}"
    )
    system = tmp_path / "system.yaml"
    system.write_text(text, encoding="utf-8")
    return system


def test_component_sources_are_copied_into_the_app(tmp_path: Path) -> None:
    from sel4vmgen.app.generate import generate
    from sel4vmgen.model import load

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "glue.c").write_text("int run(void) { return 0; }\n", encoding="utf-8")
    system = _system_with_component(tmp_path, "[c/glue.c]")
    generate(load(system), tmp_path / "app", simulate=False)
    copied = tmp_path / "app" / "components" / "CrossvmInit" / "src" / "glue.c"
    assert copied.read_text(encoding="utf-8") == "int run(void) { return 0; }\n"
    cmake = (tmp_path / "app" / "CMakeLists.txt").read_text(encoding="utf-8")
    assert (
        'DeclareCAmkESComponent(CrossvmInit SOURCES "${CMAKE_CURRENT_SOURCE_DIR}/components/'
        'CrossvmInit/src/glue.c")'
    ) in cmake
    assert str(tmp_path) not in cmake


def test_unreadable_component_source_is_e408_and_writes_nothing(tmp_path: Path) -> None:
    from sel4vmgen.app.generate import generate
    from sel4vmgen.diagnostics import DiagnosticError
    from sel4vmgen.model import load

    system = _system_with_component(tmp_path, "[c/missing.c]")
    with pytest.raises(DiagnosticError) as err:
        generate(load(system), tmp_path / "app", simulate=False)
    [d] = err.value.diagnostics
    assert (d.code, d.message) == (
        "E408",
        "component crossvm_init: cannot read source c/missing.c: file not found",
    )
    assert not (tmp_path / "app").exists()
    # and validate reported it first, at the line naming the source
    from sel4vmgen.app.check import check_file

    found = [(d.code, d.message) for d in check_file(system).diagnostics if d.is_error]
    assert found == [
        ("E241", "component crossvm_init source c/missing.c cannot be copied: file not found")
    ]


def test_two_sources_with_one_file_name_are_e408(tmp_path: Path) -> None:
    from sel4vmgen.app.generate import generate
    from sel4vmgen.diagnostics import DiagnosticError
    from sel4vmgen.model import load

    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "x.c").write_text("", encoding="utf-8")
    system = _system_with_component(tmp_path, "[a/x.c, b/x.c]")
    with pytest.raises(DiagnosticError) as err:
        generate(load(system), tmp_path / "app", simulate=False)
    assert [(d.code, d.message) for d in err.value.diagnostics] == [
        ("E408", "component crossvm_init: two sources named x.c")
    ]
