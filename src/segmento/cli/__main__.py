"""``python -m segmento.cli``: the same command as `segmento`."""

from segmento.cli import app

app(prog_name="segmento")
