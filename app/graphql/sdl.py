"""The schema as SDL text, exactly as `schema.graphql` stores it."""

from strawberry.printer import print_schema

from app.graphql.schema import schema


def schema_sdl() -> str:
    return print_schema(schema) + "\n"
