"""`grassroots demo` says where its data are: the instance folder in use, or the server it was given."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from cli.main import where_data_live


def test_the_banner_names_the_instance_folder_in_use(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    rt = SimpleNamespace(settings=SimpleNamespace(instance_path=Path("/tmp/qa/instance")))
    assert where_data_live(rt) == "数据保存在 /tmp/qa/instance 目录（内置数据库）"


def test_the_banner_names_the_given_server(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/grassroots")
    rt = SimpleNamespace(settings=SimpleNamespace(instance_path=Path("instance")))
    assert where_data_live(rt) == "数据保存在 DATABASE_URL 所指的数据库中"  # the URL may hold a password
