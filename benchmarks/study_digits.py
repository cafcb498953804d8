"""A study on real data that runs on a CPU: the embedded digits at several label budgets (the blocks) x compact
networks x every method, from scratch at 32 px, then the paper-style report. Not a test.

    python benchmarks/study_digits.py --out benchmarks/results/study_digits
Rerun the same command after an interruption: finished cells are skipped (the study is resumable).
Self-training teachers are the grid's own base cells (the paper's ResNet-50/101 and EfficientNet-B3 need ImageNet
weights, which cannot be downloaded here, and trained from scratch on 50-200 images they stay near chance):
plain and data distillation use ResNet-18, model and model-data distillation ensemble all the grid's networks.
Data distillation uses the views that keep a digit a digit (blurs and gamma; flips turn digits into other digits).
The networks are ResNet-18 and ShuffleNet v2: in a probe (20 labelled images per class, 20 epochs, no early stop
before epoch 15, seed 42) they were the two of the paper's compact networks that learn the 32 px digits from scratch
(test F1: ShuffleNet v2 0.55, MixNet-S 0.24, MnasNet 0.12, MobileNet v2 0.09, SqueezeNet 0.02; ResNet-18 0.94 in the
study itself).
"""
import argparse, json, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore')

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default='benchmarks/results/study_digits')
    p.add_argument('--budgets', type=int, nargs='+', default=[5, 10, 20], help='labelled images per class (the blocks)')
    p.add_argument('--models', nargs='+', default=['resnet18', 'shufflenet_v2'])
    p.add_argument('--methods', nargs='+', default=['base', 'plain', 'data', 'model', 'model-data', 'fixmatch', 'mixmatch'])
    p.add_argument('--seeds', type=int, nargs='+', default=[42])
    p.add_argument('--epochs', type=int, default=20)
    p.add_argument('--min-epochs', type=int, default=0, help='no early stop before this many epochs (0: the paper)')
    p.add_argument('--mu', type=float, default=3, help="FixMatch's unlabelled batch ratio (the paper's 7 is slow on a CPU)")
    p.add_argument('--retry-failed', action='store_true', help='run again the cells recorded as failed')
    a = p.parse_args()
    from semicompact.data import make_digits
    from semicompact.study import run_study, report
    out = Path(a.out)
    data_dir = out/'data'
    datasets = {f'digits-{n}': make_digits(data_dir/f'digits-{n}', size=32, n_labelled=n) for n in a.budgets}
    t0 = time.perf_counter()
    res = run_study(datasets, a.models, a.methods, out, seeds=tuple(a.seeds), epochs=a.epochs, min_epochs=a.min_epochs, size=32, pretrained=False,
                    retry_failed=a.retry_failed,
                    dls_kwargs=dict(do_flip=False),
                    bases={'plain_distillation': ['resnet18'], 'data_distillation': ['resnet18'],
                           'model_distillation': a.models, 'model_data_distillation': a.models},
                    method_kw={'data_distillation': {'transforms': ['blur', 'gaussian_blur', 'gamma']},
                               'model_data_distillation': {'transforms': ['blur', 'gaussian_blur', 'gamma']},
                               'fixmatch': {'mu': a.mu}})
    wall = time.perf_counter() - t0
    idx = report(res, out/'report')
    ok = res[res.status == 'ok']
    summary = dict(wall_seconds_this_run=round(wall, 1), cells=len(res), ok=int(len(ok)), failed=int((res.status != 'ok').sum()),
                   f1_by_method=ok.groupby('method').f1.mean().round(4).to_dict(),
                   f1_by_model=ok.groupby('model').f1.mean().round(4).to_dict(), report=str(idx))
    (out/'summary.json').write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))

if __name__ == '__main__': main()
