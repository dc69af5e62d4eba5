from pathlib import Path

from app.graphql.sdl import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_sdl(), (
        "schema.graphql is out of date: run `.venv/bin/chatcart export-schema > schema.graphql`"
    )


def test_export_schema_prints_exactly_the_file() -> None:
    from click.testing import CliRunner

    from app.cli import main

    result = CliRunner().invoke(main, ["export-schema"])
    assert result.exit_code == 0, result.output
    assert result.output == SCHEMA_FILE.read_text(encoding="utf-8")
