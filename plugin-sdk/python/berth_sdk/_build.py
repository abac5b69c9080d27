"""``python -m berth_sdk build [PROJECT_DIR] [-o OUT.wasm] [--verbose]``.

Reads PROJECT_DIR/pyproject.toml, checks the plugin natively (syntax, imports,
declarations) for clear error messages, writes a small entry module that imports the
project's module and exposes the component exports, and runs componentize-py with the
SDK's WIT and the right world.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Optional

WORLD_PLAIN = "berth:plugin/full@0.3.0"
WORLD_KEYVALUE = "berth:sdk/full-with-keyvalue@0.3.0"
COMPONENTIZE_PY = "componentize-py==0.25.1"
ENTRY = "berth_sdk_entry"
SKIP_DIRS = {"tests", "test", "build", "dist", "__pycache__", ".venv", "venv", ".git",
             "node_modules", ".mypy_cache", ".pytest_cache", ".tox"}


class BuildError(Exception):
    pass


def wit_dir() -> str:
    """The WIT folder shipped inside the package (world.wit + deps/)."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "wit")
    if not os.path.isfile(os.path.join(path, "world.wit")):
        raise BuildError(f"the SDK's WIT files are missing from {path}; reinstall "
                         f"berth-plugin-sdk")
    return path


def read_settings(path: str) -> dict:
    """What a pyproject.toml says, with the defaults README.md documents (``name`` may be
    None); the build and the native lookup (`_registry.read_pyproject`) both read it
    here, so they agree. Raises BuildError."""
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as error:
        raise BuildError(f"{path}: cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise BuildError(f"{path}: not valid TOML: {error}") from None
    project = data.get("project", {})
    berth = data.get("tool", {}).get("berth", {})
    unknown = sorted(set(berth) - {"module", "keyvalue", "output"})
    if unknown:
        raise BuildError(f"{path}: [tool.berth] has unknown keys {', '.join(unknown)}; it takes "
                         f"module, keyvalue and output")
    keyvalue = berth.get("keyvalue", False)
    if not isinstance(keyvalue, bool):
        raise BuildError(f"{path}: [tool.berth] keyvalue must be true or false")
    return {
        "path": path,
        "name": project.get("name"),
        "version": str(project.get("version") or "0.1.0"),
        "description": project.get("description"),
        "module": berth.get("module", "app"),
        "keyvalue": keyvalue,
        "output": berth.get("output"),
    }


def load_project(project_dir: str) -> dict:
    path = os.path.join(project_dir, "pyproject.toml")
    if not os.path.isfile(path):
        raise BuildError(f"{path}: not found; a plugin project has a pyproject.toml with "
                         f"[project] name and version")
    settings = read_settings(path)
    if not settings["name"]:
        raise BuildError(f"{path}: [project] name is missing")
    settings["output"] = settings["output"] or f"{settings['name']}.wasm"
    return settings


def _frame_in(tb, project_dir: str):
    """The innermost traceback frame inside the project, for `file:line` messages."""
    found = None
    for frame in traceback.extract_tb(tb):
        if os.path.abspath(frame.filename).startswith(project_dir + os.sep):
            found = frame
    return found


def _rel(path: str, project_dir: str) -> str:
    """``path`` relative to the current folder when it is below it, else absolute."""
    path = os.path.abspath(path)
    rel = os.path.relpath(path, os.getcwd())
    return path if rel.startswith("..") else rel


def precheck(project_dir: str, project: dict) -> int:
    """Imports the module natively and validates the declarations; returns the number of
    tools. Raises BuildError with a one-screen message."""
    from . import _registry
    from ._core import DeclarationError

    module = project["module"]
    registry = _registry.Registry()
    registry.project = _registry.Project(project["name"], project["version"],
                                         project["description"], project["keyvalue"],
                                         project["path"])
    previous = _registry.replace(registry)
    sys.path.insert(0, project_dir)
    # The modules the import adds are forgotten afterwards, so that another project's
    # `app` is imported afresh rather than taken from sys.modules.
    modules_before = set(sys.modules)
    try:
        candidates = [os.path.join(project_dir, *module.split(".")) + ".py",
                      os.path.join(project_dir, *module.split("."), "__init__.py")]
        if not any(os.path.isfile(c) for c in candidates):
            raise BuildError(
                f"{project_dir}: no module `{module}` (looked for "
                f"{_rel(candidates[0], project_dir)}); set [tool.berth] module = \"...\" in "
                f"pyproject.toml to the module that declares the tools")
        try:
            importlib.import_module(module)
        except SyntaxError as error:
            where = f"{_rel(error.filename or '?', project_dir)}:{error.lineno}"
            text = (error.text or "").rstrip("\n")
            caret = ""
            if text and error.offset:
                caret = "\n    " + " " * (error.offset - 1 - (len(text) - len(text.lstrip()))) + "^"
            raise BuildError(f"{where}: syntax error: {error.msg}"
                             + (f"\n    {text.strip()}{caret}" if text else "")) from None
        except DeclarationError as error:
            raise BuildError(f"invalid declaration: {error}") from None
        except ImportError as error:
            frame = _frame_in(error.__traceback__, project_dir)
            where = f"{_rel(frame.filename, project_dir)}:{frame.lineno}: " if frame else ""
            missing = getattr(error, "name", None)
            hint = ""
            if isinstance(error, ModuleNotFoundError) and missing:
                hint = (f"; `{missing}` is not installed in this Python ({sys.executable}) "
                        f"nor in the project, and the component can only bundle what this "
                        f"Python can import")
            raise BuildError(f"{where}cannot import: {error}{hint}"
                             + (f"\n    {frame.line}" if frame and frame.line else "")) from None
        except BaseException as error:  # anything the module's top level raised
            if isinstance(error, KeyboardInterrupt):
                raise
            frame = _frame_in(error.__traceback__, project_dir)
            where = f"{_rel(frame.filename, project_dir)}:{frame.lineno}: " if frame else ""
            raise BuildError(f"{where}importing `{module}` raised {type(error).__name__}: "
                             f"{error}" + (f"\n    {frame.line}" if frame and frame.line else "")
                             ) from None
        try:
            registry.check()
        except DeclarationError as error:
            raise BuildError(f"invalid declaration: {error}") from None
        return len(registry.tools) + len(registry.resources) + len(registry.templates) + len(
            registry.prompts)
    finally:
        for name in set(sys.modules) - modules_before:
            sys.modules.pop(name, None)
        sys.path.remove(project_dir)
        _registry.replace(previous)


def entry_source(project: dict) -> str:
    return (
        "# Generated by `python -m berth_sdk build`; not meant to be edited.\n"
        "from berth_sdk import _registry as _berth_registry\n"
        "_berth_registry.current().project = _berth_registry.Project(\n"
        f"    name={project['name']!r}, version={project['version']!r},\n"
        f"    description={project['description']!r}, keyvalue={project['keyvalue']!r})\n"
        f"import {project['module']}  # noqa: E402,F401  (registers the plugin)\n"
        "_berth_registry.current().check()\n"
        "from berth_sdk._export import Guest, Events, Needs, Prompts, Completion, Icons  "
        "# noqa: E402,F401\n"
    )


def stage(project_dir: str, staging: str) -> None:
    """Copies the project's Python sources (not tests, outputs or virtualenvs) to the
    folder componentize-py bundles."""
    for entry in os.listdir(project_dir):
        src = os.path.join(project_dir, entry)
        if entry.startswith(".") or entry in SKIP_DIRS:
            continue
        if os.path.isdir(src):
            if os.path.isfile(os.path.join(src, "__init__.py")):
                shutil.copytree(src, os.path.join(staging, entry),
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.wasm"))
        elif entry.endswith(".py"):
            shutil.copy2(src, os.path.join(staging, entry))


def componentize(project: dict, staging: str, output: str, verbose: bool) -> None:
    try:
        import componentize_py  # noqa: F401
    except ImportError:
        raise BuildError(f"componentize-py is not installed in this Python ({sys.executable}); "
                         f"install it with: {sys.executable} -m pip install "
                         f"'{COMPONENTIZE_PY}'") from None
    sdk_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    world = WORLD_KEYVALUE if project["keyvalue"] else WORLD_PLAIN
    args = ["-d", wit_dir(), "-w", world, "componentize", ENTRY,
            "-p", staging, "-p", sdk_parent, "-o", output]
    code = ("import sys; from componentize_py import script; "
            "sys.argv[0] = 'componentize-py'; sys.exit(script())")
    env = dict(os.environ)
    if sys.prefix != sys.base_prefix:  # a venv: let componentize-py find its site-packages
        env["VIRTUAL_ENV"] = sys.prefix
    if verbose:
        print("$ componentize-py " + " ".join(args), file=sys.stderr)
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if verbose and proc.stdout:
        sys.stderr.write(proc.stdout)
    if proc.returncode != 0:
        raise BuildError("componentize-py failed" + summarize(proc.stdout, project)
                         + ("" if verbose else "\n(run with --verbose for its full output)"))


def summarize(output: str, project: dict) -> str:
    """The gist of componentize-py's output: the Python error raised while it ran the
    module at build time and the frames leading to it, else its last lines."""
    lines = output.splitlines()
    if "Caused by:" in lines:
        at = lines.index("Caused by:")
        cause = next((l.strip() for l in lines[at + 1:] if l.strip()), "")
        frames = [l.strip() for l in lines[:at] if l.strip().startswith('File "/')]
        # componentize-py mounts its python paths as /0 (the project's sources), /1 (the
        # SDK), /2… (site-packages).
        frames = [f.replace('File "/0/', 'File "' + os.path.dirname(project["path"]) + "/")
                  for f in frames[-3:]]
        hint = ""
        if "ImportError" in cause and "unknown location" in cause:
            hint = ("\n    (a package with a native extension compiled for this machine, "
                    "such as pydantic_core, cannot be loaded inside a component)")
        return (f": {cause}" + "".join("\n    " + f for f in frames) + hint)
    tail = [l for l in lines if l.strip()][-6:]
    return (":\n" + "\n".join("    " + l for l in tail)) if tail else ""


def build(project_dir: str, output: Optional[str], verbose: bool) -> str:
    start = time.monotonic()
    project_dir = os.path.abspath(project_dir)
    project = load_project(project_dir)
    out = os.path.abspath(output) if output else os.path.join(project_dir, project["output"])
    count = precheck(project_dir, project)
    if count == 0:
        print(f"warning: `{project['module']}` declares no tools, resources or prompts",
              file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="berth-build-") as staging:
        stage(project_dir, staging)
        with open(os.path.join(staging, ENTRY + ".py"), "w") as f:
            f.write(entry_source(project))
        tmp_out = os.path.join(staging, "out.wasm")
        componentize(project, staging, tmp_out, verbose)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        shutil.move(tmp_out, out)
    size = os.path.getsize(out) / 1e6
    world = WORLD_KEYVALUE if project["keyvalue"] else WORLD_PLAIN
    print(f"built {_rel(out, project_dir)} ({size:.1f} MB, world {world}) "
          f"in {time.monotonic() - start:.1f} s")
    return out


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m berth_sdk",
                                     description="Berth plugin SDK for Python")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the project into a WebAssembly component")
    b.add_argument("project", nargs="?", default=".", help="project folder (default: .)")
    b.add_argument("-o", "--output", help="output .wasm (default: [tool.berth] output, or "
                                          "<name>.wasm in the project folder)")
    b.add_argument("-v", "--verbose", action="store_true",
                   help="show componentize-py's output and full tracebacks")
    sub.add_parser("wit", help="print the folder holding the SDK's WIT files")
    args = parser.parse_args(argv)
    if args.command == "wit":
        print(wit_dir())
        return 0
    try:
        build(args.project, args.output, args.verbose)
    except BuildError as error:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
