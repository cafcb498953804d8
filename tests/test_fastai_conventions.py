"""A Learner of ours behaves as fastai's own: `learn.predict` and `dls.test_dl` take a `Path`, a `str` or a Pillow
image (as fastai's image loaders do), with the image cache or without; `learn.export()` / `load_learner` round-trip
in a fresh process; `show_results` and `ClassificationInterpretation` work."""
import subprocess, sys, warnings
from pathlib import Path

import matplotlib; matplotlib.use('Agg')
import numpy as np, pytest, torch
from PIL import Image

from semicompact.data import make_digits, image_files

@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    return make_digits(tmp_path_factory.mktemp('digits')/'d', size=16, n_labelled=5)

@pytest.fixture(scope='module', params=[True, False], ids=['cached', 'files'])
def learn(request, digits):
    from semicompact.train import train_model
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        l = train_model('resnet18', digits, size=16, pretrained=False, flip=False, epochs=2, epoch_steps=3, lr=3e-3, early_stopping=False,
                        bn_reestimate=False, show_progress=False, dls_kwargs=dict(cache=request.param))
    assert bool(l.dls.cached) == request.param
    return l

def _predict(learn, item):
    with learn.no_bar(): return learn.predict(item)

def test_predict_takes_a_path_a_str_and_an_image(learn, digits):
    f = image_files(digits/'test')[0]
    by_path, by_str, by_image = _predict(learn, f), _predict(learn, str(f)), _predict(learn, Image.open(f))
    assert by_path[0] == by_str[0] == by_image[0]
    torch.testing.assert_close(by_path[2], by_str[2]); torch.testing.assert_close(by_path[2], by_image[2])

def test_test_dl_takes_paths(learn, digits):
    files = image_files(digits/'test')[:5]
    a, b = learn.dls.test_dl(files).one_batch()[0], learn.dls.test_dl([str(f) for f in files]).one_batch()[0]
    torch.testing.assert_close(a, b)

def test_export_and_load_learner_in_a_fresh_process(learn, digits, tmp_path):
    f = image_files(digits/'test')[0]
    learn.export(tmp_path/'learner.pkl')
    code = ("import sys, warnings; warnings.simplefilter('ignore'); from pathlib import Path; from fastai.learner import load_learner; "
            "l = load_learner(sys.argv[1]); "
            "with_bar = l.no_bar(); with_bar.__enter__(); print(l.predict(Path(sys.argv[2]))[0])")
    r = subprocess.run([sys.executable, '-c', code, str(tmp_path/'learner.pkl'), str(f)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == _predict(learn, f)[0]

def test_show_results_and_interpretation(learn):
    from fastai.interpret import ClassificationInterpretation
    with learn.no_bar():
        learn.show_results(max_n=4)
        ci = ClassificationInterpretation.from_learner(learn)
    cm = ci.confusion_matrix()
    assert cm.shape == (10, 10) and cm.sum() == len(learn.dls.valid_ds)

def test_predict_a_dicom_path(tmp_path_factory):
    pytest.importorskip('pydicom')
    from semicompact.train import train_model
    data = make_digits(tmp_path_factory.mktemp('dicom')/'d', size=16, n_labelled=5, image_format='dicom')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        l = train_model('resnet18', data, size=16, pretrained=False, flip=False, epochs=1, epoch_steps=2, lr=3e-3, early_stopping=False,
                        bn_reestimate=False, show_progress=False)
    f = image_files(data/'test')[0]
    assert f.suffix == '.dcm'
    assert _predict(l, f)[0] == _predict(l, str(f))[0]
