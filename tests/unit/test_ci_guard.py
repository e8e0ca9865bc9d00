"""In CI a PostgreSQL test may never pass by skipping."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).parents[1] / "conftest.py"


def test_a_skipped_postgres_test_fails_where_postgres_is_required(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.postgres
        def test_needs_server():
            pytest.skip("no server")

        def test_plain_skip():
            pytest.skip("not a postgres test")
        """
    )
    pytester.makeini("[pytest]\nmarkers =\n    postgres: pg\n    slow: slow\n")
    monkeypatch.setenv("LEDGER_REQUIRE_POSTGRES", "1")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1, skipped=1)
    monkeypatch.delenv("LEDGER_REQUIRE_POSTGRES")
    monkeypatch.delenv("CI", raising=False)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(skipped=2)
