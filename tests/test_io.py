"""Results to JSON and back (rfdiff.io): every public result class round-trips exactly.

The check is structural and exact: after ``to_dict -> json.dumps -> json.loads -> from_dict`` every
field is bit-identical (floats are written with 17 significant digits, which round-trip float64
exactly), arrays keep dtype and shape, tuples stay tuples, NaN and infinities survive.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

import rfdiff
from rfdiff import io, simulate


def same(a, b, path="obj", limit=io.DEFAULT_MAX_ARRAY_SIZE):
    """Exact structural equality (NaN equals NaN); None on the right stands for an array omitted
    because it has more than ``limit`` elements."""
    if isinstance(a, rfdiff.Activation):
        assert a.name == b.name, path
        z = np.linspace(-3, 3, 13)
        assert np.array_equal(a(z), b(z)), path
    elif isinstance(a, np.ndarray) and b is None:
        assert a.size > limit, f"{path}: omitted although small"
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}", limit)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), f"{path}: {type(b).__name__}"
        assert a.dtype == b.dtype and a.shape == b.shape, f"{path}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), path
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), f"{path}: {type(a).__name__} vs {type(b).__name__}"
        for k, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{k}]", limit)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            same(a[k], b[k], f"{path}[{k!r}]", limit)
    elif isinstance(a, (float, np.floating)) and math.isnan(a):
        assert math.isnan(b), path
    elif isinstance(a, np.random.SeedSequence):
        assert (a.entropy, a.spawn_key, a.pool_size) == (b.entropy, b.spawn_key, b.pool_size), path
    else:
        assert (a == b and type(a) is type(b)) or (isinstance(a, np.floating) and float(a) == b), \
            f"{path}: {a!r} != {b!r}"


def roundtrip(obj, **kwargs):
    text = json.dumps(io.to_dict(obj, **kwargs), allow_nan=False)  # strict JSON: no NaN literals
    return io.from_dict(json.loads(text)), json.loads(text)


@pytest.fixture(scope="module")
def model():
    return rfdiff.RFModel(psi_p=16, psi_n=4, t=0.1)


def test_theory_results_roundtrip(model):
    ts = model.timescales()  # spectral with the dynamical times (LearningCurves, Contour) attached
    objects = [model, model.data, model.constants, model.equations, model.resolvent([1 + 1j, 0.3, 50.0]),
               model.spectrum(), ts, ts.dynamical, model.learning_curves([0.0, 1.0, 1e3, np.inf])]
    for obj in objects:
        # default size limit: the contours' node x node two-point tables (818^2 here) are omitted
        back, data = roundtrip(obj, parameters=None if isinstance(obj, rfdiff.RFModel) else model)
        same(obj, back, type(obj).__name__)
        assert data["rfdiff_version"] == rfdiff.__version__
        assert type(obj).from_dict(data) is not None


def test_parameters_are_stored_and_load_as_the_model(model):
    data = model.spectrum().to_dict(parameters=model)
    assert data["parameters"]["psi_p"] == 16.0 and data["parameters"]["activation"]["name"] == "tanh"
    assert io.from_dict(data["parameters"]) == model


def test_phase_diagram_roundtrip():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as ex:
        pd = rfdiff.phase_diagram([8.0], [2.0, 32.0], 0.1, [1e3, 1e4], n_star=[7.0], executor=ex)
    back, _ = roundtrip(pd)
    same(pd, back)


def test_simulation_results_roundtrip(model):
    mats = simulate.correlation_matrices(model, d=4, seed=np.random.SeedSequence(5), noise="exact")
    flow = simulate.gradient_flow(model, [0.0, 1.0, 10.0], matrices=mats)
    run = simulate.train(model, matrices=mats, steps=3, dtau=0.1, seed=1)
    ev = simulate.eigenvalues(model, d=4, seeds=[0, np.random.SeedSequence(3)], noise="gaussian")
    for obj in (mats, flow, run, ev):
        back, _ = roundtrip(obj, max_array_size=None)
        same(obj, back, type(obj).__name__)


def test_large_arrays_are_omitted_with_a_note(model):
    mats = simulate.correlation_matrices(model, d=4, seed=0, noise="gaussian")  # U is 64 x 64
    back, data = roundtrip(mats, max_array_size=100)
    assert data["U"]["shape"] == [64, 64] and "max_array_size" in data["U"]["omitted"]
    assert back.U is None and back.W is None  # 64 x 4 = 256 > 100
    same(mats.sigma, back.sigma)  # 4 elements: kept
    assert back.truncation_bound == mats.truncation_bound


def test_nonfinite_values_are_strict_json():
    arr = np.array([1.0, np.nan, -np.inf, np.inf])
    data = io.to_json_safe({"a": arr, "x": np.float64(np.nan), "z": complex(1, np.inf)})
    text = json.dumps(data, allow_nan=False)
    assert '"nan"' in text and '"-inf"' in text
    back = io._decode(json.loads(text))
    same(arr, back["a"])
    assert back["z"] == complex(1, np.inf)
    # typed fields: the annotation says float, so the strings come back as floats
    comp = rfdiff.dynamics.SpectralComponent("rho_1", 0.1, 0.2, 0.5, 0.3, np.inf, np.nan)
    same(comp, roundtrip(comp)[0])


def test_centred_relu_and_anisotropic_model_roundtrip():
    data = rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5])
    t = 0.3
    gamma = math.sqrt(math.exp(-2 * t) * data.sigma_x2 - math.expm1(-2 * t))
    m = rfdiff.RFModel(4, 2, t, activation=rfdiff.centred("relu", gamma), data=data, quad_order=200)
    back, stored = roundtrip(m)
    assert stored["activation"] == {"type": "Activation", "name": "centred(relu)"}
    same(m, back)


def test_user_callables_and_bad_input_are_refused():
    m = rfdiff.RFModel(4, 2, 0.1, activation=lambda x: np.sin(x))
    with pytest.raises(ValueError, match="user callable"):
        io.from_dict(io.to_dict(m))
    with pytest.raises(ValueError, match="unknown result type 'Nope'"):
        io.from_dict({"type": "Nope"})
    with pytest.raises(ValueError, match="field 'psi_n' is missing"):
        io.from_dict({"type": "RFModel", "psi_p": 1.0, "t": 0.1})
    with pytest.raises(ValueError, match="unknown field"):
        io.from_dict({"type": "DataSpectrum", "values": [1.0], "weights": [1.0], "colour": 1})
    with pytest.raises(TypeError, match="rfdiff result"):
        io.to_dict({"a": 1})
    with pytest.raises(TypeError, match="not a Constants"):
        rfdiff.Constants.from_dict(io.to_dict(rfdiff.RFModel(4, 2, 0.1)))


def test_save_and_load_file(tmp_path, model):
    sp = model.spectrum()
    path = tmp_path / "spectrum.json"
    io.save(sp, path, parameters=model)
    same(sp, rfdiff.load(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spectrum.json"]  # no temporary left behind


def test_every_public_result_class_is_registered():
    names = set(io.registered())
    for name in ("Constants", "Resolvent", "Equations", "Spectrum", "Component", "Timescales",
                 "SpectralComponent", "DynamicalTimescales", "LearningCurves", "PhaseDiagram", "RFModel",
                 "DataSpectrum", "CorrelationMatrices", "EigenvalueSample", "FlowCurves", "TrainingRun"):
        assert name in names, name
