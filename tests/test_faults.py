"""A fault battery: damaged files and bad options end in a clear error that names the input (or in one warning that
lists the files skipped), never in a dependency's traceback or a silent wrong result; the user's files are left
byte-for-byte as they were."""
import contextlib, hashlib, io, json, os, shutil, subprocess, sys, time, warnings
from types import SimpleNamespace
from pathlib import Path

import numpy as np, pytest
from PIL import Image

from semicompact.core import SemicompactError

def _digest(folder:Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob('*')) if p.is_file()}

def _cli(*args) -> SimpleNamespace:
    "The `semicompact` command run in this process, as a user would see it (the entry point's own process: tests/test_design.py)"
    from semicompact.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: rc = main(list(map(str, args)))
        except SystemExit as e: rc = e.code   # argparse's own errors
    return SimpleNamespace(returncode=rc, stdout=out.getvalue(), stderr=err.getvalue())

def _one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert r.stderr.startswith('semicompact: error:') and r.stderr.strip().count('\n') == 0, r.stderr[-2000:]
    for w in words: assert w in r.stderr, (w, r.stderr)

@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    from semicompact.data import make_digits
    return make_digits(tmp_path_factory.mktemp('data')/'digits', size=16, n_labelled=5)

@pytest.fixture(scope='module')
def run(digits, tmp_path_factory):
    from semicompact.train import train_model
    out = tmp_path_factory.mktemp('runs')/'base'
    train_model('resnet18', digits, epochs=1, size=16, bs=16, pretrained=False, lr=1e-3, flip=False, show_progress=False, output_path=out)
    return out

def _copy(src:Path, dest:Path) -> Path:
    shutil.copytree(src, dest); return dest

# damaged weights and run folders

def test_truncated_safetensors(run, tmp_path):
    from semicompact.train import load_run
    from semicompact.models import create_model
    bad = _copy(run, tmp_path/'bad')
    w = bad/'model.safetensors'; w.write_bytes(w.read_bytes()[:100])
    before = _digest(bad)
    with pytest.raises(SemicompactError, match='Cannot read weights file .*model.safetensors.*damaged or incomplete'): load_run(bad).model()
    with pytest.raises(SemicompactError, match='model.safetensors'): create_model('resnet18', 10, pretrained=False, weights=w)
    _one_line_error(_cli('export', bad, tmp_path/'x.onnx'), 'model.safetensors', 'damaged or incomplete')
    assert _digest(bad) == before

@pytest.mark.parametrize('name', ['config.json', 'metrics.json'])
def test_damaged_run_json(run, tmp_path, name):
    from semicompact.train import load_run
    bad = _copy(run, tmp_path/'bad')
    (bad/name).write_text((bad/name).read_text()[:40])
    with pytest.raises(SemicompactError, match=f'{name} is damaged'): load_run(bad)

def test_damaged_teacher_run_fails_before_training(digits, run, tmp_path):
    from semicompact.distill import plain_distillation
    bad = _copy(run, tmp_path/'teacher')
    (bad/'config.json').write_text('{"model": ')
    with pytest.raises(SemicompactError, match='config.json is damaged'):
        plain_distillation('resnet18', digits, base_models=bad, epochs=1, size=16, pretrained=False, show_progress=False)

# images that pass the header check but cannot be decoded

def _truncate_some(folder:Path, n:int) -> list:
    files = sorted(p for p in folder.rglob('*.png'))[:n]
    for f in files: f.write_bytes(f.read_bytes()[:len(f.read_bytes())//2])
    return files

@pytest.fixture
def broken(digits, tmp_path):
    d = _copy(digits, tmp_path/'broken')
    bad = _truncate_some(d/'unlabelled', 3) + _truncate_some(d/'train', 2) + _truncate_some(d/'test', 2)
    return d, bad

def test_truncated_images_are_skipped_with_one_warning_each_place(broken):
    from semicompact.data import get_dls, test_dl, check_images
    from semicompact.train import train_model
    from semicompact.distill import pseudo_label
    d, bad = broken
    assert all(check_images([f])[0] for f in bad) and not any(check_images([f], decode=True)[0] for f in bad)   # headers read fine
    before = _digest(d)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        learn = train_model('resnet18', d, epochs=1, size=16, bs=16, pretrained=False, lr=1e-3, flip=False, show_progress=False)
        pl = pseudo_label(learn)
    msgs = ' '.join(str(x.message) for x in w)
    for n, where in ((2, d/'train'), (2, d/'test'), (3, 'the unlabelled images')):
        assert f'Skipped {n} corrupt image file(s) in {where}' in msgs, msgs   # one warning per place, naming the files
    assert all(str(f) in msgs for f in bad)
    assert len(pl) == len(list((d/'unlabelled').rglob('*.png'))) - 3
    assert learn.test_metrics['n'] == len(list((d/'test').rglob('*.png'))) - 2
    assert _digest(d) == before

def test_truncated_unlabelled_images_in_fixmatch(broken):
    from semicompact.consistency import fixmatch
    d, _ = broken
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        learn = fixmatch('resnet18', d, epochs=1, size=16, bs=16, pretrained=False, lr=1e-3, flip=False, show_progress=False, mu=1, epoch_steps=2)
    assert any('corrupt image file(s) in the unlabelled images' in str(x.message) for x in w)   # the one wording of that warning
    assert learn.test_metrics['f1'] >= 0

def test_image_cache_follows_a_changed_file_and_writes_nothing(digits, tmp_path):
    from semicompact.data import get_dls, test_dl, image_cache, decode_image
    d = _copy(digits, tmp_path/'changed')
    dls = get_dls(d, size=16, bs=8, augment=False)
    assert dls.cached
    f = sorted((d/'test').rglob('*.png'))[0]
    tdl = test_dl(dls)
    assert (image_cache.get(f, 16) == decode_image(f, 16)).all()
    before = _digest(d)
    Image.fromarray(np.full((16, 16, 3), 255, np.uint8)).save(f)
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    tdl = test_dl(dls)   # loading the test images again checks their size and modification time
    assert int(image_cache.get(f, 16).min()) == 255
    assert tdl.one_batch()[0].shape[-2:] == (16, 16)
    after = _digest(d)
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed == {str(f.relative_to(d))}   # only the file we changed: the cache writes nothing into the dataset

# options, checked before any training

BAD_OPTIONS = [
    ('fixmatch', dict(tau=1.5), 'tau must be'), ('fixmatch', dict(tau=95), 'tau must be'), ('fixmatch', dict(mu=-1), 'mu must be'),
    ('fixmatch', dict(lambda_u=-1), 'lambda_u must be'), ('fixmatch', dict(n_ops=-1), 'n_ops must be'),
    ('fixmatch', dict(cutout=2), 'cutout must be'), ('fixmatch', dict(ema=1.0), 'ema must be'),
    ('fixmatch', dict(repeat_labelled=0), 'repeat_labelled must be'),
    ('mixmatch', dict(T=0), 'T must be'), ('mixmatch', dict(alpha=0), 'alpha must be'), ('mixmatch', dict(mu=-1), 'mu must be'),
    ('mixmatch', dict(lambda_u=-1), 'lambda_u must be'), ('mixmatch', dict(k=0), 'k must be'), ('mixmatch', dict(rampup=2), 'rampup must be'),
    ('mixmatch', dict(epochs=0), 'epochs must be'), ('mixmatch', dict(bs=0), 'bs must be'), ('mixmatch', dict(size=4), 'size must be'),
    ('mixmatch', dict(valid_pct=0), 'valid_pct must be'), ('mixmatch', dict(lr=-1), 'lr must be'), ('mixmatch', dict(patience=0), 'patience must be'),
    ('mixmatch', dict(epoch_steps=0), 'epoch_steps must be'), ('mixmatch', dict(pct_start=1), 'pct_start must be'),
    ('flexmatch', dict(tau=2), 'tau must be'), ('flexmatch', dict(mapping='cubic'), 'mapping must be'), ('flexmatch', dict(mu=0), 'mu must be'),
    ('freematch', dict(momentum=1.0), 'momentum must be'), ('freematch', dict(lambda_f=-1), 'lambda_f must be'),
    ('softmatch', dict(n_sigma=0), 'n_sigma must be'), ('softmatch', dict(momentum=-0.1), 'momentum must be'),
]

@pytest.mark.parametrize('method,kw,msg', BAD_OPTIONS, ids=[f'{m}-{k}' for m, k, _ in BAD_OPTIONS])
def test_bad_option(digits, tmp_path, method, kw, msg):
    from semicompact import consistency
    before = _digest(digits)
    with pytest.raises(SemicompactError, match=msg):
        getattr(consistency, method)('resnet18', digits, output_path=tmp_path/'run', show_progress=False, **kw)
    assert not (tmp_path/'run').exists() and _digest(digits) == before

def test_bad_options_on_the_command_line(digits, tmp_path):
    _one_line_error(_cli('fixmatch', '--model', 'resnet18', '--data', digits, '--tau', '95'), 'tau must be')
    _one_line_error(_cli('mixmatch', '--model', 'resnet18', '--data', digits, '--T', '0'), 'T must be')
    _one_line_error(_cli('freematch', '--model', 'resnet18', '--data', digits, '--momentum', '1'), 'momentum must be')
    _one_line_error(_cli('flexmatch', '--model', 'resnet18', '--data', digits, '--tau', '2', '--no-warmup'), 'tau must be')
    _one_line_error(_cli('softmatch', '--model', 'resnet18', '--data', digits, '--n-sigma', '0', '--no-dist-align'), 'n_sigma must be')
    _one_line_error(_cli('train', '--model', 'resnet18', '--data', digits, '--epochs', '0'), 'epochs must be')
    _one_line_error(_cli('study', '--data', digits, '--models', 'resnet18', '--methods', 'base', '--out', tmp_path/'s', '--shard', '3/2'), 'shard')
    from semicompact.study import run_study
    for seeds in ((), ('1',), (1.5,)):
        with pytest.raises(SemicompactError, match='seeds must be one or more integers'): run_study([digits], ['resnet18'], ['base'], tmp_path/'t', seeds=seeds)
    assert not (tmp_path/'t').exists()   # nothing written for bad input

# study files and results tables

def test_damaged_study_files(digits, tmp_path):
    from semicompact.study import load_study_file
    y = tmp_path/'study.yaml'; y.write_text(f"datasets: [{digits}]\nmodels: [resnet18\nmethods: [base]\n")
    with pytest.raises(SemicompactError, match=r'study.yaml, line \d+, column \d+: not valid YAML'): load_study_file(y)
    j = tmp_path/'study.json'; j.write_text('{"datasets": ["a"],\n "models": ["resnet18"]\n "methods": ["base"]}')
    with pytest.raises(SemicompactError, match=r'study.json, line 3, column 2: not valid JSON'): load_study_file(j)
    _one_line_error(_cli('study', y), 'study.yaml, line')

def test_results_tables(digits, tmp_path):
    from semicompact.study import read_results, run_study, report
    out = tmp_path/'s'; out.mkdir()
    (out/'results.csv').write_text('')                               # emptied outside the library: nothing done yet
    assert len(read_results(out/'results.csv')) == 0
    res = run_study([digits], ['resnet18'], ['base'], out, epochs=1, size=16, bs=16, pretrained=False, lr=1e-3, verbose=False)
    assert res.status.tolist() == ['ok']
    (tmp_path/'other.csv').write_text('a,b\n1,2\n')
    with pytest.raises(SemicompactError, match='other.csv lacks the column'): read_results(tmp_path/'other.csv')
    (tmp_path/'empty.csv').write_text('')
    with pytest.raises(SemicompactError, match='empty.csv holds no runs'): report(tmp_path/'empty.csv', tmp_path/'r')

# one study folder, two processes

def test_lock_refuses_a_second_process_and_takes_over_a_stale_one(digits, tmp_path):
    from semicompact.study import study_lock, run_study
    out = tmp_path/'s'; out.mkdir()
    holder = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        import socket
        (out/'.results.csv.lock').write_text(f'{holder.pid} {socket.gethostname()} now\n')
        with pytest.raises(SemicompactError, match=f'in use by process {holder.pid}'):
            run_study([digits], ['resnet18'], ['base'], out, epochs=1, size=16, bs=16, pretrained=False, lr=1e-3, verbose=False)
        _one_line_error(_cli('study', '--data', digits, '--models', 'resnet18', '--methods', 'base', '--out', out), 'in use by process')
        assert not (out/'runs').exists()                                 # it refused before training anything
    finally: holder.kill(); holder.wait()
    res = run_study([digits], ['resnet18'], ['base'], out, epochs=1, size=16, bs=16, pretrained=False, lr=1e-3, verbose=False)
    assert res.status.tolist() == ['ok'] and not (out/'.results.csv.lock').exists()   # the dead holder's lock was taken over, then released
    with study_lock(out/'.x.lock'):
        with pytest.raises(SemicompactError, match='in use'):
            with study_lock(out/'.x.lock'): pass

def test_damaged_results_table_is_rebuilt_from_run_folders(digits, tmp_path, capsys):
    from semicompact.study import run_study, read_results
    out = tmp_path/'s'
    kw = dict(epochs=1, size=16, bs=16, pretrained=False, lr=1e-3)
    good = run_study([digits], ['resnet18'], ['base'], out, seeds=(1, 2, 3), verbose=False, **kw)
    mtimes = {p: p.stat().st_mtime for p in (out/'runs').rglob('metrics.json')}
    text = (out/'results.csv').read_text()
    lines = text.splitlines()
    lines[1] = lines[1].replace(',ok,', ',o,', 1)                    # an edited row
    (out/'results.csv').write_text('\n'.join(lines)[:-40])            # and the last line cut short
    res = run_study([digits], ['resnet18'], ['base'], out, seeds=(1, 2, 3), **kw)
    assert 'row(s) did not match their run folders' in capsys.readouterr().out
    assert {p: p.stat().st_mtime for p in (out/'runs').rglob('metrics.json')} == mtimes   # nothing trained again
    cols = ['dataset', 'model', 'method', 'seed', 'status', 'f1', 'run']
    assert res[cols].equals(good[cols])                                # the table is whole again, each cell once
    time.sleep(2)   # a rebuilt row must not take the time of its rebuild
    (out/'results.csv').write_text(text[:text.rindex('\n', 0, -1) + 1 + len(digits.name) + len(',resnet18,ba')])   # cut inside the last row's key
    res = run_study([digits], ['resnet18'], ['base'], out, seeds=(1, 2, 3), verbose=False, **kw)
    assert list(res.columns) == list(good.columns) and res.dtypes.to_dict() == good.dtypes.to_dict()   # integers stay integers (seed, n, ...)
    assert res[cols].equals(good[cols]) and res.cell_seconds.notna().all()                            # the rebuilt row keeps its cell's time
    assert (out/'results.csv').read_text() == text                                                    # the very same table
    shutil.rmtree(out/'runs'/digits.name/'resnet18'/'base'/'seed2')    # a row whose run folder is gone: the cell runs again
    res = run_study([digits], ['resnet18'], ['base'], out, seeds=(1, 2, 3), verbose=False, **kw)
    assert res.status.tolist() == ['ok']*3 and (out/'runs'/digits.name/'resnet18'/'base'/'seed2'/'metrics.json').exists()
