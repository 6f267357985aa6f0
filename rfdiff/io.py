"""Results to JSON and back: one mechanism for every rfdiff result class.

Every public result (``Spectrum``, ``Timescales``, ``LearningCurves``, ``PhaseDiagram``,
``simulate.FlowCurves``, ...) is a frozen dataclass that derives from :class:`Serializable`, which
gives it :meth:`~Serializable.to_dict` and :meth:`~Serializable.from_dict`. The dict is JSON-safe and
self-describing::

    {"type": "Spectrum", "rfdiff_version": "0.1.0", "parameters": {...RFModel...},
     "atoms": [[0.0018, 0.859]], "lam": {"__ndarray__": "float64", "shape": [812], "data": [...]}, ...}

* ``"type"`` names the class (its registry key: the class name, unique across rfdiff);
  ``"rfdiff_version"`` is written at the top level only; ``"parameters"`` (optional) is the
  :class:`~rfdiff.RFModel` the result was computed for, for result classes that do not hold it
  themselves (pass ``parameters=model``).
* Fields are stored under their own names. Floats are JSON numbers (written with 17 significant
  digits, so they come back bit for bit); NaN and infinities, which JSON cannot hold, are the
  strings ``"nan"``, ``"inf"``, ``"-inf"``; numpy arrays are ``{"__ndarray__": dtype, "shape": ...,
  "data": nested lists}`` (complex ones with ``"data": {"real": ..., "imag": ...}``); tuples are
  lists, restored as tuples from the field's annotation; nested results carry their own ``"type"``.
* Arrays with more than ``max_array_size`` elements (default 100 000, e.g. the p x p matrices of
  ``simulate.CorrelationMatrices`` or the node x node two-point table of a contour) are **omitted**:
  the dict keeps their dtype and shape and a note, and :func:`from_dict` restores the field as
  ``None``. Pass ``max_array_size=None`` to keep everything.
* Activations are stored by name. ``"tanh"``, ``"erf"``, ``"relu"`` and ``"centred(<one of them>)"``
  come back (a centred activation inside an RFModel is re-centred at that model's Gamma_t, which is
  the only scale RFModel accepts); a user callable cannot be restored and :func:`from_dict` says so.

:func:`load` reads a JSON file written by :func:`save`, by ``rfdiff ... --json`` (the typed parts)
or the report's ``report.json`` and returns the same objects; :func:`save` writes atomically.

Examples
--------
>>> import json
>>> import rfdiff
>>> m = rfdiff.RFModel(psi_p=4, psi_n=2, t=0.1)
>>> d = m.constants.to_dict(parameters=m)
>>> d["type"], d["parameters"]["psi_p"]
('Constants', 4.0)
>>> rfdiff.io.from_dict(json.loads(json.dumps(d))) == m.constants
True
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "DEFAULT_MAX_ARRAY_SIZE",
    "Serializable",
    "dumps",
    "from_dict",
    "load",
    "registered",
    "save",
    "to_dict",
    "to_json_safe",
    "write_atomic",
]

#: Arrays with more elements than this are omitted from the dict unless asked for (dtype and shape kept).
DEFAULT_MAX_ARRAY_SIZE = 100_000

_REGISTRY: dict[str, type] = {}
_RESERVED = ("type", "rfdiff_version", "parameters")
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class Serializable:
    """Mixin for frozen result dataclasses: ``to_dict()`` and ``from_dict()``, registered by class name.

    A class opts in with one line, ``class Spectrum(Serializable):`` above ``@dataclass(frozen=True)``;
    nothing else is needed as long as its fields are numbers, strings, numpy arrays, tuples, dicts,
    ``RFModel``/``DataSpectrum``/``Activation`` values or other serializable results.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Point(Serializable):
    ...     x: float
    ...     label: str = "p"
    >>> Point.from_dict(Point(float("nan")).to_dict())
    Point(x=nan, label='p')
    """

    __slots__ = ()
    _io_name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__name__
        old = _REGISTRY.get(name)
        if (old is not None and old.__module__ != cls.__module__
                and old.__module__.startswith("rfdiff.") and cls.__module__.startswith("rfdiff.")):
            raise TypeError(f"two rfdiff result classes are called {name!r}: "
                            f"{old.__module__} and {cls.__module__}")
        _REGISTRY[name] = cls
        cls._io_name = name

    def to_dict(self, *, parameters: Any = None, max_array_size: int | None = DEFAULT_MAX_ARRAY_SIZE,
                ) -> dict[str, Any]:
        """JSON-safe dict with ``"type"``, ``"rfdiff_version"``, optional ``"parameters"`` and the fields.

        Parameters
        ----------
        parameters : RFModel or dict, optional
            The parameters the result was computed for, stored under ``"parameters"`` (for results
            that do not hold their model themselves).
        max_array_size : int or None
            Arrays with more elements are omitted (dtype, shape and a note kept); None keeps all.
        """
        return to_dict(self, parameters=parameters, max_array_size=max_array_size)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """The object back from :meth:`to_dict`'s dict (after a JSON round trip or not)."""
        obj = from_dict(data)
        if not isinstance(obj, cls):
            raise TypeError(f"the dict holds a {type(obj).__name__}, not a {cls.__name__}")
        return obj


def registered() -> dict[str, type]:
    """The result classes known to :func:`from_dict` (name -> class), after importing rfdiff's modules."""
    _import_all()
    return dict(sorted(_REGISTRY.items()))


def _version() -> str:
    from . import __version__

    return __version__


# ----------------------------------------------------------------------------- encoding


def _float(x: float) -> float | str:
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _nested(a: np.ndarray) -> Any:
    """Nested lists of a real array, non-finite entries as the strings 'nan', 'inf', '-inf'."""
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        obj = a.astype(object)
        obj[np.isnan(a)] = "nan"
        obj[np.isposinf(a)] = "inf"
        obj[np.isneginf(a)] = "-inf"
        return obj.tolist()
    return a.tolist()


def _array(a: np.ndarray, max_array_size: int | None) -> dict[str, Any]:
    if a.dtype.kind not in "biufc":
        raise TypeError(f"cannot store a numpy array of dtype {a.dtype} in JSON")
    out: dict[str, Any] = {"__ndarray__": a.dtype.name, "shape": list(a.shape)}
    if max_array_size is not None and a.size > max_array_size:
        out["omitted"] = (f"{a.size} elements > max_array_size = {max_array_size}; "
                          "to_dict(..., max_array_size=None) keeps it")
        return out
    if a.dtype.kind == "c":
        out["data"] = {"real": _nested(a.real), "imag": _nested(a.imag)}
    else:
        out["data"] = _nested(a)
    return out


def _encode(x: Any, max_array_size: int | None) -> Any:
    from dataclasses import is_dataclass

    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return _float(x)
    if isinstance(x, (complex, np.complexfloating)):
        return {"__complex__": [_float(x.real), _float(x.imag)]}
    if isinstance(x, np.ndarray):
        return _array(x, max_array_size)
    if isinstance(x, (list, tuple)):
        return [_encode(v, max_array_size) for v in x]
    if isinstance(x, dict):
        return {str(k): _encode(v, max_array_size) for k, v in x.items()}
    if isinstance(x, np.random.SeedSequence):
        return {"__seedsequence__": {"entropy": _encode(x.entropy, None),
                                     "spawn_key": [int(k) for k in x.spawn_key],
                                     "pool_size": int(x.pool_size)}}
    if isinstance(x, Path):
        return str(x)
    if type(x).__name__ == "Activation" and type(x).__module__ == "rfdiff.activations":
        return {"type": "Activation", "name": x.name}
    if isinstance(x, Serializable) and is_dataclass(x):
        return _fields(x, max_array_size)
    raise TypeError(f"cannot store a {type(x).__name__} in JSON (not an rfdiff result, number, string, "
                    "array, tuple or dict)")


def _fields(obj: Any, max_array_size: int | None) -> dict[str, Any]:
    from dataclasses import fields

    out: dict[str, Any] = {"type": type(obj)._io_name}
    for f in fields(obj):
        if f.name in _RESERVED and f.name != "parameters":
            raise TypeError(f"{type(obj).__name__}.{f.name}: field name reserved by rfdiff.io")
        out[f.name] = _encode(getattr(obj, f.name), max_array_size)
    return out


def to_dict(obj: Any, *, parameters: Any = None,
            max_array_size: int | None = DEFAULT_MAX_ARRAY_SIZE) -> dict[str, Any]:
    """JSON-safe dict of a result (see the module docstring for the format).

    Parameters
    ----------
    obj : Serializable
        An rfdiff result.
    parameters : RFModel or dict, optional
        Stored under ``"parameters"``.
    max_array_size : int or None
        Larger arrays are omitted (None: keep all).

    Examples
    --------
    >>> import rfdiff
    >>> {"activation", "psi_p", "psi_n", "t"} <= set(to_dict(rfdiff.RFModel(2, 1, 0.1)))
    True
    """
    from dataclasses import is_dataclass

    if not (isinstance(obj, Serializable) and is_dataclass(obj)):
        raise TypeError(f"to_dict needs an rfdiff result (a Serializable dataclass), "
                        f"got {type(obj).__name__}")
    body = _fields(obj, max_array_size)
    out: dict[str, Any] = {"type": body.pop("type"), "rfdiff_version": _version()}
    if parameters is not None:
        if "parameters" in body:
            raise TypeError(f"{type(obj).__name__} has its own 'parameters' field")
        out["parameters"] = _encode(parameters, max_array_size)
    out.update(body)
    return out


def to_json_safe(x: Any, *, max_array_size: int | None = DEFAULT_MAX_ARRAY_SIZE) -> Any:
    """Any nesting of dicts, lists, numbers, arrays and results as JSON-safe values (results typed).

    Examples
    --------
    >>> to_json_safe({"x": float("inf"), "n": np.int64(3)})
    {'x': 'inf', 'n': 3}
    """
    return _encode(x, max_array_size)


def dumps(obj: Any, *, parameters: Any = None, max_array_size: int | None = DEFAULT_MAX_ARRAY_SIZE,
          indent: int | None = None) -> str:
    """``json.dumps(to_dict(obj, ...))`` (strict JSON: no NaN literals)."""
    return json.dumps(to_dict(obj, parameters=parameters, max_array_size=max_array_size), indent=indent,
                      allow_nan=False)


# ----------------------------------------------------------------------------- decoding


def _import_all() -> None:
    """Import every module that defines result classes (so that the registry is complete)."""
    import importlib

    for name in ("rfdiff", "rfdiff.simulate", "rfdiff.report"):
        importlib.import_module(name)


def _cls(name: Any) -> type:
    if not isinstance(name, str):
        raise ValueError(f"'type' must be a class name, got {name!r}")
    if name not in _REGISTRY:
        _import_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown result type {name!r} (known: {', '.join(sorted(_REGISTRY))})") from None


def _floaty(x: Any) -> Any:
    """Strings 'nan', 'inf', '-inf' back to floats inside nested lists."""
    if isinstance(x, list):
        return [_floaty(v) for v in x]
    if isinstance(x, str) and x in _NONFINITE:
        return _NONFINITE[x]
    return x


def _decode_array(d: dict[str, Any]) -> np.ndarray | None:
    if "omitted" in d:
        return None
    dtype = np.dtype(d["__ndarray__"])
    shape = tuple(d["shape"])
    data = d["data"]
    if dtype.kind == "c":
        real = np.array(_floaty(data["real"]), dtype=np.float64)
        imag = np.array(_floaty(data["imag"]), dtype=np.float64)
        arr = (real + 1j * imag).astype(dtype)
    else:
        arr = np.array(_floaty(data) if dtype.kind == "f" else data, dtype=dtype)
    arr = arr.reshape(shape)
    arr.setflags(write=False)
    return arr


def _as_tuples(x: Any) -> Any:
    return tuple(_as_tuples(v) for v in x) if isinstance(x, list) else x


def _decode(x: Any, annotation: str = "") -> Any:
    if isinstance(x, dict):
        if "type" in x and isinstance(x["type"], str):
            return _from_typed(x)
        if "__ndarray__" in x:
            return _decode_array(x)
        if "__complex__" in x:
            re_, im_ = _floaty(x["__complex__"])
            return complex(float(re_), float(im_))
        if "__seedsequence__" in x:
            s = x["__seedsequence__"]
            return np.random.SeedSequence(s["entropy"], spawn_key=tuple(s["spawn_key"]),
                                          pool_size=s["pool_size"])
        return {k: _decode(v) for k, v in x.items()}
    if isinstance(x, list):
        items = [_decode(v, annotation) for v in x]
        return _as_tuples(items) if annotation.replace(" ", "").startswith("tuple") else items
    if isinstance(x, str) and x in _NONFINITE and "float" in annotation and "str" not in annotation:
        return _NONFINITE[x]
    return x


def _activation(name: str, gamma2: float | None = None) -> Any:
    from .activations import centred, get_activation

    m = re.fullmatch(r"centred\((\w+)\)", name)
    if m is not None and gamma2 is not None:
        return centred(get_activation(m.group(1)), math.sqrt(gamma2))
    try:
        return get_activation(name)
    except ValueError:
        raise ValueError(f"activation {name!r} is a user callable: JSON keeps only its name, so it cannot "
                         "be restored; rebuild the object with the callable") from None


def _from_typed(d: dict[str, Any]) -> Any:
    from dataclasses import MISSING, fields

    name = d["type"]
    if name == "Activation":
        return _activation(d["name"])
    cls = _cls(name)
    kwargs: dict[str, Any] = {}
    known = set()
    for f in fields(cls):
        known.add(f.name)
        if not f.init:
            continue
        if name == "RFModel" and f.name == "activation" and isinstance(d.get("activation"), dict):
            continue  # below: a centred activation needs the model's Gamma_t
        if f.name not in d:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ValueError(f"{name}: field {f.name!r} is missing (written by rfdiff "
                                 f"{d.get('rfdiff_version', '?')}, this is {_version()})")
            continue
        kwargs[f.name] = _decode(d[f.name], str(f.type))
    unknown = set(d) - known - set(_RESERVED)
    if unknown:
        raise ValueError(f"{name}: unknown field(s) {sorted(unknown)} (written by rfdiff "
                         f"{d.get('rfdiff_version', '?')}, this is {_version()})")
    if name == "RFModel" and isinstance(d.get("activation"), dict):
        from .model import DataSpectrum

        data = kwargs.get("data", DataSpectrum.isotropic())
        t = float(kwargs["t"])
        gamma2 = math.exp(-2.0 * t) * data.sigma_x2 - math.expm1(-2.0 * t)
        kwargs["activation"] = _activation(d["activation"]["name"], gamma2)
    return cls(**kwargs)


def from_dict(data: dict[str, Any]) -> Any:
    """The result object of a dict from :func:`to_dict` (or its JSON round trip).

    Omitted large arrays come back as ``None``; the ``"parameters"`` entry, when present, is not
    part of the object (read it with ``from_dict(data["parameters"])``).

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(2, 1, 0.1, data=rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5]))
    >>> from_dict(to_dict(m)) == m
    True
    """
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ValueError("not an rfdiff result: a dict with a 'type' entry is needed")
    return _from_typed(data)


def load(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file written by :func:`save` (or ``report.json``) and return the object(s).

    A top-level dict with a ``"type"`` becomes that result; any other JSON value is returned with every
    typed dict inside it decoded (so the typed parts of a ``--json`` output come back as objects).

    Examples
    --------
    >>> import os, tempfile, rfdiff
    >>> path = os.path.join(tempfile.mkdtemp(), "c.json")
    >>> c = rfdiff.RFModel(2, 1, 0.1).constants
    >>> rfdiff.io.save(c, path)
    >>> rfdiff.load(path) == c
    True
    """
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return from_dict(data) if isinstance(data, dict) and "type" in data else _decode(data)


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it (never a half-written file)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(obj: Any, path: str | os.PathLike[str], *, parameters: Any = None,
         max_array_size: int | None = DEFAULT_MAX_ARRAY_SIZE, indent: int | None = None) -> None:
    """Write :func:`to_dict` of ``obj`` as JSON to ``path``, atomically (read it back with :func:`load`)."""
    write_atomic(path, dumps(obj, parameters=parameters, max_array_size=max_array_size, indent=indent))
