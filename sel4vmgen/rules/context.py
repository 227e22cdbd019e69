"""What every rule is given: the system, where each part of it was written, one platform.

A `Ctx` is built once per platform the system names.  `vms` holds each VM as
it is on that platform (`Vm.on`), and `at` / `key_at` find the position of a
VM field, pointing into the `per_platform` patch when the patch set it.  The
formatting helpers keep messages uniform: ranges as `0x40000000-0x50000000`
(end exclusive) and the other place as `(line N)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sel4vmgen.diagnostics import Diagnostic, Severity, Span
from sel4vmgen.model.system import CrossVm, System, VirtioNet, Vm
from sel4vmgen.platforms.model import Platform
from sel4vmgen.safeio import is_regular
from sel4vmgen.source import Document, PathKey


@dataclass(frozen=True)
class Ctx:
    """One system seen on one platform (or on none, for platform-free rules)."""

    system: System
    doc: Document
    base_dir: Path
    plat_name: str
    platform: Platform | None
    vms: tuple[Vm, ...] = field(default=())

    @staticmethod
    def build(
        system: System, doc: Document, base_dir: Path, name: str, platform: Platform | None
    ) -> Ctx:
        """The system on platform `name` (`platform` is None when it is not known)."""
        vms = tuple(vm.on(name) for vm in system.vms)
        return Ctx(system, doc, base_dir, name, platform, vms)

    @property
    def arch(self) -> str:
        return self.platform.arch if self.platform else self.system.arch

    def vm_path(self, i: int, *path: str | int) -> PathKey:
        """The document path of VM `i`'s field: inside its patch when the patch sets it."""
        vm = self.system.vms[i]
        plat = self.plat_name
        patch = vm.per_platform.get(plat) if plat else None
        if patch is not None and path and path[0] in patch.model_fields_set:
            return ("vms", i, "per_platform", plat, *path)
        return ("vms", i, *path)

    def at(self, i: int, *path: str | int) -> Span:
        """Where VM `i`'s field value was written (or its nearest written ancestor)."""
        return self.doc.span(self.vm_path(i, *path))

    def key_at(self, i: int, *path: str | int) -> Span:
        """Where VM `i`'s field key was written."""
        return self.doc.key_span(self.vm_path(i, *path))

    def span(self, *path: str | int) -> Span:
        return self.doc.span(tuple(path))

    def key_span(self, *path: str | int) -> Span:
        return self.doc.key_span(tuple(path))

    def vm_indices(self) -> Iterator[tuple[int, Vm]]:
        return iter(enumerate(self.vms))

    @cached_property
    def virtio_linked(self) -> frozenset[str]:
        """Names at either end of a virtio_net connection."""
        return frozenset(
            n for c in self.system.connections if isinstance(c, VirtioNet) for n in c.between
        )

    @cached_property
    def cross_vm_vms(self) -> frozenset[str]:
        """VMs named by a cross_vm connection."""
        return frozenset(c.vm for c in self.system.connections if isinstance(c, CrossVm))


def hexr(start: int, size: int) -> str:
    """`0xSTART-0xEND`, end exclusive."""
    return f"0x{start:x}-0x{start + size:x}"


def line_of(span: Span, here: Span | None = None) -> str:
    """Where the other place is, for a message about `here`: its line, with its file when
    that is another file (a VM from an `include:`)."""
    if here is not None and here.file != span.file:
        return f"({span.file}:{span.line})"
    return f"(line {span.line})"


def error(
    code: str, message: str, span: Span, related: Span | None = None, hint: str | None = None
) -> Diagnostic:
    return Diagnostic(code, message, span, hint=hint, related=(related,) if related else ())


def warning(
    code: str, message: str, span: Span, related: Span | None = None, hint: str | None = None
) -> Diagnostic:
    return Diagnostic(
        code,
        message,
        span,
        severity=Severity.WARNING,
        hint=hint,
        related=(related,) if related else (),
    )


Rule = Callable[[Ctx], list[Diagnostic]]


def image_file(base: Path, image: str) -> Path | None:
    """The image as a file on this machine, when it is there (checkout variables are not)."""
    if image.startswith("$"):
        return None
    p = Path(image)
    p = p if p.is_absolute() else base / p
    return p if is_regular(p) else None
