"""Settings precedence (defaults < charter.toml < CHARTER_* env < flags) and rejection of unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from charter.config import ConfigError, Settings, load_settings, redact_url


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


@pytest.mark.parametrize("source", ["file", "env", "flag"])
def test_log_level_is_checked_and_normalised_everywhere(tmp_path: Path, source: str) -> None:
    config_file = tmp_path / "charter.toml"

    def load(level: str) -> Settings:
        config_file.write_text(f'log_level = "{level}"\n' if source == "file" else "")
        environ = {"CHARTER_LOG_LEVEL": level} if source == "env" else {}
        flags = {"log_level": level} if source == "flag" else {}
        return load_settings(flags, config_file=config_file, environ=environ)

    assert load("debug").log_level == "DEBUG"
    with pytest.raises(ConfigError, match="'log_level'.*DEBUG, INFO, WARNING, ERROR, CRITICAL"):
        load("LOUD")


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"http_port": 65536}, "'http_port' must be a port number"),
        ({"kafka_port": -1}, "'kafka_port' must be a port number"),
        ({"http_workers": 0}, "'http_workers' must be at least 1"),
        ({"default_partitions": 0}, "'default_partitions' must be at least 1"),
        ({"log_retention_ms": -2}, "'log_retention_ms' must be at least -1"),
        ({"log_level": "LOUD"}, "'log_level' must be one of"),
    ],
)
def test_out_of_range_settings_are_refused(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Settings(**changes)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=fragment.replace("' must", "' in environment.* must")):
        load_settings(environ={f"CHARTER_{k.upper()}": str(v) for k, v in changes.items()})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:////srv/charter/charter.db", "sqlite:////srv/charter/charter.db"),
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://postgres@127.0.0.1:5432/test"),
        ("postgresql://app:s3cret@db:5432/charter", "postgresql://app:***@db:5432/charter"),
        ("postgresql://app:p%40ss@db/charter", "postgresql://app:***@db/charter"),
        (
            "postgresql://db/charter?user=app&password=s3cret&sslmode=require",
            "postgresql://db/charter?user=app&password=***&sslmode=require",
        ),
    ],
)
def test_database_urls_are_shown_without_passwords(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert Settings(database_url=url).database_display_url == shown
