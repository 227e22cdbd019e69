"""A small DOT writer: quoted IDs, escaped labels, statements in the order given.

`Graph` collects nodes, edges and clusters and `Graph.text()` writes them one
statement per line, so the same calls always give the same bytes.  Every ID
and attribute value is written as a quoted string (or as an HTML-like label
when it is `Html`), so no user text can break out of its statement.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

Attrs = dict[str, "str | Html"]


@dataclass(frozen=True)
class Html:
    """An HTML-like label, written between < and >; build it with `esc()`d text."""

    markup: str


def esc(text: str) -> str:
    """Text for inside an HTML-like label."""
    return html.escape(text, quote=True)


def quote(text: str) -> str:
    """A DOT quoted string holding exactly `text` (newlines become centred line breaks)."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
    return '"' + body.replace("\n", "\\n") + '"'


def _value(value: str | Html) -> str:
    if isinstance(value, Html):
        return f"<{value.markup}>"
    return quote(value)


def attr_list(attrs: Attrs) -> str:
    """` [k="v", ...]` in the order given, or nothing."""
    if not attrs:
        return ""
    return " [" + ", ".join(f"{k}={_value(v)}" for k, v in attrs.items()) + "]"


@dataclass
class Cluster:
    """A `subgraph cluster_*` with its own label and the nodes drawn inside it."""

    name: str
    attrs: Attrs = field(default_factory=dict)
    nodes: list[tuple[str, Attrs]] = field(default_factory=list)

    def node(self, node_id: str, **attrs: str | Html) -> None:
        self.nodes.append((node_id, dict(attrs)))


@dataclass
class Graph:
    """A directed graph: defaults, clusters, free nodes, then edges."""

    name: str
    attrs: Attrs = field(default_factory=dict)
    node_defaults: Attrs = field(default_factory=dict)
    edge_defaults: Attrs = field(default_factory=dict)
    clusters: list[Cluster] = field(default_factory=list)
    nodes: list[tuple[str, Attrs]] = field(default_factory=list)
    edges: list[tuple[str, str, Attrs]] = field(default_factory=list)

    def cluster(self, name: str, **attrs: str | Html) -> Cluster:
        c = Cluster(f"cluster_{name}", dict(attrs))
        self.clusters.append(c)
        return c

    def node(self, node_id: str, **attrs: str | Html) -> None:
        self.nodes.append((node_id, dict(attrs)))

    def edge(self, tail: str, head: str, **attrs: str | Html) -> None:
        self.edges.append((tail, head, dict(attrs)))

    def text(self) -> str:
        """The graph as DOT source, ending in a newline."""
        out = [f"digraph {quote(self.name)} {{"]
        for key, attrs in (
            ("graph", self.attrs),
            ("node", self.node_defaults),
            ("edge", self.edge_defaults),
        ):
            if attrs:
                out.append(f"  {key}{attr_list(attrs)};")
        for c in self.clusters:
            out.append(f"  subgraph {quote(c.name)} {{")
            if c.attrs:
                out.append(f"    graph{attr_list(c.attrs)};")
            out.extend(f"    {quote(n)}{attr_list(a)};" for n, a in c.nodes)
            out.append("  }")
        out.extend(f"  {quote(n)}{attr_list(a)};" for n, a in self.nodes)
        out.extend(f"  {quote(t)} -> {quote(h)}{attr_list(a)};" for t, h, a in self.edges)
        out.append("}")
        return "\n".join(out) + "\n"
