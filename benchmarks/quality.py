"""The quality benchmark: do the semi-supervised methods beat the baseline, at equal step budgets, over several seeds?

    python benchmarks/quality.py --out benchmarks/results/quality                   # the library's recipe
    python benchmarks/quality.py --out benchmarks/results/quality_paper --preset paper --seeds 42
    python benchmarks/quality.py --out benchmarks/results/quality_adaptive --budgets 5 --imbalanced \
        --methods base fixmatch flexmatch freematch softmatch            # FixMatch's successors

The embedded digits (scikit-learn's 1,797 real scans) at 5, 10 and 20 labelled images per class (the blocks) x
ResNet-18 and ShuffleNet v2 (the two of the paper's compact networks that learn 32 px digits from scratch) x all
seven methods x 3 seeds, from scratch at 32 px
(and, beyond the paper, FlexMatch, FreeMatch and SoftMatch with `--methods`; `--imbalanced` adds a block whose labelled
images per class run from 2 to 10). Every method trains for the same number of optimiser steps
(`epoch_steps` x `epochs`: 150 by default, 32 labelled images a step, so the whole grid fits in 90 minutes on 2 cores); self-training teachers are the grid's own base cells (plain and data distillation:
ResNet-18; model and model-data distillation: both networks); the data methods use the views that keep a digit a
digit (blurs and gamma). Resumable: rerun the same command after an interruption and finished cells are skipped.
Writes the study folder (runs/, results.csv), its report (report/index.md) and summary.json (mean and standard
deviation of test macro-F1 per budget, network and method, the cells that fell back, wall time), quality.md (the
table of mean ± std, the gains over Base (and over FixMatch for its variants), and per network which methods differ
from Base (and FixMatch) significantly) and histories.csv (every cell's per-epoch history). Not a test.

`--preset library` is the library's default `Recipe()` (early stopping on the validation loss and only after the learning
rate's peak, batch-norm statistics re-estimated before validation) and its default EMA for FixMatch and MixMatch;
`--preset paper` is `Recipe.paper()` with the same budget, so the gain of the one over the other is measured.
"""
import argparse, json, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore')

NOFLIP = ['blur', 'gaussian_blur', 'gamma']

def _value(v):
    try: return json.loads(v)
    except json.JSONDecodeError: return v

SHORT = {'base': 'Base', 'plain_distillation': 'Plain', 'data_distillation': 'Data', 'model_distillation': 'Model',
         'model_data_distillation': 'Model-data', 'fixmatch': 'FixMatch', 'mixmatch': 'MixMatch',
         'flexmatch': 'FlexMatch', 'freematch': 'FreeMatch', 'softmatch': 'SoftMatch'}
IMBALANCED = {str(c): n for c, n in enumerate([2, 3, 4, 5, 6, 6, 7, 8, 9, 10])}   # labelled digits per class, 60 in all

def _budget(name:str) -> str:
    "The block's label: the labelled images per class ('5') or 'imbalanced'"
    return name.split('-', 1)[1]

def tables(res, a) -> str:
    "quality.md: test macro-F1 mean ± std over the seeds, the gain over Base, and which differences are significant"
    import pandas as pd
    from semicompact.stats import compare, to_markdown
    from semicompact.study import FINISHED
    ok = res[res.status == 'ok'].copy()
    ok['budget'] = ok.dataset.map(_budget)
    g = ok.groupby(['budget', 'model', 'method']).f1
    cell = (g.mean().map('{:.3f}'.format) + g.std().map(lambda v: '' if v != v else f' ± {v:.3f}')).unstack('method')   # one seed: no spread
    cell = cell[[m for m in SHORT if m in cell.columns]].rename(columns=SHORT)
    gain = (g.mean().unstack('method').sub(g.mean().unstack('method')['base'], axis=0)*100).round(1)
    gain = gain[[m for m in SHORT if m in gain.columns and m != 'base']].rename(columns=SHORT)
    md = [f"# Quality benchmark ({a.preset} recipe)", '',
          f"Test macro-F1 on the 450 test digits, mean ± standard deviation over seeds {', '.join(map(str, a.seeds))} "
          f"(budget: labelled images per class; 'imbalanced': {', '.join(map(str, IMBALANCED.values()))} for digits 0-9); "
          f"{a.epochs*a.epoch_steps} optimiser steps for every method; from scratch at 32 px unless weights are named.", '',
          to_markdown(cell), '', 'Gain over Base, in F1 points (mean over the seeds):', '', to_markdown(gain, decimals=1), '']
    fell = res[res.status.isin(FINISHED) & (res.status != 'ok')]
    if len(fell): md += [f"Fell back (no pseudo-label kept; not counted above): {len(fell)} runs: " +
                         ', '.join(f'{r.dataset}/{r.model}/{r.method}/seed{r.seed}' for r in fell.itertuples()), '']
    means = g.mean().unstack('method')
    adaptive = [m for m in ('flexmatch', 'freematch', 'softmatch') if m in means.columns]
    if adaptive and 'fixmatch' in means.columns:
        fm = (means[adaptive].sub(means['fixmatch'], axis=0)*100).round(1).rename(columns=SHORT)
        md += ['Gain over FixMatch, in F1 points (mean over the seeds):', '', to_markdown(fm, decimals=1), '']
    controls = ['Base'] + (['FixMatch'] if adaptive and 'fixmatch' in means.columns else [])
    md += ['## Significance', '', "Per network, the methods compared over the (labelled budget, seed) blocks: "
           "Friedman (Iman-Davenport) or repeated-measures ANOVA as the assumptions allow, Holm's post-hoc against "
           f"{' and, separately, '.join(controls)}, Cohen's d (the control minus the method, in pooled standard deviations: negative when the method is better).", '']
    for model, d in ok.assign(block=ok.dataset + '/' + ok.seed.astype(str)).groupby('model'):
        d = d[d.groupby('block').method.transform('nunique') == d.method.nunique()]   # complete blocks only
        if d.block.nunique() < 2 or d.method.nunique() < 2: continue
        for control in controls:
            try: r = compare(d.replace({'method': SHORT}), block='block', group='method', value='f1', control=control, method='holm')
            except Exception as e: md += [f"### {model} (control {control})", '', f"Not computed: {e}", '']; continue
            md += [f"### {model} (control {control})", '', r.describe(), '', to_markdown(r.table(), decimals=4), '', r.summary(), '']
    return '\n'.join(md)

def histories(res, out:Path):
    "histories.csv: the per-epoch history of every finished cell (losses, mask rate, thresholds), one file to plot from"
    import pandas as pd
    from semicompact.study import Cell, FINISHED
    frames = []
    for r in res[res.status.isin(FINISHED)].itertuples():
        f = Cell(r.dataset, r.model, r.method, int(r.seed)).folder(out)/'history.csv'
        if f.exists(): frames.append(pd.read_csv(f).assign(dataset=r.dataset, model=r.model, method=r.method, seed=int(r.seed)))
    if frames: pd.concat(frames, ignore_index=True).to_csv(out/'histories.csv', index=False)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default='benchmarks/results/quality')
    p.add_argument('--preset', default='library', choices=['library', 'paper'])
    p.add_argument('--budgets', type=int, nargs='*', default=[5, 10, 20], help='labelled images per class (the blocks)')
    p.add_argument('--imbalanced', action='store_true', help='add a class-imbalanced block: 2 to 10 labelled images per class')
    p.add_argument('--models', nargs='+', default=['resnet18', 'shufflenet_v2'])
    p.add_argument('--methods', nargs='+', default=['base', 'plain', 'data', 'model', 'model-data', 'fixmatch', 'mixmatch'])
    p.add_argument('--seeds', type=int, nargs='+', default=[42, 43, 44])
    p.add_argument('--epochs', type=int, default=15)
    p.add_argument('--epoch-steps', type=int, default=10, help='optimiser steps per epoch, the same for every method')
    p.add_argument('--mu', type=float, default=3, help="FixMatch's (and its variants') unlabelled batch ratio (the paper's 7 is slow on a CPU)")
    p.add_argument('--momentum', type=float, default=None,
                   help="FreeMatch's and SoftMatch's EMA momentum (default: theirs, 0.999, made for 2^20 steps; e.g. 0.99 for a budget of 150)")
    p.add_argument('--weights', nargs='+', default=[], metavar='MODEL=FILE',
                   help='start MODEL from a local weights file (e.g. pretrained on another dataset), with the two-stage recipe')
    p.add_argument('--set', nargs='+', default=[], metavar='FIELD=VALUE',
                   help='change a recipe field of the preset, e.g. bs=16 monitor=valid_loss (values read as JSON, else text)')
    a = p.parse_args()
    if len(a.models) < 2:   # model and model-data distillation ensemble several networks: the grid's own bases
        a.methods = [m for m in a.methods if m not in ('model', 'model-data')]
    from semicompact.core import Recipe
    from semicompact.data import make_digits
    from semicompact.study import run_study, report, FINISHED
    out = Path(a.out)
    datasets = {f'digits-{n}': make_digits(out/'data'/f'digits-{n}', size=32, n_labelled=n) for n in a.budgets}
    if a.imbalanced: datasets['digits-imbalanced'] = make_digits(out/'data'/'digits-imbalanced', size=32, n_labelled=IMBALANCED)
    if not datasets: p.error('give --budgets or --imbalanced')
    weights = dict(w.split('=', 1) for w in a.weights)
    common = dict(epochs=a.epochs, epoch_steps=a.epoch_steps, size=32, pretrained=False, flip=False)
    if a.preset == 'paper': recipe, ema = Recipe.paper(**common), None
    else: recipe, ema = Recipe(**common), 0.999   # the library's defaults: monitor valid_loss, patience after the peak, BN re-estimated
    adaptive = {'mu': a.mu, 'ema': ema}
    mom = {} if a.momentum is None else {'momentum': a.momentum}
    recipe = recipe.replace(**{k: _value(v) for k, v in (f.split('=', 1) for f in a.set)})
    t0 = time.perf_counter()
    res = run_study(datasets, a.models, a.methods, out, seeds=tuple(a.seeds), recipe=recipe,
                    bases={'plain_distillation': ['resnet18'], 'data_distillation': ['resnet18'],
                           'model_distillation': a.models, 'model_data_distillation': a.models},
                    method_kw={'data_distillation': {'transforms': NOFLIP}, 'model_data_distillation': {'transforms': NOFLIP},
                               'fixmatch': {'mu': a.mu, 'ema': ema}, 'mixmatch': {'ema': ema}, 'flexmatch': adaptive,
                               'freematch': {**adaptive, **mom}, 'softmatch': {**adaptive, **mom}}, weights=weights or None)
    wall = time.perf_counter() - t0
    idx = report(res, out/'report')
    (out/'quality.md').write_text(tables(res, a))
    histories(res, out)
    done = res[res.status.isin(FINISHED)]
    table = (done[done.status == 'ok'].groupby(['dataset', 'model', 'method']).f1.agg(['mean', 'std', 'count']).round(4)
             .reset_index().to_dict('records'))
    summary = dict(preset=a.preset, recipe=recipe.as_dict(), weights=weights, budget_steps=a.epochs*a.epoch_steps, wall_seconds_this_run=round(wall, 1),
                   cells=len(res), ok=int((res.status == 'ok').sum()), failed=int((~res.status.isin(FINISHED)).sum()),
                   fell_back=done[done.status != 'ok'][['dataset', 'model', 'method', 'seed']].to_dict('records'),
                   f1=table, report=str(idx))
    (out/'summary.json').write_text(json.dumps(summary, indent=2, default=str))
    print(json.dumps({k: v for k, v in summary.items() if k != 'f1'}, indent=2, default=str))

if __name__ == '__main__': main()
