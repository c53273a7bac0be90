"""Build the documentation site with one command:

    python docs/build.py            # into build/site (open build/site/index.html)

1. the command-line reference, generated from every command's ``--help`` (docs/_generated/cli.md);
2. the notebooks of examples/notebooks with their outputs: the copies the tests executed
   (build/notebooks, written by tests/test_notebooks.py) when they are current, else executed here;
3. Sphinx, with warnings as errors.

Needs the docs extra: ``pip install -e ".[docs]"``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GENERATED = DOCS / "_generated"
NOTEBOOKS = ROOT / "examples" / "notebooks"
#: Where tests/test_notebooks.py leaves the notebooks it executed, for this build to reuse.
EXECUTED = ROOT / "build" / "notebooks"


def cli_reference() -> str:
    """Every command's ``--help``, as the user sees it."""
    sys.path.insert(0, str(ROOT))
    from glassnet.cli import build_parser

    parser = build_parser()
    lines = ["# Command-line reference", "", "Generated from `glassnet --help` and each command's `--help`.", ""]
    lines += ["```text", parser.format_help().rstrip(), "```", ""]
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        lines += [f"## glassnet {name}", "", "```text", command.format_help().rstrip(), "```", ""]
    return "\n".join(lines)


def _sources(notebook: Path) -> list[str]:
    return [cell["source"] for cell in json.loads(notebook.read_text())["cells"]]


def executed_notebooks(target: Path) -> list[str]:
    """Copy each notebook with its outputs into ``target``: the tests' run when it ran these very
    cells, else a run here. Returns how each one was obtained."""
    target.mkdir(parents=True, exist_ok=True)
    how = []
    for source in sorted(NOTEBOOKS.glob("*.ipynb")):
        ran = EXECUTED / source.name
        if ran.exists() and _sources(ran) == _sources(source):
            shutil.copyfile(ran, target / source.name)
            how.append(f"{source.name}: the tests' run")
            continue
        import nbclient
        import nbformat

        notebook = nbformat.read(source, as_version=4)
        nbclient.NotebookClient(notebook, timeout=None, kernel_name="python3",
                                resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()  # fmt: skip
        nbformat.write(notebook, target / source.name)
        how.append(f"{source.name}: executed now")
    return how


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "site"), help="the site's folder (default build/site)")
    args = parser.parse_args()
    if GENERATED.exists():
        shutil.rmtree(GENERATED)
    GENERATED.mkdir()
    (GENERATED / "cli.md").write_text(cli_reference(), encoding="utf-8")
    for line in executed_notebooks(GENERATED / "notebooks"):
        print(line)
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), args.out]
    completed = subprocess.run(command)
    if completed.returncode == 0:
        print(f"wrote {Path(args.out) / 'index.html'}")
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
