"""The import layering (.importlinter): kept by the code, and able to catch a break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.events import DomainEvent

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = (
    "config",
    "core",
    "accounts",
    "moderation",
    "generation",
    "feed",
    "ranking",
    "social",
)


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of Riff's Python packages and its contract, to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=lambda _dir, names: [
                n for n in names if not (n.endswith(".py") or (Path(_dir) / n).is_dir())
            ],
        )
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_tree_keeps_its_layers() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_copy_keeps_them_until_it_is_broken(tree: Path) -> None:
    """The copy passes as it is, so the failures below come from the import added."""
    assert _lint(tree).returncode == 0


@pytest.mark.parametrize(
    ("module", "added", "broken"),
    [
        # An upward import hidden inside a function counts like any other.
        (
            "accounts/models.py",
            "\n\ndef _peek() -> None:\n    from feed import selectors  # noqa\n",
            ["accounts is not allowed to import feed", "accounts.models -> feed.selectors"],
        ),
        (
            "core/api.py",
            "\nfrom accounts import models as _models  # noqa\n",
            ["core is not allowed to import accounts"],
        ),
        (
            "moderation/services.py",
            "\nimport config.urls  # noqa\n",
            ["moderation is not allowed to import config"],
        ),
    ],
)
def test_an_import_across_the_layers_breaks_the_contract(
    tree: Path, module: str, added: str, broken: list[str]
) -> None:
    path = tree / module
    path.write_text(path.read_text() + added)
    result = _lint(tree)
    assert result.returncode == 1
    for line in broken:
        assert line in result.stdout


def test_a_domain_event_refuses_a_payload_it_does_not_declare() -> None:
    heard: list[dict[str, object]] = []
    event = DomainEvent("test.happened", ("what",))
    event.connect(lambda **kw: heard.append(kw), weak=False)
    event.emit(what=1)
    assert heard[0]["what"] == 1 and heard[0]["sender"] == "test.happened"
    with pytest.raises(TypeError, match="missing \\['what'\\], unknown \\['whom'\\]"):
        event.emit(whom=2)
    assert len(heard) == 1
