"""Project-file errors name the file, the line and what would be valid."""

from pathlib import Path

import pytest

from segmento.config import ConfigError, load_project, parse_project


def test_valid_project_keeps_lines_for_later_errors(tmp_path: Path):
    path = tmp_path / "segmento.yaml"
    path.write_text("name: shop\ndatabase: shop.duckdb\nsources:\n  - table: orders\n    path: ventes.csv\n    columns:\n      order_id: NumCommande\n")
    project = load_project(path)
    assert project.sources[0].columns == {"order_id": "NumCommande"}
    assert project.where("sources", 0, "columns", "order_id") == f"{path}, line 7"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: shop\ndatabse: x.duckdb\n",
         "segmento.yaml, line 2: databse: unknown key 'databse'; valid keys: name, database, engine, sources, "
         "features, audiences, dynamics, predictive, gdpr, segmentations, destinations, routes, exports, "
         "campaigns"),
        ("sources:\n  - table: orders\n    pth: a.csv\n",
         "segmento.yaml, line 2: sources.0.path: Field required\n"
         "segmento.yaml, line 3: sources.0.pth: unknown key 'pth'; valid keys: table, path, columns, header, names, "
         "delimiter, encoding, null_tokens, date_format, timestamp_format, decimal, thousands, set, values, id_from, "
         "currency, rates, min_date, max_date"),
        ("name: [unclosed\n", "segmento.yaml, line 2: not valid YAML: expected ',' or ']', but got '<stream end>'"),
        ("- a\n- b\n", "segmento.yaml, line 1: the project file must be a mapping of sections"),
    ],
)
def test_errors_name_file_line_and_valid_keys(text: str, message: str):
    with pytest.raises(ConfigError) as error:
        parse_project(text, Path("segmento.yaml"))
    assert str(error.value) == message


def test_missing_file():
    with pytest.raises(ConfigError, match="nope.yaml: project file not found"):
        load_project("nope.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("engine:\n  analytics: bigquery\n", "segmento.yaml, line 2: engine.analytics: Input should be 'duckdb' or 'spark'"),
        ("engine:\n  warehouse: /data/wh\n",
         "segmento.yaml, line 1: engine: Value error, warehouse: only used with `analytics: spark`"),
        ("engine:\n  analytics: spark\n  master: local[2]\n  remote: sc://h:15002\n",
         "segmento.yaml, line 1: engine: Value error, give either `master` (a Spark the process starts) or "
         "`remote` (Spark Connect), not both"),
        ("engine:\n  memory_limit: lots\n",
         "segmento.yaml, line 2: engine.memory_limit: String should match pattern "
         "'^\\s*\\d+(\\.\\d+)?\\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\\s*$'"),
    ],
)
def test_engine_section_errors(text: str, message: str):
    with pytest.raises(ConfigError) as error:
        parse_project(text, Path("segmento.yaml"))
    assert str(error.value) == message


def test_engine_section_for_spark():
    project = parse_project("engine:\n  analytics: spark\n  remote: sc://cluster:15002\n  spark_database: shop\n"
                            "  conf: {spark.executor.memory: 8g}\n")
    assert (project.engine.analytics, project.engine.remote, project.engine.spark_database) == (
        "spark", "sc://cluster:15002", "shop")
    assert project.engine.conf == {"spark.executor.memory": "8g"}
