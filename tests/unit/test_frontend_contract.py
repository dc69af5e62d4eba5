"""Every operation an admin frontend relies on must stay valid against schema.graphql."""

from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted((ROOT / "frontend-contract").glob("*.graphql"))


def test_there_is_a_contract() -> None:
    assert DOCUMENTS


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_document_is_valid_against_the_schema(document: Path) -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    errors = validate(schema, parse(document.read_text(encoding="utf-8")))
    assert errors == []


def test_a_broken_document_is_caught() -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    assert validate(schema, parse("{ shop { nope } }"))


def test_the_readme_examples_are_valid_operations() -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [part.split("```", 1)[0] for part in readme.split("```graphql\n")[1:]]
    assert blocks
    for block in blocks:
        without_comments = "\n".join(line.split("#", 1)[0] for line in block.splitlines())
        assert validate(schema, parse(without_comments)) == []
