"""The schema as an editor sees it: a real yaml-language-server, driven over stdio (LSP
JSON-RPC), completes the keys of a VM and the platform names, shows a field's description
on hover, and diagnoses a typo and a badly written size.

The server is the npm package `yaml-language-server` (Node.js), installed by `.ci/run` with
npm into `.ci/node/` (or named by $SEL4VMGEN_YAML_LS).  Without it the tests skip on a
developer's machine and fail in CI ($CI set), so CI never passes without having run them.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from conftest import ROOT

from sel4vmgen.jsonschema import SCHEMA_FILE, VM_SCHEMA_FILE, schema_text, vm_schema_text
from sel4vmgen.model.system import Vm

MODULES = ROOT / ".ci" / "node" / "node_modules"
SERVER = MODULES / ".bin" / "yaml-language-server"
VERSION = "1.19.2"  # the messages pinned below are this version's
INSTALL = (
    f"npm install --no-save --no-audit --no-fund --prefix .ci/node yaml-language-server@{VERSION}"
)
TIMEOUT = 60.0


def server_command() -> list[str]:
    given = os.environ.get("SEL4VMGEN_YAML_LS")
    path = Path(given) if given else SERVER
    if path.is_file():
        if not given:
            package = MODULES / "yaml-language-server" / "package.json"
            installed = json.loads(package.read_text(encoding="utf-8"))["version"]
            assert installed == VERSION, f"{installed} installed; run `{INSTALL}`"
        return [str(path), "--stdio"]
    message = f"yaml-language-server is not installed (run `{INSTALL}`)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class Client:
    """A minimal LSP client: requests with ids, notifications, and the server's own
    requests (configuration, capability registration) answered."""

    def __init__(self, argv: list[str], settings: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.settings = settings
        self.next_id = 0
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, out: IO[bytes]) -> None:
        while True:
            length = 0
            while (line := out.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if not line:
                self.inbox.put(None)
                return
            self.inbox.put(json.loads(out.read(length)))

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self._send({"method": method, "params": params})

    def messages(self) -> Iterator[dict[str, Any]]:
        """Messages from the server, answering its requests on the way."""
        while True:
            msg = self.inbox.get(timeout=TIMEOUT)
            if msg is None:
                raise AssertionError("yaml-language-server exited")
            if "method" in msg and "id" in msg:
                result: Any = None
                if msg["method"] == "workspace/configuration":
                    items = msg["params"]["items"]
                    result = [self.settings.get(i.get("section", ""), None) for i in items]
                self._send({"id": msg["id"], "result": result})
                continue
            yield msg

    def request(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        self._send({"id": self.next_id, "method": method, "params": params})
        for msg in self.messages():
            if msg.get("id") == self.next_id:
                assert "error" not in msg, msg["error"]
                return msg.get("result")
        raise AssertionError("unreachable")

    def diagnostics(self, uri: str) -> list[dict[str, Any]]:
        for msg in self.messages():
            params = msg.get("params", {})
            if msg.get("method") == "textDocument/publishDiagnostics" and params["uri"] == uri:
                found: list[dict[str, Any]] = params["diagnostics"]
                return found
        raise AssertionError("unreachable")

    def close(self) -> None:
        try:
            self.request("shutdown", {})
            self.notify("exit", {})
            self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


SETTINGS = {"yaml": {"validate": True, "hover": True, "completion": True, "schemas": {}}}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside any checkout holding the schemas, as `new-guest` writes them."""
    where = tmp_path_factory.mktemp("editor")
    (where / SCHEMA_FILE).write_text(schema_text(), encoding="utf-8")
    (where / VM_SCHEMA_FILE).write_text(vm_schema_text(), encoding="utf-8")
    return where


@pytest.fixture(scope="module")
def client(folder: Path) -> Iterator[Client]:
    c = Client(server_command(), SETTINGS)
    c.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": folder.as_uri(),
            "capabilities": {
                "textDocument": {
                    "completion": {"completionItem": {"snippetSupport": False}},
                    "hover": {"contentFormat": ["plaintext"]},
                    "publishDiagnostics": {},
                },
                "workspace": {"configuration": True},
            },
            "workspaceFolders": [{"uri": folder.as_uri(), "name": "editor"}],
        },
    )
    c.notify("initialized", {})
    c.notify("workspace/didChangeConfiguration", {"settings": SETTINGS})
    yield c
    c.close()


_opened = 0


def open_file(client: Client, folder: Path, text: str) -> tuple[str, list[dict[str, Any]]]:
    """Open `text` as a new file in `folder`; its URI and the diagnostics published for it."""
    global _opened
    _opened += 1
    path = folder / f"file{_opened}.yaml"
    path.write_text(text, encoding="utf-8")
    uri = path.as_uri()
    doc = {"uri": uri, "languageId": "yaml", "version": 1, "text": text}
    client.notify("textDocument/didOpen", {"textDocument": doc})
    return uri, client.diagnostics(uri)


SYSTEM = f"""\
# yaml-language-server: $schema={SCHEMA_FILE}
name: demo
arch: arm
sel4_arch: aarch64
platform: qemu-arm-virt
vms:
  - name: vm0
    vcpus: 2
    kernel:
      image: linux
"""


def labels(result: Any) -> list[str]:
    items = result["items"] if isinstance(result, dict) else result
    return sorted(i["label"] for i in items)


def at(text: str, needle: str) -> dict[str, int]:
    """The LSP position just after the first `needle` in `text`."""
    before = text[: text.index(needle) + len(needle)]
    return {"line": before.count("\n"), "character": len(before.rsplit("\n", 1)[-1])}


def test_completion_inside_a_vm_offers_the_vm_keys(client: Client, folder: Path) -> None:
    text = SYSTEM + "    \n"
    uri, found = open_file(client, folder, text)
    assert found == []
    position = {"line": text.count("\n") - 1, "character": 4}
    result = client.request(
        "textDocument/completion", {"textDocument": {"uri": uri}, "position": position}
    )
    offered = labels(result)
    print("completion inside vms[0]:", ", ".join(offered))
    written = {"name", "vcpus", "kernel"}
    assert offered == sorted(set(Vm.model_fields) - written)


def test_completion_of_platform_offers_the_platform_database(client: Client, folder: Path) -> None:
    from sel4vmgen.platforms import names

    text = SYSTEM.replace("platform: qemu-arm-virt", "platform: ")
    uri, _ = open_file(client, folder, text)
    result = client.request(
        "textDocument/completion",
        {"textDocument": {"uri": uri}, "position": at(text, "platform: ")},
    )
    assert labels(result) == sorted(names())


def test_hover_shows_the_fields_description(client: Client, folder: Path) -> None:
    uri, _ = open_file(client, folder, SYSTEM)
    result = client.request(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": at(SYSTEM, "    vcp")},
    )
    contents = result["contents"]
    shown = contents["value"] if isinstance(contents, dict) else str(contents)
    print("hover on vcpus:", repr(shown))
    assert shown.startswith(
        f"{Vm.model_fields['vcpus'].description}\n\nExample:\n\n```yaml\n2\n```"
    )


def test_a_typo_is_diagnosed_at_its_key(client: Client, folder: Path) -> None:
    text = SYSTEM.replace("    vcpus: 2", "    vcpu: 2")
    _, found = open_file(client, folder, text)
    assert [(d["range"]["start"], d["message"]) for d in found] == [
        ({"line": 7, "character": 4}, "Property vcpu is not allowed.")
    ]


def test_a_size_in_megabytes_gets_the_schemas_help(client: Client, folder: Path) -> None:
    from sel4vmgen.model.types import SIZE_HELP

    text = SYSTEM + "    ram:\n      size: 512MB\n"
    _, found = open_file(client, folder, text)
    assert [(d["range"]["start"], d["message"]) for d in found] == [
        ({"line": 11, "character": 12}, SIZE_HELP)
    ]


def test_a_vm_file_is_checked_against_the_vm_schema(client: Client, folder: Path) -> None:
    text = f"# yaml-language-server: $schema={VM_SCHEMA_FILE}\nname: web\nvcpu: 1\n"
    _, found = open_file(client, folder, text)
    assert [(d["range"]["start"], d["message"]) for d in found] == [
        ({"line": 2, "character": 0}, "Property vcpu is not allowed.")
    ]


def test_ci_installs_the_pinned_server() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert INSTALL in script


def test_a_scaffolded_guest_is_checked_by_the_editor_outside_a_checkout(
    client: Client, tmp_path: Path
) -> None:
    from conftest import run_cli

    assert run_cli("new-guest", "-o", str(tmp_path), "web", "--no-input").exit_code == 0
    for name in ("system.yaml", "guest.yaml"):
        text = (tmp_path / "web" / name).read_text(encoding="utf-8")
        assert open_file(client, tmp_path / "web", text)[1] == [], name
    guest = (tmp_path / "web" / "guest.yaml").read_text(encoding="utf-8")
    typo = guest.replace("\nvcpus:", "\nvcpu:")
    _, found = open_file(client, tmp_path / "web", typo)
    line = typo.splitlines().index("vcpu: 2")
    assert [(d["range"]["start"], d["message"]) for d in found] == [
        ({"line": line, "character": 0}, "Property vcpu is not allowed.")
    ]


def test_hover_on_a_vm_file_key_shows_its_description(client: Client, folder: Path) -> None:
    text = f"# yaml-language-server: $schema={VM_SCHEMA_FILE}\nname: web\nram:\n  size: 1GiB\n"
    uri, _ = open_file(client, folder, text)
    result = client.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": at(text, "  si")}
    )
    contents = result["contents"]
    shown = contents["value"] if isinstance(contents, dict) else str(contents)
    from sel4vmgen.model.system import Ram

    assert Ram.model_fields["size"].description in shown
    assert "Example:\n\n```yaml\n512MiB\n```" in shown
