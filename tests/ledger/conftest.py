"""The ledger tests' owner session: tenant acme, and the file the records planted by hand name."""

import psycopg
import pytest

from tests.ledger.test_posting_rules import plant_file


@pytest.fixture
def owner(db_url):
    with psycopg.connect(db_url) as conn:
        plant_file(conn)
        conn.commit()
        yield conn
