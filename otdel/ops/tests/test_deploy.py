"""The production files under deploy/ agree with the code: commands exist, limits match, names are real."""

from __future__ import annotations

import configparser
import re

import pytest
from django.conf import settings
from django.core.management import get_commands

from otdel.ops.tests.conftest import ROOT

DEPLOY = ROOT / "deploy"


def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((DEPLOY / "systemd" / name).read_text().replace("\\\n", " "))
    return unit


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("otdel-web.service", "gunicorn otdel.wsgi:application"),
        ("otdel-worker@.service", "manage.py db_worker"),
        ("otdel-scheduler.service", "manage.py scheduler"),
    ],
)
def test_systemd_units_restart_on_failure_and_run_real_commands(name, command):
    service = _unit(name)["Service"]
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"] == "/etc/otdel/otdel.env"
    assert service["User"] == "otdel"
    assert command in service["ExecStart"]
    manage_command = re.search(r"manage\.py (\w+)", service["ExecStart"])
    if manage_command:
        assert manage_command.group(1) in get_commands()


def test_the_target_starts_web_workers_and_one_scheduler():
    wants = _unit("otdel.target")["Unit"]["Wants"].split()
    assert "otdel-web.service" in wants and "otdel-scheduler.service" in wants
    assert any(w.startswith("otdel-worker@") for w in wants)


def _nginx_size(text: str) -> int:
    value = re.search(r"^\s*client_max_body_size\s+(\d+)([kmg]?);", text, re.M | re.I)
    assert value, "client_max_body_size is set"
    return int(value.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[value.group(2).lower()]


def test_nginx_passes_proxy_headers_serves_static_and_takes_what_django_takes():
    text = (DEPLOY / "nginx" / "otdel.conf").read_text()
    assert _nginx_size(text) >= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    for header in ("Host $host", "X-Forwarded-For", "X-Forwarded-Proto $scheme"):
        assert f"proxy_set_header {header}" in text
    assert re.search(r"location /static/ \{\s*alias /var/lib/otdel/static/;", text)
    assert "location /media" not in text  # files go through Otdel's permission checks
    assert "ssl_certificate " in text and "listen 443 ssl" in text


def test_every_setting_in_the_environment_file_is_read_by_the_code():
    names = re.findall(r"^#?\s*(OTDEL_[A-Z0-9_]+)=", (DEPLOY / "otdel.env.example").read_text(), re.M)
    assert len(names) > 15
    code = "\n".join(path.read_text() for path in (ROOT / "otdel").rglob("*.py") if "tests" not in path.parts)
    unknown = [name for name in names if f'"{name}"' not in code]
    assert unknown == []


def test_gunicorn_control_socket_is_under_the_data_dir_not_home(settings, tmp_path):
    from otdel.core.management.commands.serve import control_socket_args

    settings.DATA_DIR = tmp_path
    assert control_socket_args() == ["--control-socket", str(tmp_path / "run" / "gunicorn.ctl")]
    assert (tmp_path / "run").is_dir()
    settings.DATA_DIR = tmp_path / ("x" * 120)
    assert control_socket_args() == ["--no-control-socket"]
    web = _unit("otdel-web.service")["Service"]["ExecStart"]
    assert "--control-socket /var/lib/otdel/run/gunicorn.ctl" in web
