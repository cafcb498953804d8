"""The same seed twice gives the same split, the same pseudo-labels and, on the CPU, the same metrics for base, a
distillation and FixMatch (each pair runs in one process, so with the same thread count)."""
import filecmp, json

import pandas as pd, pytest

KW = dict(epochs=2, size=16, bs=16, pretrained=False, lr=1e-3, flip=False, show_progress=False)

@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    from semicompact.data import make_digits
    return make_digits(tmp_path_factory.mktemp('data')/'digits', size=16, n_labelled=5)

def test_same_split(tmp_path):
    from semicompact.data import make_digits
    a, b = make_digits(tmp_path/'a', size=16, n_labelled=5, seed=3), make_digits(tmp_path/'b', size=16, n_labelled=5, seed=3)
    assert pd.read_csv(a/'split.csv').equals(pd.read_csv(b/'split.csv'))
    c = make_digits(tmp_path/'c', size=16, n_labelled=5, seed=4)
    assert not pd.read_csv(a/'split.csv').equals(pd.read_csv(c/'split.csv'))

def _metrics(folder): return json.loads((folder/'metrics.json').read_text())
_KEYS = ('accuracy', 'precision', 'recall', 'f1', 'n', 'steps', 'epochs')

@pytest.mark.train
def test_same_seed_same_results(digits, tmp_path):
    from semicompact.train import train_model
    from semicompact.distill import plain_distillation
    from semicompact.consistency import fixmatch
    for name, fn, extra in [('base', train_model, {}), ('fixmatch', fixmatch, dict(mu=1, epoch_steps=4)),
                            ('plain', plain_distillation, dict(base_models=tmp_path/'base-a', keep_weak_teachers=True, confidence=0.1, epoch_steps=4))]:
        for run in 'ab':
            fn('resnet18', digits, output_path=tmp_path/f'{name}-{run}', seed=7, **KW, **extra)
        a, b = _metrics(tmp_path/f'{name}-a'), _metrics(tmp_path/f'{name}-b')
        assert {k: a.get(k) for k in _KEYS} == {k: b.get(k) for k in _KEYS}, name
        assert filecmp.cmp(tmp_path/f'{name}-a'/'model.safetensors', tmp_path/f'{name}-b'/'model.safetensors', shallow=False), name
    pa, pb = (pd.read_csv(tmp_path/f'plain-{r}'/'pseudo_labels.csv', dtype={'label': str}) for r in 'ab')
    assert pa[['file', 'label', 'kept']].equals(pb[['file', 'label', 'kept']]) and pa.kept.any()
