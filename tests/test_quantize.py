"""Deployment path of `semicompact.quantize`: export → standalone predictor with no torch/fastai, and the CLI helpers."""
import argparse, json, subprocess, sys
from pathlib import Path

import numpy as np, pytest, torch
from PIL import Image

from semicompact.models import create_model
from semicompact.test_utils import test_top1_agree
from semicompact.quantize import export, quantize, write_predictor_script, Predictor, OnnxModel
from semicompact.cli import cmd_efficiency

@pytest.fixture(scope='module')
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp('imgs'); rng = np.random.default_rng(0)
    fs = []
    for i, (w, h) in enumerate([(20, 20), (30, 18), (18, 40)]):   # non-square images are centre-cropped
        f = d/f'im{i}.png'; Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(f); fs.append(f)
    return fs

def test_int8_export_and_fastai_free_predictor(tmp_path, images):
    torch.manual_seed(0)
    model = create_model('resnet18_quantized', 3, pretrained=False).eval()
    q = quantize(model, torch.randn(8, 3, 16, 16))
    assert isinstance(q, OnnxModel)
    res = export(q, tmp_path/'m.onnx', vocab=['a', 'b', 'c'], size=16, reference=model, sample=torch.randn(6, 3, 16, 16))
    assert res['n'] == 6 and 0 <= res['top1_agreement'] <= 1
    meta = json.loads((tmp_path/'m.json').read_text())
    assert meta['vocab'] == ['a', 'b', 'c'] and meta['size'] == 16 and meta['int8']
    # in-process predictor agrees with the int8 module on the same preprocessed pixels
    pred = Predictor(tmp_path/'m.onnx')
    x = np.stack([pred.preprocess(f) for f in images])
    test_top1_agree(q(torch.from_numpy(x)), pred.predict_proba(images))   # the same classes, but where two are tied to rounding
    # the standalone script runs where torch, fastai and semicompact cannot be imported
    write_predictor_script(tmp_path/'predict.py')
    code = ("import sys; sys.modules.update(torch=None, fastai=None, fastcore=None, semicompact=None); "
            "sys.argv = ['predict.py', *sys.argv[1:]]; exec(open('predict.py').read())")
    r = subprocess.run([sys.executable, '-c', code, str(tmp_path/'m.onnx'), *map(str, images)], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = [l.split('\t') for l in r.stdout.splitlines()]
    assert [l[1] for l in lines] == [c for c, p in pred.predict(images)]

def test_export_errors(tmp_path):
    model = create_model('squeezenet', 2, pretrained=False)
    with pytest.raises(ValueError, match='valid: onnx, torchscript'): export(model, tmp_path/'m.x', format='coreml')
    with pytest.raises(FileNotFoundError): Predictor(tmp_path/'none.onnx')

def test_cmd_efficiency(tmp_path, capsys):
    a = argparse.Namespace(models=['resnet18_quantized'], size=16, threads=1, runs=2, warmup=1, int8='quantized',
                           onnx_float=False, data=None, out=str(tmp_path/'eff.csv'))
    cmd_efficiency(a)
    out = capsys.readouterr().out
    assert 'int8' in out and '1 thread(s)' in out
    assert (tmp_path/'eff.csv').exists()
