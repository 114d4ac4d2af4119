"""No entry point runs with a secret key anyone could guess, except in explicit development
mode; `make run` makes a local key once; docker-compose ships none."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from inbox.config import REPO_DIR, Settings, WeakSecret, secret_key_problem
from inbox.main import create_app


@pytest.mark.parametrize(
    "key", ["", "change-me", "test-secret", "k" * 40, "0123456789abcdef" * 3, "a1" * 40]
)
def test_the_app_factory_refuses_a_missing_or_weak_secret(settings, key):
    weak = settings.model_copy(update={"secret_key": key})

    with pytest.raises(WeakSecret, match="INBOX_SECRET_KEY"):
        create_app(weak)


@pytest.mark.parametrize(
    "key", [secrets.token_urlsafe(32), secrets.token_hex(32), secrets.token_urlsafe(48)]
)
def test_32_random_bytes_in_any_usual_spelling_are_enough(key):
    assert secret_key_problem(key) is None


def test_development_mode_accepts_a_weak_secret_but_not_none(settings):
    create_app(settings.model_copy(update={"secret_key": "dev", "dev_mode": True}))

    with pytest.raises(WeakSecret):
        create_app(settings.model_copy(update={"secret_key": "", "dev_mode": True}))


def test_the_default_settings_have_no_usable_secret():
    assert secret_key_problem(Settings(_env_file=None).secret_key) is not None


def test_docker_compose_has_no_default_secret():
    compose = yaml.safe_load((REPO_DIR / "docker-compose.yml").read_text())
    for service in compose["services"].values():
        value = (service.get("environment") or {}).get("INBOX_SECRET_KEY")
        if value is not None:
            assert value.startswith("${INBOX_SECRET_KEY:?"), value  # compose stops without one


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_makes_a_strong_local_key_once(tmp_path: Path):
    shutil.copy(REPO_DIR / "Makefile", tmp_path / "Makefile")

    def make_key() -> str:
        subprocess.run(["make", "-s", "var/secret-key"], cwd=tmp_path, check=True)
        return (tmp_path / "var" / "secret-key").read_text().strip()

    first = make_key()
    assert secret_key_problem(first) is None
    assert make_key() == first  # kept: sessions and links survive a restart
    assert (tmp_path / "var" / "secret-key").stat().st_mode & 0o077 == 0  # only the owner reads
