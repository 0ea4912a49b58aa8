"""What the cleaning of an executed notebook's HTML keeps (what nbconvert draws: cells, tables,
plots as data: images, links) and what it takes out (anything that runs or loads)."""

from __future__ import annotations

from runs.notebooks import sanitize

PLOT = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def test_a_plot_a_table_a_style_and_a_link_are_kept():
    html = (
        '<style>.jp-Cell { margin: 0 }</style><div class="jp-Cell">'
        f'<img src="{PLOT}" alt="a plot"><table><tr><th colspan="2">churn</th></tr></table>'
        '<a href="https://example.org/doc">doc</a></div>'
    )
    cleaned = sanitize(html)
    assert f'src="{PLOT}"' in cleaned
    assert '<th colspan="2">churn</th>' in cleaned
    assert ".jp-Cell { margin: 0 }" in cleaned
    assert 'href="https://example.org/doc"' in cleaned and 'rel="noopener noreferrer"' in cleaned


def test_scripts_handlers_frames_forms_and_other_schemes_are_taken_out():
    html = (
        "<script>alert(1)</script>"
        '<img src="x" onerror="alert(2)">'
        '<a href="javascript:alert(3)">x</a>'
        '<iframe src="https://example.org"></iframe>'
        '<form action="https://example.org"><input name="q"></form>'
        '<svg onload="alert(4)"></svg>'
        '<div style="background:url(https://example.org/t.png)" onclick="alert(5)">text</div>'
    )
    cleaned = sanitize(html)
    for gone in (
        "<script",
        "alert(",
        "onerror",
        "javascript:",
        "<iframe",
        "<form",
        "<input",
        "onload",
        "onclick",
        "style=",
    ):
        assert gone not in cleaned, (gone, cleaned)
    assert "text" in cleaned
