"""Diagnostic output formats: text with a caret under the column, JSON, GitHub
workflow annotations and SARIF 2.1.0."""

from __future__ import annotations

import json
from pathlib import Path

from sel4vmgen.diagnostics import (
    Diagnostic,
    Severity,
    Span,
    format_github,
    format_json,
    format_sarif,
    format_text,
    render,
    sort_diagnostics,
    summary_line,
)


def _source(tmp_path: Path, text: str) -> str:
    path = tmp_path / "system.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_text_puts_the_caret_under_the_column(tmp_path: Path) -> None:
    f = _source(tmp_path, "name: sys\nvms:\n  - vcpu: 2\n")
    d = Diagnostic(
        "E101", "unknown key 'vcpu' in vms[0]", Span(f, 3, 5), hint="did you mean 'vcpus'?"
    )
    lines = format_text([d]).splitlines()
    assert lines[0] == f"{f}:3:5: error[E101]: unknown key 'vcpu' in vms[0]"
    assert lines[1] == "    3 |   - vcpu: 2"
    assert lines[2] == "      |     ^"
    assert lines[2].index("^") == lines[1].index("vcpu")
    assert lines[3] == "  hint: did you mean 'vcpus'?"


def test_text_caret_keeps_tabs_so_it_lines_up(tmp_path: Path) -> None:
    f = _source(tmp_path, "a:\n\tb: 1\n")
    lines = format_text([Diagnostic("E006", "tab", Span(f, 2, 2))]).splitlines()
    assert lines[1] == "    2 | \tb: 1"
    assert lines[2] == "      | \t^"


def test_text_without_readable_source_prints_only_the_headline(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.yaml")
    text = format_text([Diagnostic("E001", "file not found", Span(missing, 1, 1))])
    assert text == f"{missing}:1:1: error[E001]: file not found"
    assert format_text([Diagnostic("E001", "no span")]) == "error[E001]: no span"


def test_text_names_the_related_place_and_colours_on_request(tmp_path: Path) -> None:
    f = _source(tmp_path, "a: 1\na: 2\n")
    d = Diagnostic("E007", "duplicate key 'a'", Span(f, 2, 1), related=(Span(f, 1, 1),))
    plain = format_text([d]).splitlines()
    assert plain[3] == f"  {f}:1:1: note: the other place"
    coloured = format_text([d], colour=True)
    assert "\x1b[1;31merror[E007]\x1b[0m" in coloured
    assert "\x1b[" not in "\n".join(plain)


def test_json_lists_every_field() -> None:
    d = Diagnostic(
        "W201",
        "m",
        Span("a.yaml", 2, 3),
        Severity.WARNING,
        hint="h",
        related=(Span("b.yaml", 4, 5),),
    )
    assert json.loads(format_json([d])) == [
        {
            "code": "W201",
            "severity": "warning",
            "message": "m",
            "file": "a.yaml",
            "line": 2,
            "col": 3,
            "hint": "h",
            "related": [{"file": "b.yaml", "line": 4, "col": 5}],
        }
    ]
    assert json.loads(format_json([])) == []


def test_github_annotations_escape_data_and_properties() -> None:
    d = Diagnostic("E101", "50% of\nnext", Span("dir,x/a:b.yaml", 2, 5), hint="h")
    w = Diagnostic("W201", "careful", Span("a.yaml", 1, 1), Severity.WARNING)
    n = Diagnostic("E001", "gone", None, Severity.NOTE)
    assert format_github([d, w, n]).splitlines() == [
        "::error file=dir%2Cx/a%3Ab.yaml,line=2,col=5,title=E101::50%25 of%0Anext (hint: h)",
        "::warning file=a.yaml,line=1,col=1,title=W201::careful",
        "::notice title=E001::gone",
    ]


def test_sarif_has_the_2_1_0_shape() -> None:
    ds = [
        Diagnostic("E101", "unknown key", Span("sys.yaml", 3, 5), hint="did you mean 'vcpus'?"),
        Diagnostic("E007", "dup", Span("sys.yaml", 2, 1), related=(Span("sys.yaml", 1, 1),)),
        Diagnostic("E101", "again", Span("sys.yaml", 9, 5), Severity.WARNING),
        Diagnostic("E001", "no place"),
    ]
    log = json.loads(format_sarif(ds, "9.9"))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("sel4vmgen", "9.9")
    assert [r["id"] for r in driver["rules"]] == ["E001", "E007", "E101"]
    assert driver["rules"][2]["shortDescription"] == {"text": "unknown key"}
    first = run["results"][0]
    assert first["ruleId"] == "E101"
    assert first["level"] == "error"
    assert first["message"] == {"text": "unknown key (hint: did you mean 'vcpus'?)"}
    (loc,) = first["locations"]
    assert loc["physicalLocation"] == {
        "artifactLocation": {"uri": "sys.yaml"},
        "region": {"startLine": 3, "startColumn": 5},
    }
    assert run["results"][1]["relatedLocations"][0]["physicalLocation"]["region"] == {
        "startLine": 1,
        "startColumn": 1,
    }
    assert [r["level"] for r in run["results"]] == ["error", "error", "warning", "error"]
    assert "locations" not in run["results"][3]
    for r in run["results"]:
        assert {"ruleId", "level", "message"} <= set(r)


def test_render_dispatches_on_the_format_name(tmp_path: Path) -> None:
    ds = [Diagnostic("E101", "m", Span("a.yaml", 1, 1))]
    assert render(ds, "json", "1") == format_json(ds)
    assert render(ds, "github", "1") == format_github(ds)
    assert render(ds, "sarif", "1") == format_sarif(ds, "1")
    assert render(ds, "text", "1") == format_text(ds)


def test_sorting_is_by_place_then_code_and_drops_repeats() -> None:
    a = Diagnostic("E102", "x", Span("a.yaml", 2, 1))
    b = Diagnostic("E101", "y", Span("a.yaml", 1, 9))
    c = Diagnostic("E101", "z", Span("a.yaml", 2, 1))
    none = Diagnostic("E001", "nowhere")
    assert sort_diagnostics([a, b, c, a, none]) == [none, b, c, a]


def test_summary_line_counts_errors_and_warnings() -> None:
    ds = [
        Diagnostic("E101", "a"),
        Diagnostic("W201", "b", severity=Severity.WARNING),
        Diagnostic("E102", "c"),
        Diagnostic("N1", "d", severity=Severity.NOTE),
    ]
    assert summary_line(ds, 3) == "3 files checked: 2 error(s), 1 warning(s)"
    assert summary_line([], 1) == "1 file checked: 0 error(s), 0 warning(s)"
