"""wasmtime-py beyond its public API, fenced: the only module naming wasmtime-py's private parts.

The harness calls its own exports tens of times per run, and wasmtime-py's
public API pays for generality there.  Three operations therefore go to
wasmtime's C API through wasmtime-py's private bindings (``wasmtime._ffi``,
``wasmtime._extern.wrap_extern``, ``wasmtime._func.enter_wasm``,
``Store._context()``, ``Func._func``), written for wasmtime-py
:data:`WRITTEN_FOR`.x:

* :meth:`Access.exports`: an instance's exports, each looked up by name on
  first use (``Instance.exports`` wraps all ~60 of them up front, the largest
  cost of a fresh instance otherwise);
* :meth:`Access.call_integers`: a call of a function whose parameters and
  results are all i32/i64, types known in advance (``Func.__call__`` asks for
  the function's type and converts every value through ``Val`` each time);
  traps and host exceptions surface exactly as through ``Func.__call__``;
* :meth:`Access.func_key`: a function reference's identity, the VMFuncRef
  pointer wasmtime keeps in each handle.

Under another wasmtime-py version, when any of these private names is
missing, or with ``RESUMEFUZZ_WASMTIME_PUBLIC_API=1`` in the environment, the
public API serves instead (:class:`PublicAccess`): slower, same results.
wasmtime-py offers no public function identity, so there
:meth:`~PublicAccess.func_key` compares the handles' bytes, whatever their
fields are called; a wasmtime-py without ``Func._func`` cannot tell
functions apart, and a run that needs to stops as unsupported.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Hashable, Mapping
from importlib import metadata
from typing import Any

import wasmtime

from .errors import Unsupported

__all__ = ["ACCESS", "Access", "PrivateAccess", "PublicAccess", "PUBLIC_API_ENV", "WRITTEN_FOR", "choose",
           "integer_kinds"]

WRITTEN_FOR = 50  # the wasmtime-py major version the private path was written for
PUBLIC_API_ENV = "RESUMEFUZZ_WASMTIME_PUBLIC_API"

Kinds = tuple[tuple[int, ...], tuple[int, ...]]  # wasmtime_valkind_t of (params, results)
_KIND = {"i32": 0, "i64": 1}  # wasmtime_valkind_t of the integer types


def integer_kinds(func_type: wasmtime.FuncType) -> Kinds | None:
    """The Kinds of FUNC_TYPE for :meth:`Access.call_integers` if all its types are i32/i64, else None."""
    params, results = [str(t) for t in func_type.params], [str(t) for t in func_type.results]
    if not all(t in _KIND for t in (*params, *results)):
        return None
    return tuple(_KIND[t] for t in params), tuple(_KIND[t] for t in results)


class Access:
    """How the runtime reaches into wasmtime-py; see the module doc."""

    def exports(self, store: wasmtime.Store, instance: wasmtime.Instance) -> Any:
        """INSTANCE's exports: ``[name]`` gives the export or raises KeyError."""
        raise NotImplementedError

    def call_integers(self, ctx: Any, func: wasmtime.Func, kinds: Kinds, args: tuple[int, ...]) -> list[int]:
        """Call FUNC (all parameters and results i32/i64 of KINDS) in CTX (a Store or a Caller)."""
        raise NotImplementedError

    def func_key(self, func: wasmtime.Func) -> Hashable:
        """Equal for two handles of the same function of one Store, different otherwise."""
        raise NotImplementedError


class PublicAccess(Access):
    """wasmtime-py's public API only (but for function identity, see the module doc)."""

    def exports(self, store: wasmtime.Store, instance: wasmtime.Instance) -> Any:
        return instance.exports(store)

    def call_integers(self, ctx: Any, func: wasmtime.Func, kinds: Kinds, args: tuple[int, ...]) -> list[int]:
        raw = func(ctx, *args)
        return [] if raw is None else list(raw) if isinstance(raw, list) else [raw]

    def func_key(self, func: wasmtime.Func) -> Hashable:
        handle = getattr(func, "_func", None)
        if not isinstance(handle, ctypes.Structure):
            raise Unsupported(f"wasmtime-py {_version()} exposes no function handle, so function references "
                              f"cannot be identified (resumefuzz was written for wasmtime-py {WRITTEN_FOR}.x)")
        return ctypes.string_at(ctypes.addressof(handle), ctypes.sizeof(handle))


class PrivateAccess(Access):
    """wasmtime's C API through wasmtime-py's bindings (wasmtime-py WRITTEN_FOR.x).

    Raises ImportError or AttributeError if a private name it uses is missing.
    """

    def __init__(self) -> None:
        from wasmtime import _ffi
        from wasmtime._extern import wrap_extern
        from wasmtime._func import enter_wasm

        self._ffi, self._wrap_extern, self._enter_wasm = _ffi, wrap_extern, enter_wasm
        self._val_t, self._extern_t = _ffi.wasmtime_val_t, _ffi.wasmtime_extern_t
        self._func_call, self._export_get = _ffi.wasmtime_func_call, _ffi.wasmtime_instance_export_get
        self._error = wasmtime.WasmtimeError._from_ptr
        for owner, attribute in ((wasmtime.Store, "_context"), (wasmtime.Caller, "_context"),
                                 (wasmtime.Instance, "_instance"), (wasmtime.Func, "_func")):
            if not hasattr(owner, attribute) and attribute not in getattr(owner, "__annotations__", {}):
                raise AttributeError(f"{owner.__name__}.{attribute}")
        if "__private" not in {name for name, *_ in _ffi.wasmtime_func_t._fields_}:
            raise AttributeError("wasmtime_func_t.__private")

    def exports(self, store: wasmtime.Store, instance: wasmtime.Instance) -> Any:
        return _Exports(self, store, instance)

    def call_integers(self, ctx: Any, func: wasmtime.Func, kinds: Kinds, args: tuple[int, ...]) -> list[int]:
        params_kinds, result_kinds = kinds
        params = (self._val_t * len(args))()
        for param, kind, value in zip(params, params_kinds, args):
            param.kind = kind
            if kind:
                param.of.i64 = value
            else:
                param.of.i32 = value
        results = (self._val_t * len(result_kinds))()
        with self._enter_wasm(ctx) as trap:
            error = self._func_call(ctx._context(), ctypes.byref(func._func), params, len(args),
                                    results, len(result_kinds), trap)
            if error:
                raise self._error(error)
        return [r.of.i64 if kind else r.of.i32 for r, kind in zip(results, result_kinds)]

    def func_key(self, func: wasmtime.Func) -> Hashable:
        return getattr(func._func, "__private")


class _Exports:
    """An instance's exports, each looked up by name on first use (PrivateAccess)."""

    def __init__(self, access: PrivateAccess, store: wasmtime.Store, instance: wasmtime.Instance) -> None:
        self._access, self._store, self._instance = access, store, instance
        self._cache: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        found = self._cache.get(name)
        if found is None:
            access = self._access
            raw = name.encode()
            item = access._extern_t()
            if not access._export_get(self._store._context(), ctypes.byref(self._instance._instance),
                                      raw, len(raw), ctypes.byref(item)):
                raise KeyError(name)
            found = self._cache[name] = access._wrap_extern(item)
        return found


def _version() -> str:
    try:
        return metadata.version("wasmtime")
    except metadata.PackageNotFoundError:
        return "(unknown version)"


def choose(environ: Mapping[str, str] = os.environ) -> Access:
    """The private path if this is the wasmtime-py it was written for and nothing forbids it, else the public."""
    if environ.get(PUBLIC_API_ENV, "") not in ("", "0"):
        return PublicAccess()
    if _version().split(".")[0] != str(WRITTEN_FOR):
        return PublicAccess()
    try:
        return PrivateAccess()
    except (ImportError, AttributeError):
        return PublicAccess()


#: the access every Machine uses
ACCESS = choose()
