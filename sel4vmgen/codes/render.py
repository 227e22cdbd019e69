"""Diagnostic codes of the generation stage (E4xx): rendering and writing an application."""

from __future__ import annotations

from sel4vmgen.codes import Code

CODES: tuple[Code, ...] = (
    Code(
        "E401",
        "edited files would be overwritten",
        "Files in the output folder changed since sel4vmgen wrote them (their SHA-256 no longer "
        "matches sel4vmgen-manifest.json), or were not written by sel4vmgen, and regenerating "
        "would overwrite or remove them.  Keep your changes elsewhere, or pass --force.",
        "sel4vmgen generate sys.yaml -o app   # after editing app/app.camkes",
    ),
    Code(
        "E402",
        "generated output differs",
        "`generate --check` found files in the output folder that differ from what would be "
        "generated now (changed, missing, or left over from an earlier run).",
        "sel4vmgen generate sys.yaml -o app --check",
    ),
    Code(
        "E403",
        "unsafe output path",
        "A file would be written outside the output folder: its path is absolute, contains "
        "`..`, or passes through a symlink or a file planted in the output folder.",
        "sel4vmgen generate system.yaml -o out   # out/src is a symlink to /etc",
    ),
    Code(
        "E404",
        "output folder unusable",
        "The output folder cannot be created or replaced: it is a file, a folder on its path "
        "is a file, or its parent is not writable.  Some folders are never used, whatever "
        "--force says: a file system root, your home folder, and a non-empty folder that "
        "sel4vmgen did not write (it has no sel4vmgen-manifest.json; sel4vmgen replaces the "
        "whole folder, so choose an empty or new one).  A folder sel4vmgen wrote keeps the "
        "files, symlinks and empty folders you added, but a FIFO, socket or device in it "
        "cannot be carried over, so it is refused.",
        "sel4vmgen generate sys.yaml -o ~   # or -o . in a project folder",
    ),
    Code(
        "E405",
        "value cannot be written",
        "A value of the plan cannot be written safely in the target language (for example a "
        "control character in a CAmkES string, x86 RAM that is not whole MiB), or a template "
        "failed; nothing was written.  The rules refuse such input at its line, so meeting "
        "it here means a bug in sel4vmgen.",
        "cmdline: 'console=ttyS0 \"quoted\"'   # CAmkES strings have no escapes (E240 first)",
    ),
    Code(
        "E406",
        "no backend for the architecture",
        "No renderer is registered for the plan's architecture.",
        "sel4vmgen simulate app/   # a plan.json whose arch no backend renders",
    ),
    Code(
        "E407",
        "simulation found violations",
        "`generate` runs a quick simulation of the plan before writing; it found a violation, so "
        "nothing was written.  Fix the system, or pass --no-simulate to write it anyway.",
        "sel4vmgen generate system.yaml -o out   # vm0's initrd overlaps its DTB",
    ),
    Code(
        "E408",
        "component source cannot be copied",
        "A native component's C source is copied into the generated app so the app builds "
        "wherever it is moved; the file could not be read as UTF-8 text, or two sources of one "
        "component share a file name.",
        "components:\n  - name: crossvm_init\n    type: CrossvmInit\n    sources: [missing.c]",
    ),
)
