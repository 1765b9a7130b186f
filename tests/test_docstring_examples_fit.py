"""Docstring examples fit the API page's code blocks at 1280 px, so that none of them scrolls.

book/api.md renders the docstrings with autodoc. A code block there holds 83 columns in a module docstring, and each
nesting level (a module-level function or class, then a method) indents it 4 columns more: 83, 79, 75, ...
The rule covers literal blocks (the indented block after a line ending in ``::``) and doctests (a ``>>>`` line with
its ``...`` continuations and expected output, up to a blank line); width is counted from the block's left edge.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "spatialdrop_edu"
MODULE_WIDTH = 83  # columns of a code block in a module docstring on the API page
NESTING_INDENT = 4  # columns each nesting level (class, function, method) takes away


def _indent(line):
    return len(line) - len(line.lstrip())


def code_blocks(doc):
    """Each literal block and doctest of a docstring, as a list of lines with the block's indentation removed."""
    lines = doc.expandtabs().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        line, block = lines[i], []
        if line.lstrip().startswith(">>>"):  # a doctest: its statements and output, up to a blank line
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
        elif line.rstrip().endswith("::") and not line.lstrip().startswith(".."):  # a literal block, not a directive
            i += 1
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > _indent(line)):
                block.append(lines[i])
                i += 1
        else:
            i += 1
        block = [b for b in block if b.strip()]
        if block:
            edge = min(_indent(b) for b in block)
            blocks.append([b[edge:].rstrip() for b in block])
    return blocks


def docstrings(tree):
    """(name, nesting depth, docstring) of a module and of every class and function in it: the module is depth 0."""

    def walk(node, name, depth):
        doc = ast.get_docstring(node, clean=True)
        if doc:
            yield name, depth, doc
        for child in _scopes(node):
            yield from walk(child, f"{name}.{child.name}" if depth else child.name, depth + 1)

    yield from walk(tree, "<module>", 0)


def _scopes(node):
    """The classes and functions directly inside ``node``, also those under an ``if`` or ``try`` of its body."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield child
        elif not isinstance(child, ast.expr):
            yield from _scopes(child)


def test_docstring_examples_fit_the_api_page():
    too_wide = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, depth, doc in docstrings(tree):
            limit = MODULE_WIDTH - NESTING_INDENT * depth
            for block in code_blocks(doc):
                too_wide += [
                    f"{path.relative_to(PACKAGE.parent)}:{name}:{len(b)}/{limit}: {b}" for b in block if len(b) > limit
                ]
    assert not too_wide, f"{len(too_wide)} docstring example lines are wider than the API page:\n" + "\n".join(too_wide)


def test_code_blocks_finds_literal_blocks_and_doctests():
    doc = "Prose::\n\n    literal\n      deeper\n\nProse.\n\n.. math::\n\n    x^2\n\n>>> f(1,\n...   2)\n3\n\nProse."
    assert code_blocks(doc) == [["literal", "  deeper"], [">>> f(1,", "...   2)", "3"]]
