"""The images biomedical users have: the embedded digits written as scanners and microscopes write them (16-bit PNG with
an offset range, 16-bit TIFF, float TIFF, DICOM with a rescale and a window; each by its real writer: Pillow, tifffile,
pydicom) train to the test F1 of the 8-bit version, their pixels are never a single value, and the rule recorded in
`config.json` gives the same probabilities in the standalone `Predictor` and its `predict.py` as in PyTorch."""
import json, subprocess, sys, warnings
from pathlib import Path

import numpy as np, pytest
from PIL import Image

pytest.importorskip('pydicom')
from semicompact.core import Recipe
from semicompact.data import DIGIT_FORMATS, make_digits, get_dls, image_files
from semicompact.pixels import load_image, read_scan

RECIPE = Recipe(epochs=6, pretrained=False, size=16, bs=16, lr=3e-3, early_stopping=False, flip=False, bn_reestimate=False)   # a short run: ~15 s each

@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    "One short run per format, on the same labelled images and seed"
    from semicompact.train import train_model
    root = tmp_path_factory.mktemp('formats')
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for fmt in DIGIT_FORMATS:
            data = make_digits(root/fmt, size=16, n_labelled=8, image_format=fmt)
            out[fmt] = (data, train_model('resnet18', data, RECIPE, root/f'run-{fmt}', show_progress=False))
    return out

@pytest.mark.train
def test_every_format_trains_to_the_f1_of_the_8bit_version(runs):
    f1 = {fmt: learn.test_metrics['f1'] for fmt, (_, learn) in runs.items()}
    print(json.dumps(f1, indent=1))
    assert f1['png'] > 0.15, f1   # it learnt something: the comparison below means something
    for fmt, v in f1.items(): assert abs(v - f1['png']) <= 0.02, (fmt, v, f1['png'])   # 450 test digits: one image is 0.22 points

@pytest.mark.train
def test_the_decoded_pixels_are_never_one_value(runs):
    for fmt, (data, learn) in runs.items():
        files = image_files(data/'test')[:20]
        for f in files: assert len(np.unique(np.asarray(load_image(f, learn.dls.pixels)))) > 1, (fmt, f)
    f = image_files(runs['png16'][0]/'test')[0]
    assert np.unique(np.asarray(Image.open(f).convert('RGB'))).tolist() == [255]   # what the generic 8-bit conversion made of it

@pytest.mark.train
def test_the_recorded_rule(runs):
    cfg = {fmt: json.loads((data.parent/f'run-{fmt}'/'config.json').read_text())['pixels'] for fmt, (data, _) in runs.items()}
    assert cfg['png']['low'] is None and cfg['dicom']['low'] is None   # 8-bit, and DICOM's own window: nothing fitted
    assert cfg['png16']['low'] == [1000.0] and cfg['png16']['high'] == [3805.0]
    assert cfg['tiff-float']['low'] == [-0.5] and cfg['tiff-float']['high'] == [2.0]
    assert read_scan(image_files(runs['dicom'][0]/'test')[0]).window is not None

@pytest.mark.parametrize('fmt', ['png16', 'dicom'])
@pytest.mark.train
def test_predictor_and_script_read_as_training_did(runs, fmt, tmp_path):
    from semicompact.quantize import export, Predictor
    data, learn = runs[fmt]
    files = image_files(data/'test')[:16]
    dl = learn.dls.test_dl([str(f) for f in files])
    want = learn.get_preds(dl=dl)[0].numpy()
    export(learn, tmp_path/'m.onnx', script=True)
    assert json.loads((tmp_path/'m.json').read_text())['pixels'] == learn.dls.pixels.as_dict()
    got = Predictor(tmp_path/'m.onnx').predict_proba(files)
    np.testing.assert_allclose(got, want, atol=1e-4)
    block = ("import sys; sys.modules.update(torch=None, fastai=None, fastcore=None, semicompact=None); "
             "sys.argv = ['predict.py', *sys.argv[1:]]; exec(open('predict.py').read())")
    r = subprocess.run([sys.executable, '-c', block, 'm.onnx', *map(str, files[:3])], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    labels = [l.split('\t')[1] for l in r.stdout.splitlines()]
    assert labels == [learn.dls.vocab[i] for i in want[:3].argmax(1)]

def test_split_and_layout_find_dicom_without_an_extension(tmp_path):
    "A scanner's export (DICOM named by UIDs, no image extension) is split, listed and loaded like any image folder; the source is left as it was"
    from semicompact.data import split_dataset, Layout
    from semicompact.pixels import write_scan
    rng = np.random.default_rng(0)
    src = tmp_path/'export'
    for c, level in (('benign', 800), ('malignant', 2400)):
        for i in range(8): write_scan((level + rng.integers(0, 400, (12, 12))).astype(np.uint16), src/c/f'1.2.826.0.1.{i}', dicom=True, window=(1500, 3000))
    (src/'benign'/'DICOMDIR').write_bytes(b'\0'*128 + b'DICM')   # a disc's index: not an image
    (src/'benign'/'notes.txt').write_text('not an image')
    before = {p: p.read_bytes() for p in src.rglob('*') if p.is_file()}
    dest = split_dataset(src, tmp_path/'ds', n_labelled=3, test_pct=0.25)
    lay = Layout.find(dest)
    assert len(lay.labelled()) == 6 and len(lay.test_items()) == 4 and len(lay.unlabelled_files()) == 6
    dls = get_dls(dest, size=12, bs=4, augment=False)
    x, y = dls.valid.one_batch()
    assert dls.pixels.low is None and x.shape[1:] == (3, 12, 12)   # the files' own window: nothing fitted
    assert {p: p.read_bytes() for p in src.rglob('*') if p.is_file()} == before
