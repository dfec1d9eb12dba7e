"""The HTML report: `segmento report` (build_report on the workspace) writes one
self-contained file with the dashboard's charts."""

from __future__ import annotations

import json
import re

from service_support import PROJECT
from typer.testing import CliRunner

from segmento.cli import app


def figures(html: str) -> list[dict]:
    return [json.loads(text.replace("<\\/", "</"))
            for text in re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S)]


def test_segmento_report_writes_one_self_contained_file_with_every_chart(base, tmp_path) -> None:
    config = tmp_path / "segmento.yaml"
    config.write_text(PROJECT)
    out = tmp_path / "out" / "report.html"
    result = CliRunner().invoke(app, ["report", "--out", str(out), "--db", str(base.copy(tmp_path)),
                                      "--config", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output

    html = out.read_text(encoding="utf-8")
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)  # the document, without inlined code
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", markup), "the report must open without a network"
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html) and "Plotly.newPlot" in html
    assert len(html) > 4_000_000  # plotly.js is inlined
    drawn = figures(html)
    kinds = [fig["data"][0]["type"] for fig in drawn]
    # per segmentation: mix, transition heatmap, Sankey, portrait bars and heatmap; audiences (bars, overlaps), alerts
    assert (kinds.count("sankey"), kinds.count("heatmap"), len(drawn)) == (2, 5, 13)
    titles = " ".join(fig["layout"]["title"]["text"] for fig in drawn)
    for expected in ("rfm: segment mix", "value: transitions 2024-11-30 → 2024-12-31", "Audience overlaps",
                     "Trajectory alerts per period"):
        assert expected in titles
    heatmap = next(f for f in drawn if f["layout"]["title"]["text"].startswith("value: transitions"))
    assert heatmap["data"][0]["y"][0] == "(new)" and heatmap["data"][0]["x"][-1] == "(exit)"
    assert "No alert raised" not in markup and "slide" in markup  # the alerts table lists the rules' alerts
