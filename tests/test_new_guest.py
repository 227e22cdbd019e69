"""`sel4vmgen new-guest`: scaffolded guests validate, generate and simulate on every platform;
bad answers are refused with validate's own diagnostics and nothing is written."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from sel4vmgen import scaffold
from sel4vmgen.app.check import check_file
from sel4vmgen.cli import cli
from sel4vmgen.diagnostics import format_text, has_errors

SCHEMAS = ("system.schema.json", "guest.schema.json")
PLATFORMS = ("pc99", "qemu-arm-virt", "tx2", "tx1", "tk1", "zcu102", "odroidc2", "exynos5422")


def new_guest(out: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["new-guest", "-o", str(out), *args], input=stdin)


def yaml_file(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def ident(platform: str) -> str:
    return "g_" + platform.replace("-", "_")


# ---------------------------------------------------------------- every platform


@pytest.mark.parametrize("platform", PLATFORMS)
def test_scaffolded_guest_validates_generates_and_simulates(platform: str, tmp_path: Path) -> None:
    name = ident(platform)
    result = new_guest(tmp_path, name, "--no-input", "--set", f"platform={platform}")
    assert result.exit_code == 0, result.output
    folder = tmp_path / name
    expected = "overlay.dts" if platform != "pc99" else "cmdline.txt"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["README.md", "guest.yaml", "system.yaml", expected, *SCHEMAS]
    )
    checked = check_file(folder / "system.yaml")
    assert checked.ok and checked.loaded is not None, format_text(checked.diagnostics)
    assert checked.diagnostics == ()
    system = checked.loaded.system
    assert system.platforms == (platform,) and system.vms[0].name == name

    from sel4vmgen.app.generate import generate

    done = generate(checked.loaded, tmp_path / "app")
    assert done.ok, format_text(done.violations)
    assert "plan.json" in done.files

    from sel4vmgen.plan import resolve_all
    from sel4vmgen.sim import check_plan

    for plan in resolve_all(checked.loaded):
        found = tuple(check_plan(plan) or ())
        assert not has_errors(found), format_text(found)


@pytest.mark.parametrize("platform", [p for p in PLATFORMS if p != "pc99"])
def test_arm_defaults_come_from_the_platform_database(platform: str, tmp_path: Path) -> None:
    from sel4vmgen.platforms import load

    plat = load(platform)
    assert plat.guest is not None
    result = new_guest(tmp_path, "vm", "--no-input", "--set", f"platform={platform}")
    assert result.exit_code == 0, result.output
    guest = yaml_file(tmp_path / "vm" / "guest.yaml")
    assert guest["vcpus"] == plat.guest.vcpus
    assert scaffold._parse_size(guest["ram"]["size"]) == plat.guest.ram_size
    system = yaml_file(tmp_path / "vm" / "system.yaml")
    assert (system["arch"], system["platform"]) == ("arm", platform)
    assert system["sel4_arch"] == plat.sel4_archs[0]
    assert system["num_nodes"] == (min(plat.guest.vcpus, plat.cores) if plat.smp else 1)
    assert guest["ram"]["base"] == plat.guest.ram_base
    assert guest["ram"].get("paddr", plat.guest.ram_base) == plat.guest.ram_paddr
    assert guest["dtb"]["address"] == plat.guest.dtb_addr
    if platform == "tk1":  # its kernel carries the root file system (vm_minimal)
        assert "initrd" not in guest
        assert guest["kernel"]["image"] == "images/linux-tk1-initrd"
    else:
        assert guest["initrd"]["address"] == plat.guest.initrd_addr
        assert guest["kernel"]["image"].startswith("${CAMKES_VM_IMAGES_DIR}/")
    assert guest.get("stdout", "") == plat.guest.stdout
    assert guest["cmdline"] == plat.guest.cmdline
    assert tuple(guest["passthrough"]["devices"]) == plat.guest.dtb_nodes


def test_pc99_defaults_follow_the_x86_minimal_app(tmp_path: Path) -> None:
    result = new_guest(tmp_path, "vm", "--no-input", "--set", "platform=pc99")
    assert result.exit_code == 0, result.output
    guest = yaml_file(tmp_path / "vm" / "guest.yaml")
    assert (guest["vcpus"], guest["ram"]) == (1, {"size": "128MiB"})
    assert (
        guest["kernel"]["image"] == "${CAMKES_VM_LINUX_DIR}/images/kernel/64/default_bzimage_4.8.16"
    )
    assert (
        guest["initrd"]["image"]
        == "${CAMKES_VM_LINUX_DIR}/images/rootfs/64/default_buildroot_rootfs-bare.cpio"
    )
    assert "console=ttyS0,115200" in guest["cmdline"] and "passthrough" not in guest
    cmdline = (tmp_path / "vm" / "cmdline.txt").read_text(encoding="utf-8")
    assert cmdline == guest["cmdline"] + "\n"
    system = yaml_file(tmp_path / "vm" / "system.yaml")
    assert (system["arch"], system["sel4_arch"], system["num_nodes"]) == ("x86", "x86_64", 1)


def first_line(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0]


def test_outside_a_checkout_the_schemas_are_written_next_to_the_files(tmp_path: Path) -> None:
    from sel4vmgen.jsonschema import schema_text, vm_schema_text

    assert new_guest(tmp_path, "vm1", "--no-input").exit_code == 0
    folder = tmp_path / "vm1"
    assert (
        first_line(folder / "system.yaml") == "# yaml-language-server: $schema=system.schema.json"
    )
    assert first_line(folder / "guest.yaml") == "# yaml-language-server: $schema=guest.schema.json"
    assert (folder / "system.schema.json").read_text(encoding="utf-8") == schema_text()
    assert (folder / "guest.schema.json").read_text(encoding="utf-8") == vm_schema_text()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert (
        "| `guest.schema.json` | the JSON Schema editors complete and check `guest.yaml` with |"
        in (readme)
    )
    assert yaml_file(folder / "system.yaml")["vms"] == [{"include": "guest.yaml"}]


def test_schema_lines_point_at_an_enclosing_checkouts_schemas(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    for name in SCHEMAS:
        (tmp_path / "schemas" / name).write_text("{}", encoding="utf-8")
    assert new_guest(tmp_path / "guests", "vm1", "--no-input").exit_code == 0
    folder = tmp_path / "guests" / "vm1"
    assert first_line(folder / "system.yaml") == (
        "# yaml-language-server: $schema=../../schemas/system.schema.json"
    )
    assert first_line(folder / "guest.yaml") == (
        "# yaml-language-server: $schema=../../schemas/guest.schema.json"
    )
    assert not any((folder / name).exists() for name in SCHEMAS)


def test_guest_fragment_is_ready_for_include_from_another_system(tmp_path: Path) -> None:
    assert new_guest(tmp_path, "web", "--no-input", "--set", "platform=tx2").exit_code == 0
    assert isinstance(yaml_file(tmp_path / "web" / "guest.yaml"), dict)
    (tmp_path / "board.yaml").write_text(
        "name: board\narch: arm\nsel4_arch: aarch64\nplatform: tx2\n"
        "vms:\n  - include: web/guest.yaml\n    priority: 120\n",
        encoding="utf-8",
    )
    checked = check_file(tmp_path / "board.yaml")
    assert checked.ok, format_text(checked.diagnostics)
    assert checked.loaded is not None
    vm = checked.loaded.system.vms[0]
    assert (vm.name, vm.priority) == ("web", 120)


def test_output_is_deterministic(tmp_path: Path) -> None:
    for out in ("a", "b"):
        assert (
            new_guest(tmp_path / out, "vm1", "--no-input", "--set", "platform=zcu102").exit_code
            == 0
        )
    for name in ("README.md", "guest.yaml", "system.yaml", "overlay.dts"):
        assert (tmp_path / "a" / "vm1" / name).read_bytes() == (
            tmp_path / "b" / "vm1" / name
        ).read_bytes()


# ---------------------------------------------------------------- bad answers


def test_a_name_that_is_not_an_identifier_is_refused_like_validate_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = new_guest(Path("."), "9lives", "--no-input")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "9lives/guest.yaml:5:7: error[E107]: vms[0].name: '9lives' is not a C identifier "
        "(letters, digits and '_', not starting with a digit, at most 64 characters)",
        "    5 | name: 9lives",
        "      |       ^",
        "1 file checked: 1 error(s), 0 warning(s)",
        "new-guest: nothing written",
    ]
    assert list(tmp_path.iterdir()) == []


def test_ram_the_platform_lacks_is_refused_with_validates_diagnostics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = new_guest(Path("out"), "big", "--no-input", "--set", "ram=4GiB")
    assert result.exit_code == 1
    assert not (tmp_path / "out").exists()
    # The same files, checked by `validate`, give the same diagnostics.
    answers = scaffold.complete({"name": "big", "ram": "4GiB"})
    (tmp_path / "r").mkdir()
    rendered = scaffold.render(answers, tmp_path / "r", Path("out/big"))
    shown = rendered.relative_to(tmp_path)
    check = CliRunner().invoke(cli, ["validate", str(shown / "system.yaml")])
    assert check.exit_code == 1
    assert result.stderr == check.stderr.replace(f"{shown}/", "out/big/") + (
        "new-guest: nothing written\n"
    )
    assert result.stderr.splitlines()[::3][:2] == [
        "out/big/guest.yaml:8:9: error[E223]: the guest RAM of the first 1 VMs is 4096 MiB, "
        "more than the 2048 MiB of memory qemu-arm-virt has",
        "out/big/guest.yaml:9:9: error[E207]: big RAM 0x40000000-0x140000000 is not inside "
        "the memory of qemu-arm-virt (0x40000000-0xc0000000)",
    ]


def test_vcpus_that_are_not_a_number_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = new_guest(Path("."), "vm1", "--no-input", "--set", "vcpus=many")
    assert result.exit_code == 1
    assert "vm1/guest.yaml:6:8: error[E103]: 'vms[0].vcpus' must be a whole number, not 'many'" in (
        result.stderr
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "colour=red"], "unknown key 'colour'"),
        (["--set", "vcpus"], "'vcpus' is not key=value"),
        (["--set", "os=windows"], "os must be one of linux-buildroot, linux-custom, not 'windows'"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = new_guest(tmp_path, "vm1", "--no-input", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "vm1").mkdir()
    (tmp_path / "vm1" / "mine.txt").write_text("keep", encoding="utf-8")
    result = new_guest(tmp_path, "vm1", "--no-input")
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert [p.name for p in (tmp_path / "vm1").iterdir()] == ["mine.txt"]


# ---------------------------------------------------------------- answers reach the files


def test_interactive_answers_with_platform_defaults(tmp_path: Path) -> None:
    # name, arch, platform, os, vcpus, ram (default kept), console (kept), passthrough
    stdin = "\n".join(["web", "aarch64", "tx2", "", "1", "", "", "/serial@3100000", ""])
    result = new_guest(tmp_path, stdin=stdin)
    assert result.exit_code == 0, result.output
    assert "Guest RAM (e.g. 256MiB) [128MiB]:" in result.output
    assert "Console (a DTB path or alias on ARM, a tty on x86, or 'virtio') [/serial@3100000]:" in (
        result.output
    )
    guest = yaml_file(tmp_path / "web" / "guest.yaml")
    assert guest["vcpus"] == 1 and guest["ram"]["size"] == "128MiB"
    assert guest["passthrough"] == {"devices": ["/serial@3100000"]}


def prompts(output: str, prompt: str) -> int:
    return output.count(prompt)


NAME_PROMPT = "Guest name (a C identifier) [guest]: "
RAM_PROMPT = "Guest RAM (e.g. 256MiB) [512MiB]: "


def test_a_bad_answer_is_refused_at_its_prompt_with_validates_message(tmp_path: Path) -> None:
    # name (refused, then given), arch, platform, os, vcpus, ram (refused, then given), ...
    stdin = "\n".join(["9lives", "web", "", "", "", "3", "4GiB", "256MiB", "", "", ""])
    result = new_guest(tmp_path, stdin=stdin)
    assert result.exit_code == 0, result.output
    errors = [ln for ln in result.output.splitlines() if "error[" in ln]
    assert errors == [
        "Error: error[E107]: vms[0].name: '9lives' is not a C identifier "
        "(letters, digits and '_', not starting with a digit, at most 64 characters)",
        "Error: error[E223]: the guest RAM of the first 1 VMs is 4096 MiB, more "
        "than the 2048 MiB of memory qemu-arm-virt has",
        "error[E207]: web RAM 0x40000000-0x140000000 is not inside the memory of qemu-arm-virt "
        "(0x40000000-0xc0000000)",
    ]
    # only the refused questions were asked again; every other answer was kept
    assert (prompts(result.output, NAME_PROMPT), prompts(result.output, "VCPUs [2]: ")) == (2, 1)
    assert prompts(result.output, RAM_PROMPT) == 2
    guest = yaml_file(tmp_path / "web" / "guest.yaml")
    assert (guest["name"], guest["vcpus"], guest["ram"]["size"]) == ("web", 3, "256MiB")


def test_a_platform_of_another_architecture_is_refused_with_the_rules_message(
    tmp_path: Path,
) -> None:
    stdin = "\n".join(["vm1", "ia32", "tx2", "pc99", "", "", "", "", "", ""])
    result = new_guest(tmp_path, stdin=stdin)
    assert result.exit_code == 0, result.output
    assert (
        "Platform (pc99) [pc99]: tx2\nError: error[E205]: platform tx2 is arm, but arch is x86"
        in (result.output)
    )
    assert yaml_file(tmp_path / "vm1" / "system.yaml")["sel4_arch"] == "ia32"


def test_a_bad_set_answer_is_asked_again_alone(tmp_path: Path) -> None:
    stdin = "\n".join(["", "", "", "", "", "128MiB", ""])  # arch, platform, os, console, ...
    result = new_guest(tmp_path, "vm1", "--set", "ram=4GiB", "--set", "vcpus=1", stdin=stdin)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "error[E223]: the guest RAM of the first 1 VMs is 4096 MiB, more than the 2048 MiB "
        "of memory qemu-arm-virt has"
    )
    assert "VCPUs" not in result.output and prompts(result.output, RAM_PROMPT) == 1
    guest = yaml_file(tmp_path / "vm1" / "guest.yaml")
    assert (guest["vcpus"], guest["ram"]["size"]) == (1, "128MiB")


def test_the_guest_os_answer_is_checked_at_its_prompt(tmp_path: Path) -> None:
    stdin = "\n".join(["vm1", "", "", "windows", "linux-custom", "", "", "", "", ""])
    result = new_guest(tmp_path, stdin=stdin)
    assert result.exit_code == 0, result.output
    assert "Error: os must be one of linux-buildroot, linux-custom, not 'windows'" in result.output
    assert yaml_file(tmp_path / "vm1" / "guest.yaml")["kernel"]["image"] == "images/linux"


def test_each_question_has_its_own_answer_type() -> None:
    from sel4vmgen.commands.answers import answer_for

    filled = {
        ("vms", 0, "name"): "name",
        ("sel4_arch",): "arch",
        ("platform",): "platform",
        ("vms", 0, "kernel", "image"): "os",
        ("num_nodes",): "vcpus",
        ("vms", 0, "initrd", "address"): "ram",
        ("vms", 0, "initrd", "image"): "os",
        ("vms", 0, "stdout"): "console",
        ("vms", 0, "passthrough", "devices", 0): "passthrough",
    }
    assert {p: answer_for(p) for p in filled} == filled
    assert set(filled.values()) == {q.key for q in scaffold.questions()}
    assert answer_for(("simulation", "seed")) is None


def test_text_with_yaml_and_template_syntax_arrives_unchanged(tmp_path: Path) -> None:
    cmdline = "root=/dev/ram0 a: b # not a comment 'quoted' {{ 7*7 }} {% raw %}"
    result = new_guest(tmp_path, "vm1", "--no-input", "--set", f"cmdline={cmdline}")
    assert result.exit_code == 0, result.output
    checked = check_file(tmp_path / "vm1" / "system.yaml")
    assert checked.loaded is not None
    assert checked.loaded.system.vms[0].cmdline == cmdline


def test_virtio_console_and_a_smaller_ram_layout(tmp_path: Path) -> None:
    args = ["--set", "platform=exynos5422", "--set", "console=virtio", "--set", "ram=128MiB"]
    assert new_guest(tmp_path, "vm1", "--no-input", *args).exit_code == 0
    guest = yaml_file(tmp_path / "vm1" / "guest.yaml")
    assert guest["stdout"] == "hvc0" and guest["virtio"] == {"console": True}
    assert guest["cmdline"].endswith(" console=hvc0")
    # DTB 16 MiB below the top of RAM, initrd right under it (vm_multi's placement)
    assert guest["dtb"]["address"] == 0x40000000 + 0x8000000 - 0x1000000
    assert guest["initrd"]["address"] == guest["dtb"]["address"] - 0x1900000
    assert check_file(tmp_path / "vm1" / "system.yaml").ok


def test_x86_pci_passthrough_and_custom_images(tmp_path: Path) -> None:
    args = ["--set", "platform=pc99", "--set", "passthrough=00:19.0", "--set", "os=linux-custom"]
    assert new_guest(tmp_path, "vm1", "--no-input", *args).exit_code == 0
    guest = yaml_file(tmp_path / "vm1" / "guest.yaml")
    assert guest["passthrough"] == {"pci": [{"name": "pci0", "bus": 0, "dev": 25, "fun": 0}]}
    assert guest["kernel"]["image"] == "images/bzimage"
    readme = (tmp_path / "vm1" / "README.md").read_text(encoding="utf-8")
    assert "Put your images in `images/`, or change" in readme
    assert "- include: vm1/guest.yaml" in readme


def test_questions_are_the_templates_public_keys_in_order() -> None:
    assert [q.key for q in scaffold.questions()] == [
        "name", "arch", "platform", "os", "vcpus", "ram", "console", "passthrough"
    ]  # fmt: skip


@pytest.mark.skipif(shutil.which("dtc") is None, reason="dtc is not installed")
def test_overlay_compiles_and_carries_the_command_line(tmp_path: Path) -> None:
    import fdt

    assert new_guest(tmp_path, "vm1", "--no-input", "--set", "platform=tx1").exit_code == 0
    folder = tmp_path / "vm1"
    dtbo = tmp_path / "overlay.dtbo"
    done = subprocess.run(
        ["dtc", "-@", "-I", "dts", "-O", "dtb", "-o", str(dtbo), str(folder / "overlay.dts")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    tree = fdt.parse_dtb(dtbo.read_bytes())
    guest = yaml_file(folder / "guest.yaml")
    chosen = "/fragment@0/__overlay__"
    assert tree.get_property("bootargs", chosen).value == guest["cmdline"]
    assert tree.get_property("stdout-path", chosen).value == guest["stdout"]
    assert tree.get_property("target-path", "/fragment@0").value == "/chosen"
    assert re.match(r"^console=ttyS0", guest["cmdline"])


def test_an_output_folder_that_cannot_be_made_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("", encoding="utf-8")
    result = new_guest(tmp_path / "afile" / "sub", "vm1", "--no-input")
    assert result.exit_code == 2
    assert "cannot write" in result.output and "Not a directory" in result.output


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40))
def test_any_answer_text_reads_back_from_the_yaml_written(text: str) -> None:
    from sel4vmgen.source import parse_yaml

    assert parse_yaml(f"k: {scaffold.yaml_text(text)}\n", "t.yaml")["k"] == text


def test_numbers_stay_numbers_and_look_alikes_stay_text() -> None:
    assert [scaffold.yaml_scalar(v) for v in ("2", "0x1000", "512MiB")] == ["2", "0x1000", "512MiB"]
    assert [scaffold.yaml_text(v) for v in ("2", "1.5", "true", "null", "@x", "a: b")] == [
        '"2"', '"1.5"', '"true"', '"null"', '"@x"', '"a: b"'
    ]  # fmt: skip
    assert scaffold.yaml_text("${CAMKES_VM_IMAGES_DIR}/tx2/linux") == (
        "${CAMKES_VM_IMAGES_DIR}/tx2/linux"
    )


def test_an_answer_that_is_not_text_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(scaffold.ScaffoldError, match="the answer to 'cmdline' is not valid UTF-8"):
        scaffold.scaffold({"name": "vm1", "cmdline": "bad \udcff byte"}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_schema_answer_replaces_the_system_schema_written(tmp_path: Path) -> None:
    url = "https://example.org/system.schema.json"
    assert new_guest(tmp_path, "vm1", "--no-input", "--set", f"schema={url}").exit_code == 0
    folder = tmp_path / "vm1"
    assert first_line(folder / "system.yaml") == f"# yaml-language-server: $schema={url}"
    assert not (folder / "system.schema.json").exists()
    assert (folder / "guest.schema.json").is_file()
