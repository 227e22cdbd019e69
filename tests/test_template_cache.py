"""The compiled-template cache: generate renders the same with it, without it, and with its
entries corrupt, replaced by a FIFO or its folder behind a symlink."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLES, run_cli

from sel4vmgen.render.env import environment


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The caches on, in a folder of their own; each environment built afresh."""
    monkeypatch.delenv("SEL4VMGEN_NO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    environment.cache_clear()
    yield tmp_path / "cache" / "sel4vmgen" / "templates"
    environment.cache_clear()


def generated(out: Path) -> dict[str, bytes]:
    """Every file `generate` of the minimal example writes, by its place in the app."""
    environment.cache_clear()
    run = run_cli("generate", str(EXAMPLES / "minimal.yaml"), "-o", str(out), "--no-simulate")
    assert run.exit_code == 0, run.stderr
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_with_and_without_the_cache_the_app_is_the_same(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = generated(tmp_path / "a")
    entries = sorted(cache.iterdir())
    assert len(entries) == 4  # the x86 templates minimal renders
    assert generated(tmp_path / "b") == first  # compiled code read back
    monkeypatch.setenv("SEL4VMGEN_NO_CACHE", "1")
    assert generated(tmp_path / "c") == first


def test_corrupt_entries_and_a_fifo_are_compiled_afresh(cache: Path, tmp_path: Path) -> None:
    first = generated(tmp_path / "a")
    entries = sorted(cache.iterdir())
    entries[0].write_bytes(b"j2\x00 not code")
    entries[1].write_bytes(b"")
    entries[2].unlink()
    os.mkfifo(entries[2])
    assert generated(tmp_path / "b") == first
    assert entries[0].stat().st_size > 100 and entries[1].stat().st_size > 100  # written again


def test_a_cache_folder_behind_a_symlink_is_not_written(cache: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    cache.parent.mkdir(parents=True)
    cache.symlink_to(tmp_path / "elsewhere")
    generated(tmp_path / "a")
    assert list((tmp_path / "elsewhere").iterdir()) == []
