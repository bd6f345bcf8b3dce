"""Settings precedence (defaults < charter.toml < CHARTER_* env < flags) and rejection of unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from charter.config import ConfigError, Settings, load_settings


def test_defaults_match_design(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.host == "127.0.0.1"
    assert settings.http_port == 8081
    assert settings.kafka_port == 9092
    assert settings.data_dir == Path("charter-data")
    assert (
        settings.effective_database_url == f"sqlite:///{tmp_path / 'charter-data' / 'charter.db'}"
    )


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    config_file = tmp_path / "charter.toml"
    config_file.write_text('http_port = 1111\nkafka_port = 2222\nhost = "0.0.0.0"\n')
    environ = {"CHARTER_KAFKA_PORT": "3333", "CHARTER_HTTP_PORT": "4444"}
    settings = load_settings({"http_port": 5555}, config_file=config_file, environ=environ)
    assert settings.host == "0.0.0.0"  # file only
    assert settings.kafka_port == 3333  # env beats file
    assert settings.http_port == 5555  # flag beats env


def test_flags_given_as_none_do_not_override(tmp_path: Path) -> None:
    settings = load_settings({"http_port": None}, environ={"CHARTER_HTTP_PORT": "7000"})
    assert settings.http_port == 7000


def test_charter_table_in_toml(tmp_path: Path) -> None:
    config_file = tmp_path / "charter.toml"
    config_file.write_text('[charter]\ndata-dir = "/srv/charter"\n')
    assert load_settings(config_file=config_file, environ={}).data_dir == Path("/srv/charter")


@pytest.mark.parametrize(
    ("source", "expected_fragment"),
    [
        ("file", "'http_prot'"),
        ("env", "'http_prot'"),
        ("flag", "'http_prot'"),
    ],
)
def test_unknown_keys_rejected_everywhere(
    tmp_path: Path, source: str, expected_fragment: str
) -> None:
    config_file = tmp_path / "charter.toml"
    config_file.write_text("http_prot = 1\n" if source == "file" else "")
    environ = {"CHARTER_HTTP_PROT": "1"} if source == "env" else {}
    flags = {"http_prot": 1} if source == "flag" else {}
    with pytest.raises(ConfigError, match=expected_fragment):
        load_settings(flags, config_file=config_file, environ=environ)


def test_wrong_type_named_in_error() -> None:
    with pytest.raises(ConfigError, match="'kafka_port'.*int.*'nine'"):
        load_settings(environ={"CHARTER_KAFKA_PORT": "nine"})


def test_bad_toml_is_a_config_error(tmp_path: Path) -> None:
    config_file = tmp_path / "charter.toml"
    config_file.write_text("http_port = = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config_file=config_file, environ={})


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_file=tmp_path / "absent.toml", environ={})


def test_postgres_url_passes_through() -> None:
    url = "postgresql://postgres@127.0.0.1:5432/test"
    assert Settings(database_url=url).effective_database_url == url


def test_test_switch_variables_are_not_settings() -> None:
    settings = load_settings(environ={"CHARTER_REQUIRE_PG": "1"})
    assert settings == Settings()
