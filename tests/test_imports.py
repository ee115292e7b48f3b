"""The package's import graph: no cycles, and stylizing stays light."""

import ast
import os

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "magenta_style")


def _module_name(path):
    rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-len(".py")].split(os.sep)
    if rel[-1] == "__init__":
        rel = rel[:-1]
    return ".".join(rel)


def import_graph():
    """{module: set of magenta_style modules it imports anywhere in its file}.

    Imports inside functions count too: a cycle deferred to call time is
    still a cycle in the design.
    """
    modules = {}
    for root, _, files in os.walk(PACKAGE):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(root, f)
                modules[_module_name(path)] = path
    graph = {}
    for name, path in modules.items():
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        deps = set()
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                # `from pkg import module` names a module; `from module import x` not.
                if t in modules and t != name:
                    deps.add(t)
                    break
        # Importing a package runs its __init__: only the module itself counts
        # here, since this package's __init__ files import nothing.
        graph[name] = deps
    return graph


def find_cycle(graph):
    """One cycle as a list of modules, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "magenta_style.training.loop" in graph  # The walk found the modules.
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


LIBRARY_PACKAGES = ("data", "losses", "model", "optimization", "storage", "stylization",
                    "training")


def test_library_subpackage_inits_import_nothing():
    # Importing magenta_style.model must not pull in training, and so on:
    # each of these __init__ files is a docstring only.
    graph = import_graph()
    for package in LIBRARY_PACKAGES:
        deps = graph[f"magenta_style.{package}"]
        assert not deps, f"magenta_style/{package}/__init__.py imports {sorted(deps)}"


def _closure(graph, start):
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def test_stylizing_reaches_no_vgg_training_or_data_code():
    # Every module stylizing (and exporting) can import, function-level
    # imports included: none of the loss network, training or data pipelines.
    graph = import_graph()
    for start in ("magenta_style.stylization.api", "magenta_style.stylization.batch_files",
                  "magenta_style.export"):
        reached = _closure(graph, start)
        heavy = sorted(m for m in reached
                       if m.startswith(("magenta_style.losses", "magenta_style.training",
                                        "magenta_style.data", "magenta_style.optimization")))
        assert not heavy, f"{start} reaches {heavy}"


def test_stylize_at_run_time_loads_no_vgg_training_or_data_module():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, magenta_style\n"
        "out = magenta_style.stylize(np.full((24, 32, 3), 0.5, 'float32'), which_styles=0)\n"
        "assert out.shape == (24, 32, 3), out.shape\n"
        "heavy = [m for m in sys.modules if m.startswith(('magenta_style.losses', "
        "'magenta_style.training', 'magenta_style.data', 'magenta_style.optimization'))]\n"
        "assert not heavy, heavy\n")
    repo = os.path.dirname(PACKAGE)
    run = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=repo))
    assert run.returncode == 0, run.stderr[-2000:]
