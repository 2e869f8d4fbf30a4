"""No object holding a credential shows it in repr() or str()."""

from __future__ import annotations

import pytest

from lead_scoring.crm_sandbox.server import start_sandbox
from lead_scoring.crm_sync.config import CrmTarget
from lead_scoring.settings import Settings, redact_url
from lead_scoring.sources.extract import CrmSource

TOKEN = "tok-4f8a1c9e-secret"
PASSWORD = "pw-93b7d2-secret"


def assert_hidden(obj: object, *secrets: str) -> None:
    for text in (repr(obj), str(obj), f"{obj}", f"{obj!r}"):
        for secret in secrets:
            assert secret not in text, text


def test_crm_source_and_target_hide_the_token():
    source = CrmSource(base_url="https://api.hubapi.com", token=TOKEN)
    assert_hidden(source, TOKEN)
    assert "api.hubapi.com" in repr(source)
    target = CrmTarget(kind="hubspot", base_url="https://api.hubapi.com", token=TOKEN)
    assert_hidden(target, TOKEN)


def test_settings_mask_database_passwords(monkeypatch):
    monkeypatch.setenv("LEAD_SCORING_WAREHOUSE_URL", f"postgresql://wh:{PASSWORD}@db:5432/wh")
    monkeypatch.setenv(
        "LEAD_SCORING_PRODUCT_DB_URL", f"postgresql+psycopg2://product:{PASSWORD}@source-db/p"
    )
    settings = Settings()
    assert_hidden(settings, PASSWORD)
    assert "postgresql://wh:***@db:5432/wh" in repr(settings)
    assert "product:***@source-db" in repr(settings)
    assert settings.product_db_url.endswith(f"{PASSWORD}@source-db/p")  # still usable


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (None, None),
        ("sqlite:///data/product.db", "sqlite:///data/product.db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        (f"postgresql://u:{PASSWORD}@h:5432/db", "postgresql://u:***@h:5432/db"),
        (f"postgresql://u:a@b{PASSWORD}@h/db", "postgresql://u:***@h/db"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_sandbox_state_and_handle_hide_the_token(tmp_path):
    with start_sandbox(tmp_path / "crm.sqlite", token=TOKEN) as handle:
        assert handle.token == TOKEN
        assert_hidden(handle, TOKEN)
        assert_hidden(handle.state, TOKEN)
