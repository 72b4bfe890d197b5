"""Malformed config folders through the loader of `evalbot validate`: a `ConfigError` naming the
file (and the key), never another exception."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_config
from evaluators.errors import ConfigError
from tests.corpus import configs

CASES = configs.generate()
ROOT = Path(__file__).resolve().parents[2]


def write(root: Path, case: configs.ConfigCase) -> Path:
    for name, data in case.files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_the_base_config_is_valid(tmp_path: Path) -> None:
    folder = write(tmp_path, configs.ConfigCase("base", configs.base_files(), "", ""))
    assert [m.module.id for m in load_config(folder).modules] == ["emotion"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_config_error_names_file_and_key(case: configs.ConfigCase, tmp_path: Path) -> None:
    folder = write(tmp_path, case)
    with pytest.raises(ConfigError) as error:
        load_config(folder)
    message = str(error.value)
    assert message.startswith(f"{folder / case.names_file}: "), message[:300]
    assert case.names in message, message[:300]
    assert len(message) < 2000, "one readable message"


VALIDATE = ["include:cycle", "module-file:invalid-utf8"]


@pytest.mark.slow  # end to end: `evalbot validate` processes
def test_validate_cli_exits_2_without_traceback(tmp_path: Path) -> None:
    """`evalbot validate DIR` on a few bad folders, as CI runs it (in parallel: imports are slow)."""
    by_id = {c.id: c for c in CASES}
    runs = []
    for name in VALIDATE:
        folder = write(tmp_path / name.replace(":", "_"), by_id[name])
        command = [sys.executable, "-m", "bot.cli", "validate", str(folder)]
        runs.append(
            (
                name,
                folder,
                subprocess.Popen(
                    command, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                ),
            )
        )
    for name, folder, process in runs:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 2, (name, out, err)
        assert "Traceback" not in err + out, (name, err)
        assert err.startswith(f"evalbot: error: {folder / by_id[name].names_file}: "), (name, err)
