"""Programs built for the guests: the plan's `guest_builds` as the records both CAmkES
backends print.

Each build is one ExternalProject of the app, written as the camkes-vm-examples apps write
theirs (x86: zmq_samples/CMakeLists.txt:67-116, SOURCE_DIR and the 32-bit Linux toolchain,
installed into a sysroot; ARM: vm_introspect/CMakeLists.txt:61-83, URL file:// and the
app's C compiler, taken from its binary folder); the templates only lay the words out.
A project folder the user wrote is copied into the app under guest_programs/<name>
(`sel4vmgen.app.sources`), so the app builds wherever it is moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from sel4vmgen.plan.model import GuestBuild, Plan, RootfsOverlay
from sel4vmgen.render.env import RenderError, cmake_quote

# A CMake argument that needs no quotes: plain path characters after an optional ${VAR}
# (itself after an optional file:/// of a URL).
_BARE = re.compile(r"^(file:///)?(\$\{[A-Za-z_][A-Za-z0-9_]*\})?[A-Za-z0-9_./+:=-]*$")
_TARGET = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class BuildView:
    """One guest build, every word a CMake argument ready to print."""

    name: str  # the ExternalProject target
    source: str  # the project's folder as the build finds it (x86: SOURCE_DIR)
    url: str  # the same folder as a file:// URL (ARM: URL)
    binary_dir: str  # ${CMAKE_CURRENT_BINARY_DIR}/<name>
    depends: tuple[str, ...]
    args: tuple[str, ...]  # the user's -D arguments
    installs: tuple[str, ...]  # program file names
    folder: str  # the rootfs folder, quoted


def copied_folder(build: GuestBuild) -> str:
    """The app-relative folder a user's project folder is copied to."""
    return f"guest_programs/{build.name}"


def is_copied(build: GuestBuild) -> bool:
    """Whether the project folder is the user's (copied) rather than a checkout path."""
    return not build.source.startswith("${") and not PurePosixPath(build.source).is_absolute()


def _word(text: str) -> str:
    return text if _BARE.match(text) else cmake_quote(text, variables=True)


def _target(name: str) -> str:
    if not _TARGET.match(name):
        raise RenderError(f"guest build name {name!r} is not a CMake target name")
    return name


def build_view(build: GuestBuild) -> BuildView:
    """A guest build's words: its folder (copied, or the checkout path as written)."""
    where = build.source
    if is_copied(build):
        where = "${CMAKE_CURRENT_SOURCE_DIR}/" + copied_folder(build)
    name = _target(build.name)
    return BuildView(
        name=name,
        source=_word(where),
        url=_word("file:///" + where),
        binary_dir="${CMAKE_CURRENT_BINARY_DIR}/" + name,
        depends=tuple(_target(d) for d in build.depends),
        args=tuple(_word(a) for a in build.cmake_args),
        installs=tuple(_word(i) for i in build.installs),
        folder=cmake_quote(build.folder),
    )


def build_views(plan: Plan) -> tuple[BuildView, ...]:
    """Every guest build of the plan, in build order."""
    return tuple(build_view(b) for b in plan.guest_builds)


def overlay_builds(plan: Plan, overlay: RootfsOverlay) -> tuple[BuildView, ...]:
    """The builds whose programs `overlay` gets, in the order its initrd lists them."""
    by_name = {b.name: b for b in plan.guest_builds}
    missing = [n for n in overlay.builds if n not in by_name]
    if missing:
        raise RenderError(f"rootfs overlay {overlay.target} names unplanned builds {missing}")
    return tuple(build_view(by_name[n]) for n in overlay.builds if by_name[n].installs)
