"""Same seed, same metrics: every method of the study once, with one seed, on the embedded digits at 16 px (a few
steps each), so that the metrics of two versions of the library can be compared cell by cell (a refactoring must
leave them unchanged on the same machine). Run it from each version and compare the JSON files:

    git worktree add /tmp/before <commit>
    PYTHONPATH=/tmp/before python benchmarks/seeded_metrics.py --out /tmp/before.json
    python benchmarks/seeded_metrics.py --out /tmp/after.json
    python benchmarks/seeded_metrics.py --compare /tmp/before.json /tmp/after.json
"""
import argparse, json, tempfile, warnings
from pathlib import Path
warnings.filterwarnings('ignore')

METHODS = ['base', 'plain_distillation', 'data_distillation', 'model_distillation', 'model_data_distillation',
           'fixmatch', 'mixmatch', 'flexmatch', 'freematch', 'softmatch']
TEACHERS = {'plain_distillation': ['resnet18'], 'data_distillation': ['resnet18'],
            'model_distillation': ['resnet18', 'shufflenet_v2'], 'model_data_distillation': ['resnet18', 'shufflenet_v2']}
KEEP = ['status', 'f1', 'accuracy', 'steps', 'n_kept', 'n_train_pseudo', 'pseudo_label_accuracy']

def run(out:Path):
    from semicompact.data import make_digits
    from semicompact.study import run_study
    from semicompact.train import code_version
    tmp = Path(tempfile.mkdtemp())
    digits = make_digits(tmp/'digits', size=16, n_labelled=10)
    res = run_study({'digits': digits}, ['resnet18'], METHODS, tmp/'study', seeds=(1,), verbose=False, bases=TEACHERS,
                    method_kw={m: {'mu': 1} for m in ('fixmatch', 'flexmatch', 'freematch', 'softmatch')},
                    epochs=2, size=16, bs=16, pretrained=False, lr=1e-3, flip=False)
    rows = {r['method']: {k: r.get(k) for k in KEEP if k in r and r.get(k) == r.get(k)} for r in res.to_dict('records')}
    out.write_text(json.dumps(dict(code=code_version(), methods=rows), indent=2, default=str))
    print(json.dumps(rows, indent=2, default=str))

def compare(a:Path, b:Path):
    A, B = json.loads(a.read_text()), json.loads(b.read_text())
    print(f"| method | F1 ({A['code']['commit'][:7]}) | F1 ({B['code']['commit'][:7]}) | same |\n|---|---|---|---|")
    for m in METHODS:
        x, y = A['methods'].get(m, {}), B['methods'].get(m, {})
        same = all(x.get(k) == y.get(k) for k in set(x) | set(y))
        print(f"| {m} | {x.get('f1', float('nan')):.4f} | {y.get('f1', float('nan')):.4f} | {'yes' if same else 'NO: ' + str({k: (x.get(k), y.get(k)) for k in set(x) | set(y) if x.get(k) != y.get(k)})} |")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', type=Path, default=Path('seeded_metrics.json'))
    p.add_argument('--compare', nargs=2, type=Path)
    a = p.parse_args()
    compare(*a.compare) if a.compare else run(a.out)
