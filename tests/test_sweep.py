"""rfdiff.sweep on a process pool, a thread pool and a local dask cluster; the cache resumes."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from rfdiff.sweep import sweep


def atom_weight(point):
    """A real rfdiff computation per grid point (module level: picklable)."""
    import rfdiff

    sp = rfdiff.RFModel(psi_p=point["psi_p"], psi_n=point["psi_n"], t=0.1).spectrum()
    return {"atoms": [list(a) for a in sp.atoms], "support": [list(s) for s in sp.support]}


def square(x):
    return x * x


GRID = [{"psi_p": p, "psi_n": n} for p in (4.0, 8.0) for n in (1.0, 2.0)]


def test_process_pool_is_ordered_and_matches_serial():
    serial = [atom_weight(pt) for pt in GRID]
    parallel = sweep(atom_weight, GRID, workers=2)
    assert parallel == json.loads(json.dumps(serial))
    # atom weight 1 - (1 + psi_n)/psi_p where positive (rank formula), in grid order
    for pt, res in zip(GRID, parallel):
        w = max(0.0, 1 - (1 + pt["psi_n"]) / pt["psi_p"])
        got = sum(a[1] for a in res["atoms"])
        assert got == pytest.approx(w, abs=1e-9)


def test_cache_resumes_without_recomputing(tmp_path):
    cache = tmp_path / "sweep.jsonl"
    first = sweep(square, [1, 2, 3], executor=ThreadPoolExecutor(2), cache=cache)
    assert first == [1, 4, 9]
    with cache.open("a") as fh:
        fh.write('{"key": "4", "val')  # a line torn by an interruption is ignored
    calls = []

    def counted(x):
        calls.append(x)
        return x * x

    with ThreadPoolExecutor(2) as pool:
        again = sweep(counted, [3, 1, 2, 4, 5], executor=pool, cache=cache)
    assert again == [9, 1, 4, 16, 25]
    assert sorted(calls) == [4, 5]  # only the new points ran


def test_bad_input():
    with pytest.raises(ValueError, match="workers"):
        sweep(square, [1], workers=0)
    with pytest.raises(ValueError, match="JSON"):
        sweep(square, [object()])


@pytest.mark.slow
@pytest.mark.ci
def test_dask_local_cluster_on_loopback():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster, \
            distributed.Client(cluster) as client:
        out = sweep(atom_weight, GRID, executor=client.get_executor())
    assert out == sweep(atom_weight, GRID, workers=1)


_AFTER_PARALLEL = '''
import numba, rfdiff
from rfdiff import simulate
from rfdiff.sweep import sweep


def corner(seed):
    m = rfdiff.RFModel(4, 2, 0.1)
    return float(simulate.correlation_matrices(m, d=8, seed=seed, threads=2).U[0, 0])


if __name__ == "__main__":
    first = corner(0)  # a Numba parallel kernel runs here, in the parent
    print(numba.threading_layer(), sweep(corner, [0, 1], workers=2)[0] == first)
'''


def test_default_pool_after_parallel_kernels(tmp_path):
    # Forking a process that runs GNU OpenMP threads aborts the child (BrokenProcessPool before the fix);
    # the default pool then starts its workers from a fork server. A subprocess, so that the state of
    # this test process (which may or may not have run parallel kernels) does not matter.
    import subprocess
    import sys

    script = tmp_path / "after_parallel.py"
    script.write_text(_AFTER_PARALLEL)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "True"
