"""Small modules with one job: none over 400 lines."""

from __future__ import annotations

from pathlib import Path

import segmento

LIMIT = 400


def test_no_module_is_over_400_lines() -> None:
    root = Path(segmento.__file__).parent
    sizes = {str(path.relative_to(root)): len(path.read_text(encoding="utf-8").splitlines())
             for path in root.rglob("*.py")}
    assert sizes, "no module found"
    assert {name: lines for name, lines in sizes.items() if lines > LIMIT} == {}
