#!/usr/bin/env python
"""The finder once (issue 28, item 4): a study that runs the learning-rate finder once per images, network and stage
(`Recipe(reuse_lr=True)`, the default) against the same study running it in every cell (`reuse_lr=False`).

On a development split of the digits (the 1,347 training scans: a quarter stands in for the test set, 5 labelled
images per class, the rest unlabelled; the test scans are never read), ResNet-18 from scratch at 32 px, Base and
FixMatch (mu 3), seeds 1..5, 15 epochs of 10 steps (the tutorials' budget). Seed 1's Base cell finds the rate in
both studies and FixMatch's seed 1 finds the same one (same images, network, initialisation and loader), so the
cells that can differ are seeds 2..5 of both methods: the report pairs them (reuse minus per-run) with the
library's `paired_tests` and gives the time each study took.

Usage: python benchmarks/finder_once.py [--seeds 1 2 3 4 5] [--out benchmarks/results/finder_once]
Writes OUT/{reuse,per_run}/ (two resumable studies) and OUT/summary.json; prints the table. Time it alone on the
machine (the study seconds are part of the result); it records the load average.
"""
import argparse, json, os, tempfile, time, warnings
from pathlib import Path

warnings.filterwarnings('ignore')

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3, 4, 5])
    p.add_argument('--epochs', type=int, default=15)
    p.add_argument('--epoch-steps', type=int, default=10)
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'finder_once'))
    a = p.parse_args(argv)
    import pandas as pd
    from semicompact.data import make_digits, split_dataset
    from semicompact.study import run_study
    from semicompact.stats import paired_tests
    from semicompact.train import versions
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    data = out/'data'/'digits-dev-5'
    if not (data/'split.csv').exists():
        with tempfile.TemporaryDirectory() as tmp:   # the training scans only; hard links would point into the temporary folder
            pool = make_digits(Path(tmp)/'digits', size=32, n_labelled=None, seed=0)/'train'
            split_dataset(pool, data, test_pct=0.25, n_labelled=5, seed=0, label_seed=1)
    kw = dict(epochs=a.epochs, epoch_steps=a.epoch_steps, size=32, pretrained=False, flip=False, method_kw={'fixmatch': {'mu': 3}},
              seeds=tuple(a.seeds), verbose=True)
    load_before, res, seconds = os.getloadavg(), {}, {}
    for name, reuse in (('reuse', True), ('per_run', False)):
        t0 = time.perf_counter()
        res[name] = run_study({'digits-dev-5': data}, ['resnet18'], ['base', 'fixmatch'], out/name, reuse_lr=reuse, **kw)
        seconds[name] = time.perf_counter() - t0
    both = res['reuse'].merge(res['per_run'], on=['dataset', 'model', 'method', 'seed'], suffixes=('_reuse', '_per_run'))
    cols = ['method', 'seed', 'lr_reuse', 'lr_source_reuse', 'lr_per_run', 'f1_reuse', 'f1_per_run', 'cell_seconds_reuse', 'cell_seconds_per_run']
    print(both[cols].round(4).to_string(index=False))
    differ = both[both.seed != min(a.seeds)]
    long = pd.concat([differ.assign(variant='per_run', f1=differ.f1_per_run), differ.assign(variant='reuse', f1=differ.f1_reuse)])
    long['block'] = long.method + '-' + long.seed.astype(str)
    pt = paired_tests(long, block='block', group='variant', value='f1', control='per_run')
    summary = dict(versions=versions(), load_before=load_before, load_after=os.getloadavg(), args=vars(a),
                   study_seconds=seconds, cells=both[cols].to_dict('records'),
                   first_seed_identical=bool((both[both.seed == min(a.seeds)].f1_reuse == both[both.seed == min(a.seeds)].f1_per_run).all()),
                   finder_runs={k: int((v.lr_source == 'finder').sum()) for k, v in res.items()},
                   paired_reuse_minus_per_run={k: (None if v != v else v) for k, v in pt.iloc[0].to_dict().items()
                                               if isinstance(v, (int, float, bool))} | {'n_pairs': len(differ)})
    (out/'summary.json').write_text(json.dumps(summary, indent=1, default=str))
    d = summary['paired_reuse_minus_per_run']
    print(f"\nreuse - per-run F1 over {len(differ)} pairs: {d.get('diff', float('nan')):+.4f} "
          f"(95 % CI {d.get('diff_low', float('nan')):+.4f} .. {d.get('diff_high', float('nan')):+.4f}), p_t {d.get('p_t', float('nan')):.3f}, "
          f"p_wilcoxon {d.get('p_wilcoxon', float('nan')):.3f}; finder runs {summary['finder_runs']}; "
          f"study seconds {seconds['reuse']:.0f} (reuse) vs {seconds['per_run']:.0f} (per run); load {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}")

if __name__ == '__main__': main()
