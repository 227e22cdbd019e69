"""New guests: answers -> a checked guest folder, through the cookiecutter template.

`questions()` lists what `sel4vmgen new-guest` asks, in order, with prompts
and choices read from `templates/new-guest/cookiecutter.json`.  `defaults()`
gives each question's default once the earlier answers are known: the
platform database decides guest RAM, layout, console and command line.
`scaffold()` turns the answers into the template's context (every value
already formatted as a YAML scalar, so the template only places text), runs
cookiecutter into a temporary folder, checks the result with the same
`app.check.check_file` that `validate` uses, and only when it is clean moves
the folder into place.  On errors nothing is written.  The files' `$schema`
lines name an enclosing checkout's schemas/, else the two schemas written
into the folder, so that editors find them offline.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cookiecutter.exceptions import CookiecutterException

from sel4vmgen.app.check import check_file
from sel4vmgen.diagnostics import Diagnostic, Span, has_errors
from sel4vmgen.platforms import Platform, UnknownPlatform, load, names
from sel4vmgen.units import GIB, KIB, MIB

SEL4_ARCHS = ("aarch64", "aarch32", "x86_64", "ia32")
OS_KINDS = ("linux-buildroot", "linux-custom")
EXTRA_KEYS = ("cmdline", "system", "schema")  # settable with --set, never asked

# Guest images camkes-vm-examples' apps/Arm/vm_minimal/CMakeLists.txt adds to the file
# server, per KernelARMPlatform, from the camkes-vm-images checkout: (folder, initrd file).
_BUILDROOT_IMAGES = {
    "qemu-arm-virt": ("qemu-arm-virt", "rootfs.cpio.gz"),
    "tx2": ("tx2", "rootfs.cpio.gz"),
    "tx1": ("tx1", "rootfs.cpio.gz"),
    "exynos5422": ("exynos5422", "rootfs.cpio.gz"),
    "odroidc2": ("odroidc2", "rootfs.cpio.gz"),
    "zcu102": ("zynqmp/2022_1", "rootfs-minimal.cpio.gz"),  # VmZynqmpPetalinuxVersion 2022_1
}
# The platform options those images need chosen (the platform data's `required_options`).
_IMAGE_OPTIONS = {"zcu102": '{VmZynqmpPetalinuxVersion: "2022_1"}'}
# tk1 has no camkes-vm-images folder: vm_minimal loads linux/linux-tk1-initrd of
# camkes-vm-examples (CAMKES_ARM_LINUX_DIR), a kernel with its root file system built in.
_TK1_KERNEL = "linux-tk1-initrd"
# The x86 apps take camkes-vm-linux's prebuilt buildroot guest
# (GetArchDefaultLinuxKernelFile / GetArchDefaultLinuxRootfsFile in its vm-linux-helpers.cmake,
# as apps/x86/optiplex9020 does), one folder per guest word size.
_X86_IMAGES = (
    "${CAMKES_VM_LINUX_DIR}/images/kernel/BITS/default_bzimage_4.8.16",
    "${CAMKES_VM_LINUX_DIR}/images/rootfs/BITS/default_buildroot_rootfs-bare.cpio",
)
# The x86 minimal app's guest command line (camkes-vm-examples apps/x86/minimal), used when
# the platform data gives none.
_X86_CMDLINE = (
    "earlyprintk=ttyS0,115200 console=ttyS0,115200 i8042.nokbd=y i8042.nomux=y "
    "i8042.noaux=y io_delay=udelay noisapnp pci=nomsi debug root=/dev/mem"
)
_VIRTIO_CONSOLE = "virtio"


class ScaffoldError(Exception):
    """A usage problem (unknown --set key, folder exists): exit code 2."""


@dataclass(frozen=True)
class Question:
    """One thing `new-guest` asks."""

    key: str
    prompt: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    """What `scaffold` did: the folder written (None when refused) and the diagnostics."""

    folder: Path | None
    diagnostics: tuple[Diagnostic, ...]
    rendered: str = ""  # the diagnostics as text, with the folder's final paths
    files: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.folder is not None


# ---------------------------------------------------------------- the template


def template_dir() -> Path:
    """templates/new-guest: inside the installed package, or at the top of a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "templates" / "new-guest"
    if packaged.is_dir():
        return packaged
    return here.parent / "templates" / "new-guest"


def _template_context() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (template_dir() / "cookiecutter.json").read_text(encoding="utf-8")
    )
    return data


def questions() -> tuple[Question, ...]:
    """The public keys of cookiecutter.json, in order, with their prompts and choices."""
    ctx = _template_context()
    prompts = ctx.get("__prompts__", {})
    out = []
    for key, value in ctx.items():
        if key.startswith("_"):
            continue
        choices = tuple(str(v) for v in value) if isinstance(value, list) else ()
        out.append(Question(key, str(prompts.get(key, key)), choices))
    return tuple(out)


def known_keys() -> tuple[str, ...]:
    return tuple(q.key for q in questions()) + EXTRA_KEYS


# ---------------------------------------------------------------- defaults


def platform_of(answers: Mapping[str, str]) -> Platform | None:
    """The answered platform's facts, or None when it is not known (validate will say so)."""
    name = answers.get("platform")
    if not name:
        return None
    try:
        return load(name)
    except (UnknownPlatform, ValueError, OSError):
        return None


def _platforms_for(sel4_arch: str | None) -> list[str]:
    found = []
    for n in names():
        try:
            p = load(n)
        except (ValueError, OSError):
            continue
        if sel4_arch is None or sel4_arch in p.sel4_archs:
            found.append(n)
    return found


def _default_platform(sel4_arch: str | None) -> str:
    preferred = "pc99" if sel4_arch in ("x86_64", "ia32") else "qemu-arm-virt"
    found = _platforms_for(sel4_arch)
    return preferred if preferred in found or not found else found[0]


def _default_arch(plat: Platform | None) -> str:
    if plat is None:
        return "aarch64"
    archs = [a for a in plat.sel4_archs if a in SEL4_ARCHS]
    return archs[0] if archs else plat.sel4_archs[0]


def _console_default(plat: Platform | None) -> str:
    if plat is None or plat.arch == "x86":
        return "ttyS0"
    # The platform's vm_minimal `linux_stdout`, even when empty (odroidc2: the guest DTB's
    # /chosen names the console).
    return plat.guest.stdout if plat.guest is not None else plat.serial.path


def default(key: str, answers: Mapping[str, str]) -> str:
    """The default answer to `key` given the answers so far."""
    plat = platform_of(answers)
    guest = plat.guest if plat is not None else None
    if key == "name":
        return "guest"
    if key == "arch":
        return _default_arch(plat)
    if key == "platform":
        return _default_platform(answers.get("arch"))
    if key == "os":
        return OS_KINDS[0]
    if key == "vcpus":
        return str(guest.vcpus if guest is not None else 1)
    if key == "ram":
        return size_text(guest.ram_size if guest is not None else 128 * MIB)
    if key == "console":
        return _console_default(plat)
    if key == "passthrough":
        return ",".join(guest.dtb_nodes) if guest is not None and plat else ""
    return ""


def choices(key: str, answers: Mapping[str, str]) -> tuple[str, ...]:
    """The allowed answers, when the question has a fixed set."""
    if key == "arch":
        return SEL4_ARCHS
    if key == "platform":
        return tuple(_platforms_for(answers.get("arch"))) or names()
    for q in questions():
        if q.key == key:
            return q.choices
    return ()


def answer_problem(key: str, value: str) -> str | None:
    """What is wrong with an answer that fills no field of the system file (the guest OS
    picks the images), else None; every other answer is checked by validating the result."""
    if key == "os" and value not in OS_KINDS:
        return f"os must be one of {', '.join(OS_KINDS)}, not '{value}'"
    return None


def size_text(n: int) -> str:
    """Bytes as the shortest exact unit: 512MiB, 1GiB, 0x1800."""
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n % scale == 0:
            return f"{n // scale}{unit}"
    return hex(n)


def complete(given: Mapping[str, str]) -> dict[str, str]:
    """Every question answered: the given answers, then defaults in question order."""
    answers = dict(given)
    if "platform" in answers and "arch" not in answers:
        answers["arch"] = default("arch", answers)
    for q in questions():
        if q.key not in answers:
            answers[q.key] = default(q.key, answers)
    return answers


# ---------------------------------------------------------------- formatting answers


_PLAIN_RE = re.compile(r"^[A-Za-z0-9_./$][A-Za-z0-9_./@+,:=${}-]*$")
_NUMBER_RE = re.compile(r"^(0[xX][0-9a-fA-F]+|[0-9]+)$")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FOLDER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_BDF_RE = re.compile(r"^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$")


def _reads_back(plain: str) -> bool:
    """Whether `plain`, written unquoted as a mapping value, is read as that same text."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(f"k: {plain}\n")
    except (YAMLError, ValueError):
        return False
    return isinstance(data, dict) and data.get("k") == plain


def yaml_text(value: str) -> str:
    """`value` as a YAML scalar that reads back as the same text: plain when that is
    unambiguous (no number, boolean or null look-alike), else double-quoted."""
    if _PLAIN_RE.match(value) and _reads_back(value):
        return value
    return yaml_quote(value)


_BREAKS = frozenset([0x85, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF])


def yaml_quote(value: str) -> str:
    """A YAML double-quoted scalar: backslash and quote escaped, and every control, line
    or paragraph separator written as an escape so that no folding can change it."""
    out = []
    for ch in value:
        o = ord(ch)
        if ch in '\\"':
            out.append("\\" + ch)
        elif o < 0x20 or 0x7F <= o <= 0x9F or o in _BREAKS:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def yaml_scalar(value: str) -> str:
    """A number as written (2, 0x1000); anything else as text."""
    return value if _NUMBER_RE.match(value) else yaml_text(value)


def dts_string(value: str) -> str:
    """A DTS string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def jinja_literal(value: str) -> str:
    """Text that cookiecutter's Jinja pass renders back to exactly `value`."""
    return value.replace("{", '{{ "{" }}')


def split_list(text: str) -> list[str]:
    """A comma- or space-separated answer as its items."""
    return [item for item in re.split(r"[,\s]+", text.strip()) if item]


# ---------------------------------------------------------------- the guest's layout


@dataclass(frozen=True)
class Layout:
    """Guest-physical placement of RAM, DTB and initrd (ARM); sizes only on x86."""

    ram_size: int | None
    ram_base: int | None = None
    ram_paddr: int | None = None
    dtb: int | None = None
    initrd: int | None = None


def _parse_size(text: str) -> int | None:
    from pydantic_core import PydanticCustomError

    from sel4vmgen.model.types import parse_size

    try:
        return parse_size(text)
    except PydanticCustomError:
        return None


def layout(plat: Platform | None, ram: str) -> Layout:
    """Where the images go: where `resolve` would put them in the RAM asked for
    (`plan.arm.boot_addresses`), written into the guest so that the reader sees them."""
    size = _parse_size(ram)
    if plat is None or plat.arch != "arm" or plat.guest is None or size is None:
        return Layout(size)
    from sel4vmgen.plan.arm import boot_addresses

    g = plat.guest
    dtb, initrd, _ = boot_addresses(g.ram_base, size, g)
    return Layout(size, g.ram_base, g.ram_paddr, dtb, initrd)


# ---------------------------------------------------------------- the template's context


def _arch_of(sel4_arch: str, plat: Platform | None) -> str:
    if sel4_arch in ("x86_64", "ia32"):
        return "x86"
    if sel4_arch in ("aarch64", "aarch32"):
        return "arm"
    return plat.arch if plat is not None else "arm"


def _images(arch: str, platform: str, os_kind: str, sel4_arch: str) -> dict[str, str]:
    if os_kind == "linux-custom":
        kernel, initrd = ("bzimage", "rootfs.cpio") if arch == "x86" else ("linux", "initrd")
        return {
            "kernel_image": f"images/{kernel}",
            "initrd_image": f"images/{initrd}",
            "images_dir": "images/",
            "images_note": "",
        }
    if arch == "x86":
        bits = "64" if sel4_arch == "x86_64" else "32"
        return {
            "kernel_image": _X86_IMAGES[0].replace("BITS", bits),
            "initrd_image": _X86_IMAGES[1].replace("BITS", bits),
            "images_dir": "${CAMKES_VM_LINUX_DIR}/images/",
            "images_note": "A camkes-vm-linux checkout already holds prebuilt buildroot "
            "images there.",
        }
    if platform == "tk1":
        return {
            "kernel_image": f"images/{_TK1_KERNEL}",
            "initrd_image": "",
            "images_dir": "images/",
            "images_note": f"Copy `linux/{_TK1_KERNEL}` of camkes-vm-examples there: "
            "the kernel carries its root file system, so there is no separate initrd.",
        }
    folder, rootfs = _BUILDROOT_IMAGES.get(platform, (platform, "rootfs.cpio.gz"))
    base = "${CAMKES_VM_IMAGES_DIR}/" + folder
    return {
        "kernel_image": f"{base}/linux",
        "initrd_image": f"{base}/{rootfs}",
        "images_dir": base + "/",
        "images_note": "A camkes-vm-images checkout already holds prebuilt buildroot images there.",
    }


def _console(arch: str, answers: Mapping[str, str], plat: Platform | None) -> tuple[str, str, bool]:
    """(cmdline, stdout, virtio console) for the console answered."""
    console = answers["console"].strip()
    virtio = console == _VIRTIO_CONSOLE
    guest = plat.guest if plat is not None else None
    if arch == "x86":
        base = guest.cmdline if guest is not None and guest.cmdline else _X86_CMDLINE
        tty = "hvc0" if virtio else console
        cmdline = base.replace("ttyS0", tty) if "ttyS0" in base else f"{base} console={tty}"
        return answers.get("cmdline", cmdline), "", virtio
    base = guest.cmdline if guest is not None else ""
    if virtio:
        base = f"{base} console=hvc0".strip()
    return answers.get("cmdline", base), "hvc0" if virtio else console, virtio


def _passthrough(arch: str, text: str) -> tuple[list[str], list[dict[str, str]]]:
    devices: list[str] = []
    pci: list[dict[str, str]] = []
    for item in split_list(text):
        m = _BDF_RE.match(item) if arch == "x86" else None
        if m is None:
            devices.append(yaml_text(item))
            continue
        pci.append(
            {
                "name": f"pci{len(pci)}",
                "bus": str(int(m.group(1), 16)),
                "dev": str(int(m.group(2), 16)),
                "fun": m.group(3),
            }
        )
    return devices, pci


def _num_nodes(plat: Platform | None, vcpus: str) -> str:
    """As many cores as VCPUs where the platform's apps allow SMP; else one."""
    if plat is None or not plat.smp or not vcpus.isdigit():
        return "1"
    return str(max(1, min(int(vcpus), plat.cores)))


def _hex(n: int | None) -> str:
    return "" if n is None else f"0x{n:X}"


def schema_ref(folder: Path, file_name: str) -> str | None:
    """The `$schema` for a file in `folder`: schemas/FILE_NAME of an enclosing checkout (as a
    relative path) when there is one, else None (the schema is then written into `folder`)."""
    start = folder.resolve()
    for parent in start.parents:
        candidate = parent / "schemas" / file_name
        if candidate.is_file():
            return Path(os.path.relpath(candidate, start)).as_posix()
    return None


def schemas_here(folder: Path) -> tuple[str, ...]:
    """The schema files to write into the guest folder: those no enclosing checkout has, so
    that every `$schema` line resolves offline, wherever the tool is installed."""
    from sel4vmgen.jsonschema import SCHEMA_FILE, VM_SCHEMA_FILE

    return tuple(f for f in (SCHEMA_FILE, VM_SCHEMA_FILE) if schema_ref(folder, f) is None)


def folder_name(name: str) -> str:
    """The guest folder's name: the guest's name when it is a safe one."""
    return name if _FOLDER_RE.match(name) else "guest"


def context(answers: Mapping[str, str], folder: Path) -> dict[str, Any]:
    """The template's `_guest` values, each already formatted for the file it goes in."""
    from sel4vmgen.jsonschema import SCHEMA_FILE, VM_SCHEMA_FILE

    plat = platform_of(answers)
    arch = _arch_of(answers["arch"], plat)
    name = answers["name"]
    lay = layout(plat, answers["ram"])
    cmdline, stdout, virtio = _console(arch, answers, plat)
    devices, pci = _passthrough(arch, answers["passthrough"])
    images = _images(arch, answers["platform"], answers["os"], answers["arch"])
    system = answers.get("system") or (f"{name}_system" if _IDENT_RE.match(name) else "system")
    return {
        "name": yaml_text(name),
        "title": name,
        "system": yaml_text(system),
        "schema": answers.get("schema") or schema_ref(folder, SCHEMA_FILE) or SCHEMA_FILE,
        "vm_schema": schema_ref(folder, VM_SCHEMA_FILE) or VM_SCHEMA_FILE,
        "schemas_here": [
            {"file": f, "checks": "system.yaml" if f == SCHEMA_FILE else "guest.yaml"}
            for f in schemas_here(folder)
            if f != SCHEMA_FILE or not answers.get("schema")  # an answer names its own
        ],
        "arch": arch,
        "sel4_arch": yaml_text(answers["arch"]),
        "platform": yaml_text(answers["platform"]),
        "platform_text": answers["platform"],
        "os": answers["os"],
        "num_nodes": _num_nodes(plat, answers["vcpus"].strip()),
        "platform_options": _IMAGE_OPTIONS.get(answers["platform"], ""),
        "vcpus": yaml_scalar(answers["vcpus"].strip()),
        "ram_size": yaml_scalar(answers["ram"].strip()),
        "ram_base": _hex(lay.ram_base),
        "ram_paddr": _hex(lay.ram_paddr if lay.ram_paddr != lay.ram_base else None),
        "dtb_address": _hex(lay.dtb),
        "initrd_address": _hex(lay.initrd),
        "kernel_image": yaml_text(images["kernel_image"]),
        "kernel_image_text": images["kernel_image"],
        "initrd_image": yaml_text(images["initrd_image"]) if images["initrd_image"] else "",
        "initrd_image_text": images["initrd_image"],
        "images_dir": images["images_dir"],
        "images_note": images["images_note"],
        "cmdline": yaml_text(cmdline),
        "cmdline_text": cmdline,
        "bootargs": dts_string(cmdline),
        "stdout": yaml_text(stdout) if stdout else "",
        "stdout_path": dts_string(stdout),
        "virtio_console": "true" if virtio else "",
        "devices": devices,
        "pci": pci,
    }


# ---------------------------------------------------------------- running the template


def render(answers: Mapping[str, str], into: Path, final: Path) -> Path:
    """Run the cookiecutter template (no prompts) into `into`; returns the guest folder.
    Cookiecutter's replay and clone folders are kept inside `into`."""
    from cookiecutter.main import cookiecutter

    config = into / "cookiecutter-config.yaml"
    settings = {"replay_dir": str(into / "replay"), "cookiecutters_dir": str(into / "cache")}
    config.write_text(json.dumps(settings), encoding="utf-8")
    extra: dict[str, Any] = {k: jinja_literal(v) for k, v in answers.items() if k != "os"}
    extra["os"] = answers["os"]
    extra["_folder"] = final.name
    extra["_guest"] = guest = context(answers, final)
    out = cookiecutter(
        str(template_dir()),
        no_input=True,
        extra_context=extra,
        output_dir=str(into / "out"),
        config_file=str(config),
        accept_hooks=False,
    )
    unused = "cmdline.txt" if guest["arch"] == "arm" else "overlay.dts"
    (Path(out) / unused).unlink(missing_ok=True)
    _write_schemas(Path(out), [entry["file"] for entry in guest["schemas_here"]])
    return Path(out)


def _write_schemas(folder: Path, files: list[str]) -> None:
    from sel4vmgen.jsonschema import SCHEMA_FILE, schema_text, vm_schema_text

    for name in files:
        text = schema_text() if name == SCHEMA_FILE else vm_schema_text()
        (folder / name).write_text(text, encoding="utf-8")


def _relocate(diagnostics: tuple[Diagnostic, ...], tmp: Path, final: Path) -> dict[str, str]:
    """Each file name in the diagnostics that lies in `tmp` -> its name once in `final`."""
    from sel4vmgen.source import display_path

    renames: dict[str, str] = {}
    root = tmp.resolve()
    spans: list[Span] = []
    for d in diagnostics:
        spans += ([d.span] if d.span else []) + list(d.related)
    for s in spans:
        p = Path(s.file)
        p = (p if p.is_absolute() else Path.cwd() / p).resolve()
        if p.is_relative_to(root):
            renames[s.file] = display_path(final / p.relative_to(root))
    return renames


def _moved(d: Diagnostic, renames: Mapping[str, str]) -> Diagnostic:
    from dataclasses import replace

    def at(s: Span) -> Span:
        return replace(s, file=renames.get(s.file, s.file))

    return replace(d, span=at(d.span) if d.span else None, related=tuple(at(r) for r in d.related))


def _report(
    diagnostics: tuple[Diagnostic, ...], tmp: Path, final: Path
) -> tuple[str, tuple[Diagnostic, ...]]:
    """Diagnostics as text, with the snippets read from `tmp` but the names of `final`."""
    from sel4vmgen.diagnostics import format_text

    renames = _relocate(diagnostics, tmp, final)
    text = format_text(diagnostics)
    for old in sorted(renames, key=len, reverse=True):
        text = text.replace(f"{old}:", f"{renames[old]}:")
    return text, tuple(_moved(d, renames) for d in diagnostics)


def _move_into_place(rendered: Path, final: Path) -> None:
    """Rename the rendered folder to `final` in one step, never replacing what is there."""
    from sel4vmgen.safeio import RENAME_NOREPLACE, rename2

    if rename2(rendered, final, RENAME_NOREPLACE):
        return
    if os.path.lexists(final):
        raise FileExistsError(17, "it already exists", str(final))
    os.rename(rendered, final)


def scaffold(given: Mapping[str, str], output_dir: Path) -> Result:
    """Answers (missing ones defaulted) -> a checked guest folder in `output_dir`.

    Raises `ScaffoldError` for usage problems; returns a `Result` without a folder (and
    writes nothing) when the rendered files do not pass `validate`'s checks."""
    unknown = sorted(set(given) - set(known_keys()))
    if unknown:
        raise ScaffoldError(f"unknown key '{unknown[0]}' (known: {', '.join(known_keys())})")
    for key, value in given.items():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ScaffoldError(f"the answer to '{key}' is not valid UTF-8 text") from None
    answers = complete(given)
    problem = answer_problem("os", answers["os"])
    if problem is not None:
        raise ScaffoldError(problem)
    final = output_dir / folder_name(answers["name"])
    if os.path.lexists(final):
        raise ScaffoldError(f"{final} already exists; choose another name or -o folder")
    made = [p for p in (output_dir, *output_dir.parents) if not os.path.lexists(p)]
    try:  # rendered beside the final folder, so that it is moved there in one rename
        output_dir.mkdir(parents=True, exist_ok=True)
        staging = tempfile.TemporaryDirectory(prefix=".sel4vmgen-new-guest-", dir=output_dir)
    except OSError as e:
        raise ScaffoldError(f"cannot write {final}: {e.strerror or e}") from None
    with staging as tmp_name:
        tmp = Path(tmp_name)
        try:
            rendered = render(answers, tmp, final)
        except CookiecutterException as e:  # a broken template: a packaging problem
            raise ScaffoldError(f"the new-guest template cannot be used: {e}") from None
        checked = check_file(rendered / "system.yaml")
        text, moved = _report(checked.diagnostics, rendered, final)
        if not checked.ok or has_errors(checked.diagnostics):
            staging.cleanup()
            for folder in made:  # nothing written: not even the folders -o named
                with contextlib.suppress(OSError):
                    folder.rmdir()
            return Result(None, moved, text)
        files = tuple(sorted(p.name for p in rendered.iterdir()))
        try:
            _move_into_place(rendered, final)
        except OSError as e:
            raise ScaffoldError(f"cannot write {final}: {e.strerror or e}") from None
    return Result(final, moved, text, files)
