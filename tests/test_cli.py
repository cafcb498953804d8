"""End-to-end tests of the installed `semicompact` command (run as a user would, in a subprocess)."""
import json, os, shutil, subprocess, sys
from pathlib import Path

import pytest

def run(*args, env=None, cwd=None):
    e = {**os.environ, 'MPLBACKEND': 'Agg', **(env or {})}
    exe = shutil.which('semicompact')
    assert exe, "the `semicompact` console script is not installed (pip install -e .)"
    return subprocess.run([exe, *args], capture_output=True, text=True, env=e, cwd=cwd, timeout=600)

def test_help_lists_commands():
    r = run('--help')
    assert r.returncode == 0
    for cmd in ('demo', 'train', 'split', 'models', 'distill', 'efficiency', 'export', 'compare', 'study', 'merge', 'report'): assert cmd in r.stdout

def test_models_table():
    r = run('models', '--filter', 'squeezenet', '--size', '64')
    assert r.returncode == 0, r.stderr
    assert 'SqueezeNet' in r.stdout and 'manual' in r.stdout

def test_user_error_is_one_line(tmp_path):
    r = run('split', str(tmp_path/'missing'), str(tmp_path/'out'))
    assert r.returncode == 2
    assert r.stderr.strip().count('\n') == 0 and 'Traceback' not in r.stderr
    assert r.stderr.startswith('semicompact: error:') and 'missing' in r.stderr

def test_unknown_model_is_one_line(tmp_path):
    r = run('train', '--model', 'resnet-9000', '--data', str(tmp_path))
    assert r.returncode == 2 and 'Traceback' not in r.stderr and 'Unknown model' in r.stderr

@pytest.mark.train
def test_demo_end_to_end(tmp_path):
    out = tmp_path/'run'
    r = run('demo', '--epochs', '2', '--size', '16', '--quiet', '--out', str(out), env={'SEMICOMPACT_HOME': str(tmp_path/'home')})
    assert r.returncode == 0, r.stderr
    assert 'Test metrics' in r.stdout and str(out) in r.stdout
    m = json.loads((out/'metrics.json').read_text())
    assert m['n'] == 450 and 0 <= m['f1'] <= 1
    assert (out/'model.safetensors').exists() and (out/'history.csv').exists()
    # a second demo into the same folder is refused, the first run is kept
    r2 = run('demo', '--epochs', '1', '--size', '16', '--quiet', '--out', str(out), env={'SEMICOMPACT_HOME': str(tmp_path/'home')})
    assert r2.returncode == 2 and 'exists' in r2.stderr
    assert json.loads((out/'metrics.json').read_text()) == m
    # the run exports to an int8 ONNX model with its sidecar and a fastai-free predict.py
    r3 = run('export', str(out), str(tmp_path/'edge'/'digits.onnx'), '--int8')
    assert r3.returncode == 0, r3.stderr
    assert 'top-1 agreement' in r3.stdout
    assert {p.name for p in (tmp_path/'edge').iterdir()} >= {'digits.onnx', 'digits.json', 'predict.py'}

@pytest.mark.train
def test_split_then_train(tmp_path):
    from PIL import Image
    import numpy as np
    rng = np.random.default_rng(0)
    for i, c in enumerate(('dark', 'light')):
        (tmp_path/'raw'/c).mkdir(parents=True)
        for j in range(16): Image.fromarray((rng.random((16, 16, 3))*40 + 200*i).astype('uint8')).save(tmp_path/'raw'/c/f'{j}.png')
    r = run('split', str(tmp_path/'raw'), str(tmp_path/'ds'), '--n-labelled', '6')
    assert r.returncode == 0, r.stderr
    r = run('train', '--model', 'squeezenet', '--data', str(tmp_path/'ds'), '--no-pretrained', '--epochs', '2', '--size', '32',
            '--bs', '4', '--lr', '1e-3', '--quiet', '--out', str(tmp_path/'run'))
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'run'/'metrics.json').read_text())
    assert m['n'] == 8 and set(m) >= {'accuracy', 'precision', 'recall', 'f1'}
    cfg = json.loads((tmp_path/'run'/'config.json').read_text())
    assert cfg['model'] == 'squeezenet' and cfg['vocab'] == ['dark', 'light'] and 'torch' in cfg['versions']

@pytest.mark.train
def test_distill_end_to_end(tmp_path):
    home = tmp_path/'home'
    r = run('demo', '--epochs', '1', '--size', '16', '--quiet', '--out', str(tmp_path/'base'), env={'SEMICOMPACT_HOME': str(home)})
    assert r.returncode == 0, r.stderr
    data = next(home.glob('digits-*'))
    r = run('distill', '--method', 'plain', '--base', str(tmp_path/'base'), '--target', 'resnet18', '--data', str(data),
            '--out', str(tmp_path/'plain'), '--epochs', '1', '--epoch-steps', '4', '--size', '16', '--lr', '3e-3', '--no-pretrained', '--no-flip',
            '--confidence', '0.1', '--quiet')
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'plain'/'metrics.json').read_text())
    assert m['method'] == 'plain_distillation' and m['n_unlabelled'] == 1247 and set(m['models']) >= {'model'}
    assert (tmp_path/'plain'/'pseudo_labels.csv').exists()
    r = run('distill', '--method', 'plain', '--base', 'resnet18', '--target', 'resnet18', '--data', str(data), '--confidence', '1.5')
    assert r.returncode == 2 and 'confidence' in r.stderr and 'Traceback' not in r.stderr

def test_module_entry_point():
    "`python -m semicompact.cli` is the same command (launchers such as `accelerate launch -m` take a module)"
    r = subprocess.run([sys.executable, '-m', 'semicompact.cli', 'models', '--filter', 'shufflenet*', '--size', '32'],
                       capture_output=True, text=True, timeout=300, env={**os.environ, 'MPLBACKEND': 'Agg'})
    assert r.returncode == 0, r.stderr
    assert 'ShuffleNet' in r.stdout
