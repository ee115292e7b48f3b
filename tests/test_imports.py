"""The package's import graph and modules: no cycles, stylizing stays light,
no module uses another's private names, and no module is overlong."""

import ast
import os

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "magenta_style")


def _module_name(path):
    rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-len(".py")].split(os.sep)
    if rel[-1] == "__init__":
        rel = rel[:-1]
    return ".".join(rel)


def module_files():
    """{module name: path} of every module of the package (packages as their
    `__init__.py`, named like the package)."""
    modules = {}
    for root, _, files in os.walk(PACKAGE):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(root, f)
                modules[_module_name(path)] = path
    return modules


def import_graph():
    """{module: set of magenta_style modules it imports anywhere in its file}.

    Imports inside functions count too: a cycle deferred to call time is
    still a cycle in the design.
    """
    modules = module_files()
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


# -- private names stay in their module -------------------------------------

def _is_private(name):
    """`_x` and `__x` are private; dunders (`__version__`) are not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _dotted(node):
    """`a.b.c` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id] + parts[::-1])


def _absolute(name, node):
    """The module an `ImportFrom` names, relative imports resolved against `name`."""
    if not node.level:
        return node.module
    package = name.split(".")[:-node.level] if node.level else []
    return ".".join(package + ([node.module] if node.module else []))


def private_name_uses(name, source, modules):
    """Where module `name` uses a private name of another package module.

    Counted: `from magenta_style.x import _y`, and `m._y` (or `m.sub._y`)
    where `m` names a package module: `import magenta_style.x as m`,
    `from magenta_style import x as m`, `m = importlib.import_module(
    "magenta_style.x")`, or the full dotted name after `import
    magenta_style.x`. Names are resolved per file, not per scope: a local
    variable that shadows a module alias would count too.

    Args:
        name: the module's dotted name (`magenta_style.studio.engine`).
        source: its Python source.
        modules: the dotted names of all package modules.

    Returns:
        A list of `(line, "what (private to which module)")`, in line order.
    """
    tree = ast.parse(source)
    aliases = {}  # local name -> package module it refers to
    offences = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source_module = _absolute(name, node)
            for alias in node.names:
                full = f"{source_module}.{alias.name}"
                if full in modules:
                    aliases[alias.asname or alias.name] = full
                elif (source_module in modules and source_module != name
                      and _is_private(alias.name)):
                    offences.append((node.lineno, f"from {source_module} import "
                                                  f"{alias.name} (private to {source_module})"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in modules:
                    aliases[alias.asname] = alias.name
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)
              and _dotted(node.value.func) == "importlib.import_module"
              and node.value.args and isinstance(node.value.args[0], ast.Constant)
              and node.value.args[0].value in modules):
            aliases[node.targets[0].id] = node.value.args[0].value
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        chain = _dotted(node.value)
        if chain is None:
            continue
        head, *rest = chain.split(".")
        target = ".".join([aliases.get(head, head)] + rest)
        if target in modules and target != name:
            offences.append((node.lineno, f"{chain}.{node.attr} (private to {target})"))
    return sorted(offences)


def test_private_name_uses_flags_cross_module_private_names():
    modules = {"magenta_style", "magenta_style.a", "magenta_style.pkg",
               "magenta_style.pkg.b", "magenta_style.pkg.c"}
    source = (
        "import importlib\n"
        "import magenta_style.pkg.b\n"
        "from magenta_style import a\n"
        "from magenta_style.pkg import b as b_lib\n"
        "from magenta_style.pkg.b import _hidden, shown\n"
        "from magenta_style.pkg import _private_in_init\n"
        "from magenta_style.pkg.b import shown as _renamed\n"
        "from . import b as sibling\n"
        "lazy = importlib.import_module('magenta_style.a')\n"
        "x = a._helper(b_lib._TABLE, a.public, a.__name__)\n"
        "def f():\n"
        "    from magenta_style import pkg\n"
        "    return pkg.b._deep, magenta_style.pkg.b._full, lazy._cache, sibling._rel\n"
        "y = _own_helper(shown, _renamed, self._attr)\n"
    )
    found = private_name_uses("magenta_style.pkg.c", source, modules)
    assert [line for line, _ in found] == [5, 6, 10, 10, 13, 13, 13, 13], found
    text = "\n".join(what for _, what in found)
    for expected in ("from magenta_style.pkg.b import _hidden (private to magenta_style.pkg.b)",
                     "from magenta_style.pkg import _private_in_init",
                     "a._helper (private to magenta_style.a)",
                     "b_lib._TABLE (private to magenta_style.pkg.b)",
                     "pkg.b._deep (private to magenta_style.pkg.b)",
                     "magenta_style.pkg.b._full", "lazy._cache (private to magenta_style.a)",
                     "sibling._rel (private to magenta_style.pkg.b)"):
        assert expected in text, text
    # A module's own private names, dunders and other objects' are its business.
    assert private_name_uses("magenta_style.a", "def _f():\n    return _f, x.__doc__\n",
                             modules) == []


def test_no_module_uses_another_modules_private_names():
    modules = module_files()
    offences = []
    for name, path in sorted(modules.items()):
        with open(path) as f:
            found = private_name_uses(name, f.read(), modules)
        rel = os.path.relpath(path, os.path.dirname(PACKAGE))
        offences += [f"{rel}:{line}: {what}" for line, what in found]
    assert not offences, (f"{len(offences)} uses of another module's private names "
                          "(make the name public, or move the code):\n" + "\n".join(offences))


MAX_MODULE_LINES = 450


def test_no_module_is_overlong():
    # One purpose per module keeps each readable in one sitting; past this a
    # module does two things and should be split along them.
    long = []
    for _, path in sorted(module_files().items()):
        with open(path) as f:
            lines = sum(1 for _ in f)
        if lines > MAX_MODULE_LINES:
            long.append(f"{os.path.relpath(path, os.path.dirname(PACKAGE))}: {lines} lines")
    assert not long, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(long)
