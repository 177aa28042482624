"""``grassroots definitions check|publish|export``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cli.context import open_runtime
from cli.main import cli
from engine.errors import DefinitionError, Problem


@cli.group()
def definitions() -> None:
    """指标集与流程定义."""


def _files(paths: tuple[Path, ...]) -> list[Path]:
    """Files named, or every definition file under a named folder."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.rglob("v*.json")) + sorted(path.rglob("v*.bpmn"))
        else:
            found.append(path)
    return [p for p in found if "examples" not in p.parts]


def _check_file(path: Path) -> list[Problem]:
    from engine.definitions import load_indicator_file
    from engine.workflows.definition import load_process_file

    loaders = {".json": load_indicator_file, ".bpmn": load_process_file}
    loader = loaders.get(path.suffix)
    if loader is None:
        return [Problem(f"不是定义文件（应为 .json 或 .bpmn）：{path}")]
    try:
        loader(path)
    except DefinitionError as err:
        return err.problems or [Problem(err.message, definition=err.definition)]
    return []


@definitions.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def check(paths: tuple[Path, ...]) -> None:
    """检查定义文件（JSON Schema 指标集、BPMN 流程），与同目录的其他版本文件比对；有错误时退出码为 1。

    不与数据库中已发布的版本比对：那由 publish 检查（已发布的版本内容不能再改）。
    """
    failed = 0
    for path in _files(paths):
        problems = _check_file(path)
        if problems:
            failed += 1
            click.secho(f"✗ {path}", fg="red")
            for p in problems:
                where = f"{p.definition}" if p.definition else str(path)
                click.echo(f"  {where}: {p.message}")
        else:
            click.secho(f"✓ {path}", fg="green")
    if failed:
        raise SystemExit(1)


@definitions.command("publish")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--note", default=None, help="变更说明")
def publish(paths: tuple[Path, ...], note: str | None) -> None:
    """发布定义文件（发布后不可更改；内容相同则跳过）。全部成功才提交，任一文件出错则一个也不发布。"""
    from engine.errors import BadInput
    from engine.publishing import publish_indicator_file, publish_process_file

    publishers = {".json": publish_indicator_file, ".bpmn": publish_process_file}
    files = _files(paths)
    others = [str(p) for p in files if p.suffix not in publishers]
    if others:
        raise BadInput(f"不是定义文件（应为 .json 或 .bpmn），未发布任何文件：{'、'.join(others)}")
    rt = open_runtime()
    with rt.session() as s:
        results = [publishers[path.suffix](s, path, change_note=note) for path in files]
    # only now: a later file's error rolls back every earlier one, which must not have read "已发布"
    for result in results:
        state = "已发布" if result.created else "内容相同，无需重复发布"
        click.echo(f"{result.kind} {result.code} v{result.version}: {state}")


@definitions.command("export")
@click.argument("code")
@click.argument("version", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="默认写到 definitions/indicators/<code>/v<N>.json 或 processes/<code>/v<N>.bpmn")
def export(code: str, version: int, output: Path | None) -> None:
    """把已发布的版本写回文件（便于定义文件纳入版本控制）。"""
    from sqlalchemy import select

    from engine.db.models import IndicatorSetVersion, ProcessVersion
    from engine.errors import NotFound

    rt = open_runtime()
    with rt.session() as s:
        ind = s.scalar(select(IndicatorSetVersion).where(IndicatorSetVersion.code == code,
                                                         IndicatorSetVersion.version == version))
        proc = None if ind else s.scalar(select(ProcessVersion).where(ProcessVersion.code == code,
                                                                       ProcessVersion.version == version))
        if ind is None and proc is None:
            raise NotFound(f"没有 {code} 第 {version} 版")
        if ind is not None:
            text = json.dumps(ind.content, ensure_ascii=False, indent=2) + "\n"
            default = rt.settings.definitions_path / "indicators" / code / f"v{version}.json"
        else:
            text = proc.bpmn
            default = rt.settings.definitions_path / "processes" / code / f"v{version}.bpmn"
    target = output or default
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"已导出 → {target}")
