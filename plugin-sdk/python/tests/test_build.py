"""The build command's native half: project reading, the pre-check's error messages, the
generated entry module and the WIT it ships. (componentize-py itself is exercised only
when BERTH_SDK_COMPONENTIZE=1, since it is a third-party package.)"""

import contextlib
import importlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

from berth_sdk import _build, _registry, kv, testing

PYPROJECT = """\
[project]
name = "demo"
version = "0.2.0"
description = "A demo"

[tool.berth]
module = "app"
"""


_folders = []


def tearDownModule():
    for folder in _folders:
        shutil.rmtree(folder, ignore_errors=True)


def project(app_source, pyproject=PYPROJECT, extra=None):
    folder = tempfile.mkdtemp(prefix="berth-sdk-test-")
    _folders.append(folder)
    with open(os.path.join(folder, "pyproject.toml"), "w") as f:
        f.write(pyproject)
    if app_source is not None:
        with open(os.path.join(folder, "app.py"), "w") as f:
            f.write(textwrap.dedent(app_source))
    for name, source in (extra or {}).items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(textwrap.dedent(source))
    return folder


def run_main(*args):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = _build.main(list(args))
    return code, err.getvalue()


GOOD = """\
from berth_sdk import tool

@tool
def greet(name: str) -> str:
    \"\"\"Greets.\"\"\"
    return "hi " + name
"""

NO_BERTH = """\
[project]
name = "demo"
version = "0.2.0"
"""

STATEFUL = """\
from berth_sdk import kv, tool

@tool
def remember() -> str:
    \"\"\"Uses state.\"\"\"
    kv.open("b").set("k", 1)
    return "ok"
"""


class BuildTests(unittest.TestCase):
    def test_wit_is_shipped_with_the_package(self):
        folder = _build.wit_dir()
        self.assertTrue(os.path.isfile(os.path.join(folder, "world.wit")))
        with open(os.path.join(folder, "deps", "berth-plugin", "plugin.wit")) as f:
            self.assertIn("package berth:plugin@0.3.0;", f.read())
        self.assertTrue(os.path.isfile(os.path.join(folder, "deps", "wasi-keyvalue",
                                                    "store.wit")))

    def test_project_settings(self):
        folder = project(GOOD)
        p = _build.load_project(folder)
        self.assertEqual((p["name"], p["version"], p["module"], p["keyvalue"], p["output"]),
                         ("demo", "0.2.0", "app", False, "demo.wasm"))
        self.assertEqual(_build.precheck(folder, p), 1)
        source = _build.entry_source(p)
        self.assertIn("import app", source)
        self.assertIn("from berth_sdk._export import Guest, Events, Needs, Prompts, "
                      "Completion, Icons", source)
        compile(source, "entry", "exec")

    def test_each_precheck_imports_its_own_module(self):
        one = project(GOOD)
        two = project(GOOD + """
@tool
def wave(name: str) -> str:
    \"\"\"Waves.\"\"\"
    return "o/ " + name
""")
        self.assertEqual(_build.precheck(one, _build.load_project(one)), 1)
        self.assertEqual(_build.precheck(two, _build.load_project(two)), 2)
        self.assertEqual(_build.precheck(one, _build.load_project(one)), 1)
        self.assertNotIn("app", sys.modules)

    def test_state_without_tool_berth_is_refused_natively_as_built(self):
        # README: `keyvalue` defaults to false, so a project without [tool.berth] is built
        # without wasi:keyvalue and its kv refuses; natively kv refuses the same way.
        folder = project(STATEFUL, NO_BERTH)
        self.assertIs(_build.load_project(folder)["keyvalue"], False)
        sys.modules.pop("app", None)
        previous = _registry.replace(_registry.Registry())
        sys.path.insert(0, folder)
        try:
            importlib.import_module("app")  # as a native test of the project does
            with self.assertRaises(testing.CallError) as caught:
                testing.call("remember")
            self.assertIn("built without state", caught.exception.message)
        finally:
            sys.path.remove(folder)
            sys.modules.pop("app", None)
            _registry.replace(previous)
            kv.clear_for_test()

    def test_unknown_berth_key(self):
        folder = project(GOOD, PYPROJECT + "keyvalues = true\n")
        code, err = run_main("build", folder)
        self.assertEqual(code, 1)
        self.assertIn("unknown keys keyvalues", err)

    def test_syntax_error_names_file_and_line(self):
        folder = project("from berth_sdk import tool\n\ndef broken(:\n    pass\n")
        code, err = run_main("build", folder)
        self.assertEqual(code, 1)
        self.assertIn("app.py:3: syntax error", err)
        self.assertNotIn("Traceback", err)

    def test_missing_module_names_file_and_module(self):
        folder = project("import helper\n", extra={"helper.py": "import not_there_at_all\n"})
        code, err = run_main("build", folder)
        self.assertEqual(code, 1)
        self.assertIn("helper.py:1: cannot import: No module named 'not_there_at_all'", err)
        self.assertNotIn("Traceback", err)

    def test_declaration_error(self):
        folder = project("""\
            from berth_sdk import tool

            @tool
            def f(x: complex) -> str:
                \"\"\"F.\"\"\"
        """)
        code, err = run_main("build", folder)
        self.assertEqual(code, 1)
        self.assertIn("invalid declaration: tool `f` (function `f` (app.py:3)): parameter `x`",
                      err)

    def test_top_level_exception(self):
        folder = project("x = 1 / 0\n")
        code, err = run_main("build", folder)
        self.assertEqual(code, 1)
        self.assertIn("app.py:1: importing `app` raised ZeroDivisionError", err)

    def test_missing_module_file_and_pyproject(self):
        folder = project(None)
        code, err = run_main("build", folder)
        self.assertIn("no module `app`", err)
        code, err = run_main("build", os.path.join(folder, "nowhere"))
        self.assertEqual(code, 1)
        self.assertIn("pyproject.toml: not found", err)

    @unittest.skipUnless(os.environ.get("BERTH_SDK_COMPONENTIZE") == "1",
                         "set BERTH_SDK_COMPONENTIZE=1 (with componentize-py installed)")
    def test_componentize(self):
        folder = project(GOOD)
        out = os.path.join(folder, "demo.wasm")
        proc = subprocess.run([sys.executable, "-m", "berth_sdk", "build", folder],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertGreater(os.path.getsize(out), 1_000_000)


if __name__ == "__main__":
    unittest.main()
