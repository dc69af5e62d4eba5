import pytest

from app.resources import Resources


@pytest.fixture(autouse=True)
def _clean_database(db: Resources) -> Resources:
    """Every integration test runs against empty tables."""
    return db
