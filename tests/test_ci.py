"""One install step: CI, the workflows and the README install system packages
through ``.ci/install-deps`` only, and build the site with the README's command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "install-deps"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))

#: Commands that install system or global packages: only the script may run them.
INSTALLS = re.compile(
    r"\b(apt-get|apt|aptitude|dpkg)\s+(-\S+\s+)*install\b|\bnpm\s+(i|install)\s+-g\b|\bpip\s+install\b"
)


def commands(text: str) -> list[str]:
    """Shell command lines of a script or ``run:`` block, comments and blanks dropped."""
    lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def workflow_runs(path: Path) -> list[str]:
    """Every command line of every ``run:`` step of a workflow."""
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        line
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        for line in commands(step.get("run", ""))
    ]


def readme_commands() -> list[str]:
    """The commands of the README's first code block: how to build and test."""
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert block, "the README opens with a sh block of commands"
    return [line.split("#", 1)[0].strip() for line in commands(block.group(1))]


@pytest.mark.parametrize("path", [ROOT / ".ci" / "run", *WORKFLOWS], ids=lambda p: p.name)
def test_installs_only_through_the_script(path: Path) -> None:
    lines = workflow_runs(path) if path.suffix == ".yml" else commands(path.read_text(encoding="utf-8"))
    assert not [line for line in lines if INSTALLS.search(line)], "install system packages in .ci/install-deps"
    if any("make test" in line for line in lines):
        first_test = next(i for i, line in enumerate(lines) if "make test" in line)
        assert any(".ci/install-deps" in line or line == "make deps" for line in lines[:first_test])


def test_workflow_builds_with_the_readme_commands() -> None:
    build, test = readme_commands()[:2]
    assert (build, test) == ("make html", "make test")
    runs = workflow_runs(ROOT / ".github" / "workflows" / "site.yml")
    built = [line for line in runs if line.startswith(("make html", "make publish")) or "sphinx-build" in line]
    # make publish is make html, then the books from that build: the README names both.
    assert built == ["make publish"]
    assert "`make publish` builds the site with its books" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "publish: pdf epub" in (ROOT / "Makefile").read_text(encoding="utf-8")
    assert test in runs


def fake_path(tmp_path: Path, present: list[str]) -> dict[str, str]:
    """A PATH holding only the commands the script itself uses, and *present*.

    ``apt-get`` records its arguments instead of installing; ``sudo`` just runs them;
    ``ldconfig``, when present, knows every library."""
    tools = tmp_path / "bin"
    tools.mkdir()
    log = tmp_path / "apt.log"
    for name in ("bash", "id", "echo", "cat", "grep"):
        real = subprocess.run(["bash", "-c", f"command -v {name}"], capture_output=True, text=True).stdout.strip()
        if real.startswith("/"):
            (tools / name).symlink_to(real)
    stubs = [(name, f'echo "$0 $*" >> {log}') for name in [*present, "apt-get"] if name != "ldconfig"]
    stubs += [("sudo", 'exec "$@"')]
    if "ldconfig" in present:  # the linker knows every library the script asks about
        stubs += [("ldconfig", "echo libpangoft2-1.0.so.0 '(libc6,x86-64)'")]
    for name, body in stubs:
        script = tools / name
        script.write_text(f"#!{(tools / 'bash').readlink()}\n{body}\n")
        script.chmod(0o755)
    return {"PATH": str(tools), "LOG": str(log)}


def run_script(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [env["PATH"] + "/bash", str(SCRIPT)], env={"PATH": env["PATH"]}, capture_output=True, text=True, check=False
    )


def test_script_installs_what_is_missing(tmp_path: Path) -> None:
    env = fake_path(tmp_path, present=["make", "node"])
    result = run_script(env)
    assert result.returncode == 0, result.stderr
    calls = Path(env["LOG"]).read_text().splitlines()
    assert calls[0].endswith("apt-get update -qq")
    installed = calls[1].split()
    assert installed[-5:] == ["git", "chromium", "npm", "poppler-utils", "libpangoft2-1.0-0"], calls


def test_script_does_nothing_when_all_is_there(tmp_path: Path) -> None:
    env = fake_path(tmp_path, present=["make", "git", "chromium", "node", "npm", "pdftotext", "ldconfig"])
    result = run_script(env)
    assert result.returncode == 0, result.stderr
    assert "present" in result.stdout
    assert not Path(env["LOG"]).exists()
