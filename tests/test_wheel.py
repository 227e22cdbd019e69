"""The wheel a user installs: it carries the templates and the schema, and its
`sel4vmgen` command validates and generates the minimal example from a fresh virtualenv."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT, cwd=out)
    assert proc.returncode == 0, proc.stderr
    (built,) = out.glob("sel4vmgen-*.whl")
    return built


def test_wheel_carries_templates_and_schema(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "sel4vmgen/schemas/system.schema.json" in names
    assert any(n.startswith("sel4vmgen/templates/") for n in names)
    assert "sel4vmgen/cli.py" in names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)
    for schema in ("system.schema.json", "guest.schema.json"):
        packaged = zipfile.ZipFile(wheel).read(f"sel4vmgen/schemas/{schema}")
        assert packaged == (ROOT / "schemas" / schema).read_bytes()


def test_installed_wheel_validates_the_minimal_example(wheel: Path, tmp_path: Path) -> None:
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    bin_dir = env / ("Scripts" if sys.platform == "win32" else "bin")
    install = _run(bin_dir / "python", "-m", "pip", "install", "-q", wheel, cwd=tmp_path)
    assert install.returncode == 0, install.stderr
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(EXAMPLES / "minimal.yaml", work / "minimal.yaml")
    where = _run(bin_dir / "python", "-c", "import sel4vmgen; print(sel4vmgen.__file__)", cwd=work)
    assert Path(where.stdout.strip()).is_relative_to(env)
    proc = _run(bin_dir / "sel4vmgen", "validate", "minimal.yaml", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "1 file checked: 0 error(s), 0 warning(s)\n"
    bad = work / "bad.yaml"
    bad.write_text("- a list\n", encoding="utf-8")
    proc = _run(bin_dir / "sel4vmgen", "validate", "bad.yaml", cwd=work)
    assert proc.returncode == 1
    assert "bad.yaml:1:1: error[E010]" in proc.stderr
    # a scaffold outside any checkout: every `$schema` line names a file written beside it
    proc = _run(bin_dir / "sel4vmgen", "new-guest", "web", "--no-input", cwd=work)
    assert proc.returncode == 0, proc.stderr
    for name in ("system.yaml", "guest.yaml"):
        first = (work / "web" / name).read_text(encoding="utf-8").splitlines()[0]
        ref = first.removeprefix("# yaml-language-server: $schema=")
        assert ref != first and (work / "web" / ref).is_file(), first
    # the main job, with the templates the wheel carries: the same app as from the checkout
    proc = _run(bin_dir / "sel4vmgen", "generate", "minimal.yaml", "-o", "app", cwd=work)
    assert proc.returncode == 0, proc.stderr
    golden = ROOT / "tests" / "golden" / "x86" / "minimal"
    for name in ("CMakeLists.txt", "app_settings.cmake", "minimal.camkes", "plan.json"):
        assert (work / "app" / name).read_text() == (golden / name).read_text(), name
