"""Data-parallel training on two processes (torchrun, gloo on the CPU): the path `accelerate launch`/`torchrun` take on
several GPUs, with the same fastai callbacks and the same agreements between processes."""
import json, os, subprocess, sys, textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.train   # every test here starts torchrun's processes and trains in them

pytest.importorskip('accelerate')

WORKER = textwrap.dedent('''
    import json, os, sys, warnings
    from pathlib import Path
    warnings.filterwarnings('ignore')
    import torch
    from fastai.callback.core import Callback
    from semicompact.train import train_model, is_distributed, is_main_process

    class Seen(Callback):
        "Count the training images this process sees (its share of each batch)"
        def before_fit(self): self.n = getattr(self, 'n', 0)
        def after_batch(self):
            if self.training: self.n += len(self.learn.yb[0])

    data, out, rank_dir, lr = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    seen = Seen()
    learn = train_model('resnet18', data, epochs=2, size=16, bs=16, pretrained=False, lr=None if lr == 'find' else float(lr),
                        num_it=8, output_path=out, show_progress=False, cbs=[seen], dls_kwargs=dict(do_flip=False))
    sd = learn.model.state_dict()
    checksum = sum(float(v.double().sum()) for v in sd.values() if v.is_floating_point())
    rec = dict(rank=int(os.environ['RANK']), distributed=is_distributed(), main=is_main_process(), seen=seen.n,
               checksum=checksum, f1=learn.test_metrics['f1'], n_train=len(learn.dls.train_ds), epochs=len(learn.history))
    Path(rank_dir).mkdir(exist_ok=True)
    (Path(rank_dir)/f"{rec['rank']}.json").write_text(json.dumps(rec))
''')

def torchrun(*args, cwd):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=900)

@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    from semicompact.data import make_digits
    return make_digits(tmp_path_factory.mktemp('data')/'digits', size=16, n_labelled=10)

@pytest.mark.parametrize('lr', ['1e-3', 'find'])
def test_two_processes_train_one_model(tmp_path, digits, lr):
    (tmp_path/'worker.py').write_text(WORKER)
    r = torchrun('worker.py', str(digits), str(tmp_path/'run'), str(tmp_path/'ranks'), lr, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    recs = sorted((json.loads(p.read_text()) for p in (tmp_path/'ranks').glob('*.json')), key=lambda d: d['rank'])
    assert [d['rank'] for d in recs] == [0, 1] and all(d['distributed'] for d in recs) and [d['main'] for d in recs] == [True, False]
    a, b = recs
    # gradients were averaged and the learning rate agreed: both processes end with the same weights and test metrics
    assert a['checksum'] == pytest.approx(b['checksum'], rel=1e-6) and a['f1'] == pytest.approx(b['f1'])
    assert a['epochs'] == b['epochs'] == 2
    # each process trained on its half of the images (fastai's `bs` is per process), not on the whole set
    assert a['seen'] == b['seen'] and 0 < a['seen'] <= 2 * -(-a['n_train'] // 2)
    # one run folder, written by the main process, nothing left under a temporary name
    run = tmp_path/'run'
    cfg = json.loads((run/'config.json').read_text())
    assert cfg['processes'] == 2 and (run/'model.safetensors').exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith('.')] == []

def test_study_on_two_processes(tmp_path, digits):
    "Every cell of a study trains on both processes; the main one writes the table, and a rerun skips what is done"
    args = ['--no-python', 'semicompact', 'study', '--data', str(digits), '--models', 'resnet18', '--methods', 'base', 'fixmatch', 'mixmatch',
            '--epochs', '1', '--size', '16', '--bs', '16', '--lr', '1e-3', '--no-pretrained', '--no-flip', '--out', str(tmp_path/'study')]
    r = torchrun(*args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    import pandas as pd
    res = pd.read_csv(tmp_path/'study'/'results.csv')
    assert sorted(res.method) == ['base', 'fixmatch', 'mixmatch'] and (res.status == 'ok').all()
    assert r.stdout.count('3 cells, 0 already done') == 1            # printed by the main process only
    assert (res.processes == 2).all()                                 # every cell trained data parallel
    r = torchrun(*args, cwd=tmp_path)
    assert r.returncode == 0 and '3 cells, 3 already done, 0 to run' in r.stdout
