"""Which functions of a module are the same function to the program: identical bodies.

wasm cannot compare function references (funcref has no equality), so two
functions with identical types and bodies are indistinguishable to the
program, and an optimizing transform may merge them (Binaryen's
duplicate-function-elimination): a table slot or a funcref then names the
survivor.  The transform oracle (A vs B, under an optimizing engine) compares
function references by the class computed here instead of by index.

Bodies are compared as canonical text (`wasm-tools print` of the stripped
module: locals and labels are numbered per function), with type references
replaced by their signatures and function references by the class of the
function they name.  Classes are refined until stable, so f and g that call
two merged functions are one class too, as Binaryen's pass iterates.
"""

from __future__ import annotations

import re

from .instrumentation import load_text

_TYPE_REF = re.compile(r"\$#type\d+\b")
_FUNC_REF = re.compile(r"\$#func\d+\b")


def function_classes(wasm: bytes) -> dict[int, int]:
    """Function index of WASM -> the smallest index of a function with an identical body.

    Imported functions are only ever themselves.
    """
    module = load_text(wasm)
    signature = {name: f"{' '.join(sig.params)} -> {' '.join(sig.results)}" for name, sig in module.types.items()}
    index = {fn.name: fn.index for fn in module.funcs}
    texts: dict[int, object] = {}
    refs: dict[int, tuple[int, ...]] = {}
    for fn in module.funcs:
        if fn.field is None:
            texts[fn.index], refs[fn.index] = ("import", fn.index), ()
            continue
        named: list[int] = []

        def function(match: re.Match[str], named: list[int] = named) -> str:
            named.append(index[match.group(0)])
            return "$#func"

        # the header (name, index, type) is replaced by the signature; locals and body follow
        body = "\n".join(fn.field.lines[1:])
        body = _TYPE_REF.sub(lambda m: f"(; {signature[m.group(0)]} ;)", body)
        texts[fn.index] = (signature[fn.type], _FUNC_REF.sub(function, body))
        refs[fn.index] = tuple(named)
    classes = _numbered(texts)
    while True:  # split classes whose members name functions of different classes, until stable
        refined = _numbered({i: (classes[i], tuple(classes[j] for j in refs[i])) for i in texts})
        if len(set(refined.values())) == len(set(classes.values())):
            break
        classes = refined
    smallest: dict[int, int] = {}
    for i in sorted(classes):
        smallest.setdefault(classes[i], i)
    return {i: smallest[c] for i, c in classes.items()}


def _numbered(keys: dict[int, object]) -> dict[int, int]:
    ids: dict[object, int] = {}
    return {i: ids.setdefault(key, len(ids)) for i, key in keys.items()}


def joined(*partitions: dict[int, int]) -> dict[int, int]:
    """The finest partition coarser than each of PARTITIONS (index -> representative maps): two
    indices share a class if any partition puts them together, transitively.  Each class is named
    by its smallest index."""
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.setdefault(i, i) != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for partition in partitions:
        for i, representative in partition.items():
            a, b = root(i), root(representative)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {i: root(i) for i in parent}
