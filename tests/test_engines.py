"""A study on every engine (issue 26): the same cells give the same table in this process, in a local pool of fresh
processes, as submitit jobs (its local executor: a real subprocess per job) and as Ray tasks (a local Ray); a killed
driver, a requeued job and duplicate jobs of one cell lose nothing and train nothing twice; a pool never gives two
running cells the same device; a failing cell fails alone."""
import json, os, signal, subprocess, sys, time
from pathlib import Path

import pandas as pd
import pytest

KEY = ['dataset', 'model', 'method', 'seed']
TINY = dict(epochs=1, size=16, bs=16, pretrained=False, lr=1e-3)
SAME = ['status', 'f1', 'accuracy', 'n', 'steps', 'n_train', 'images_seen', 'epochs', 'library_version', 'source']

@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    from semicompact.data import make_digits
    return make_digits(tmp_path_factory.mktemp('data')/'digits', size=16, n_labelled=10)

def _study(digits, out, **kw):
    "1 dataset × 1 network × 2 methods: 2 cells of a few seconds (each engine's start-up is measured in benchmarks/engines.py)"
    from semicompact.study import run_study
    return run_study({'a': digits}, ['resnet18'], ['base', 'fixmatch'], out, seeds=(1,), verbose=False,
                     method_kw={'fixmatch': {'mu': 1}}, **TINY, **kw)

def _leftovers(out:Path) -> list:
    "Temporary run folders and lock files a finished study must not leave"
    return [p for p in out.rglob('*') if '.tmp-' in p.name or p.suffix == '.lock']

@pytest.fixture(scope='module')
def serial(digits, tmp_path_factory):
    return _study(digits, tmp_path_factory.mktemp('serial'))

ENGINES = {'local': ('local', dict(workers=2), None), 'submitit': ('slurm', dict(cluster='local', time=10), 'submitit'),
           'ray': ('ray', dict(init=dict(num_cpus=2)), 'ray')}

@pytest.mark.train
@pytest.mark.parametrize('name', list(ENGINES))
def test_every_engine_gives_the_serial_table(serial, digits, tmp_path, name):
    executor, engine, module = ENGINES[name]
    if module: pytest.importorskip(module)
    res = _study(digits, tmp_path, executor=executor, engine=engine)
    assert len(res) == 2 and not res.duplicated(KEY).any(), res[KEY]          # every cell once
    assert (res.status == 'ok').all(), res[['method', 'status', 'error']]
    a, b = serial.set_index(KEY).sort_index(), res.set_index(KEY).sort_index()
    assert list(a.index) == list(b.index)
    assert (a.dtypes[SAME] == b.dtypes[SAME]).all(), pd.concat([a.dtypes[SAME], b.dtypes[SAME]], axis=1)
    for c in SAME:
        if a[c].dtype.kind == 'f': assert ((a[c] - b[c]).abs() < 1e-4).all(), (c, a[c].tolist(), b[c].tolist())   # other thread counts, the same results here
        else: assert a[c].tolist() == b[c].tolist(), (c, a[c].tolist(), b[c].tolist())
    assert set(res.engine) == {'local' if name == 'local' else 'submitit-local' if name == 'submitit' else 'ray'}
    assert (res.attempt == 1).all() and res.job_id.notna().all() and res.host.notna().all()
    assert not _leftovers(tmp_path), _leftovers(tmp_path)
    if name == 'submitit': assert list((tmp_path/'slurm').rglob('*_log.out'))   # logs and pickles in the study folder, not /tmp

def test_serial_rows_say_where_they_ran(serial):
    assert set(serial.engine) == {'serial'} and (serial.attempt == 1).all() and serial.seed.dtype.kind == 'i'

KILL = """
import sys
from semicompact.study import run_study
run_study({'a': sys.argv[1]}, ['resnet18'], ['base'], sys.argv[2], seeds=(1, 2, 3), verbose=False,
          epochs=3, size=16, bs=16, pretrained=False, lr=1e-3)
"""

@pytest.mark.train
def test_a_killed_driver_loses_and_repeats_nothing(digits, tmp_path):
    from semicompact.study import run_study, read_results, Cell
    out = tmp_path/'s'
    p = subprocess.Popen([sys.executable, '-c', KILL, str(digits), str(out)])
    try:
        t0 = time.time()
        while len(read_results(out/'results.csv')) < 1 and time.time() - t0 < 300: time.sleep(0.2)
        time.sleep(1.0)                                   # into the second cell
    finally: p.send_signal(signal.SIGKILL); p.wait()
    first = Cell('a', 'resnet18', 'base', 1).folder(out)/'metrics.json'
    stamp = first.stat().st_mtime_ns
    res = run_study({'a': digits}, ['resnet18'], ['base'], out, seeds=(1, 2, 3), verbose=False, epochs=3, size=16, bs=16, pretrained=False, lr=1e-3)
    assert sorted(res.seed) == [1, 2, 3] and (res.status == 'ok').all()
    assert first.stat().st_mtime_ns == stamp                                    # the finished cell did not run again
    assert res.set_index('seed').attempt[1] == 1 and res.set_index('seed').attempt[2] == 2   # the killed cell ran again, once
    assert not _leftovers(out), _leftovers(out)

def _job(digits, out, seed=1, epochs=1):
    from semicompact.core import Recipe
    from semicompact.study import CellJob, Cell
    return CellJob(Cell('a', 'resnet18', 'base', seed), digits, out, Recipe(**{**TINY, 'epochs': epochs}).as_dict())

@pytest.mark.train
def test_a_requeued_cell_finishes_as_attempt_two(digits, tmp_path):
    "submitit's local timeout signal reaches a cell that waits for its teacher: the job is requeued, and attempt 2 finishes it"
    pytest.importorskip('submitit')
    from semicompact.core import Recipe
    from semicompact.engines import get_executor, file_lock
    from semicompact.study import CellJob, Cell
    ex = get_executor('slurm', tmp_path, cluster='local', time=1)   # submitit's signal 30 s into each attempt (its default delay)
    job = CellJob(Cell('a', 'resnet18', 'data_distillation', 1), digits, tmp_path, Recipe(**TINY).as_dict(),
                  bases={'data_distillation': ['resnet18']})
    attempts = job.cell.lock(tmp_path).with_suffix('.attempts')
    with file_lock(Cell('a', 'resnet18', 'base', 1).lock(tmp_path)):     # the teacher is "being trained" elsewhere
        handle = ex.submit(job)
        t0 = time.time()
        while not (attempts.exists() and attempts.read_text() == '2') and time.time() - t0 < 300: time.sleep(0.2)
    row = handle.result()
    assert row['status'] in ('ok', 'no_pseudo_labels') and row['attempt'] == 2 and row['engine'] == 'submitit-local', row   # a 1-epoch teacher may keep none
    assert 'Requeued' in handle.stderr() + handle.stdout()
    assert not _leftovers(tmp_path), _leftovers(tmp_path)

@pytest.mark.train
def test_duplicate_jobs_of_a_cell_train_it_once(digits, tmp_path):
    from semicompact.engines import LocalPool
    jobs = [_job(digits, tmp_path, seed) for seed in (1, 2)]
    with LocalPool(workers=2) as pool:
        for _ in range(2):                                          # every cell twice at once, and the whole again (done: read back)
            futures = [(j, pool.submit(j)) for j in jobs for _ in range(2)]
            rows = [(j, f.result()) for j, f in futures]
            for j in jobs:
                got = [r for jj, r in rows if jj is j]
                assert len(got) == 2 and all(r['status'] == 'ok' for r in got) and got[0]['f1'] == got[1]['f1']
    for j in jobs: assert j.cell.lock(tmp_path).with_suffix('.attempts').read_text() == '1'   # trained once
    assert not _leftovers(tmp_path), _leftovers(tmp_path)

def _probe(seconds:float):
    "What a call of the pool sees: its devices, its start and end"
    t0 = time.time(); time.sleep(seconds)
    return os.environ['CUDA_VISIBLE_DEVICES'], t0, time.time()

@pytest.mark.parametrize('gpus,per_cell', [([0, 1], 1), ([0, 1, 2, 3], 2)])
def test_no_two_running_calls_share_a_device(gpus, per_cell):
    from semicompact.engines import LocalPool
    with LocalPool(gpus=gpus, gpus_per_cell=per_cell) as pool:
        seen = [f.result() for f in [pool.submit(_probe, 0.5) for _ in range(6)]]
    ids = [set(d.split(',')) for d, _, _ in seen]
    assert all(len(s) == per_cell for s in ids) and set.union(*ids) <= set(map(str, gpus))
    for i, (d1, s1, e1) in enumerate(seen):
        for d2, s2, e2 in seen[i+1:]:
            if s1 < e2 and s2 < e1: assert not set(d1.split(',')) & set(d2.split(',')), (seen)

@pytest.mark.train
def test_a_failing_cell_fails_alone(digits, tmp_path):
    from semicompact.study import read_results
    out = tmp_path/'s'
    r = subprocess.run([sys.executable, '-m', 'semicompact.cli', 'study', '--data', str(digits), '--models', 'resnet18', 'squeezenet',
                        '--methods', 'base', '--out', str(out), '--launcher', 'local', '--workers', '2', '--epochs', '1', '--size', '16',
                        '--bs', '16', '--lr', '1e-3', '--no-pretrained'], capture_output=True, text=True)
    assert r.returncode == 1, r.stderr[-3000:]                    # squeezenet cannot run on 16-pixel images
    res = read_results(out/'results.csv').set_index('model')
    assert res.status.to_dict() == {'resnet18': 'ok', 'squeezenet': 'failed'} and res.error['squeezenet'], res
    assert '1 failed' in r.stdout and (out/'errors').is_dir()

def test_engine_options_are_checked(digits, tmp_path):
    from semicompact.core import SemicompactError
    with pytest.raises(SemicompactError, match='valid: gpus, gpus_per_cell, workers'): _study(digits, tmp_path, executor='local', engine=dict(gpu=1))
    with pytest.raises(SemicompactError, match='wait=False needs an engine'): _study(digits, tmp_path, executor='local', wait=False)
    with pytest.raises(SemicompactError, match='in this process only'): _study(digits, tmp_path, executor='local', cbs=[object()])
    assert not (tmp_path/'runs').exists()
