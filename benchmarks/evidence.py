"""The evidence benchmark: do the semi-supervised methods beat Base over folds that draw new labelled images, at equal
optimiser-step budgets, with the statistics a reviewer accepts (Oliver et al., 2018, "Realistic evaluation of deep
semi-supervised learning")?

    python benchmarks/evidence.py --plan                                    # the grid, the cells and the power of its tests
    python benchmarks/evidence.py --out benchmarks/results/evidence         # the whole benchmark (resumable: rerun to go on)
    python benchmarks/evidence.py --out /tmp/evidence-quick --quick         # the same code on a small grid (minutes)
    python benchmarks/evidence.py --out benchmarks/results/evidence --report-only   # tables from the cells run so far

**Blocks.** A block is a dataset at a number of labelled images per class: Fashion-MNIST (Debian's
`dataset-fashion-mnist`: 60,000 real 28×28 training images, 10 classes, the official 10,000-image test set) and
scikit-learn's digits (1,797 real 8×8 scans at 32 px, a fixed 450-image test split). **Folds** resample the labels:
fold k of a block draws its own labelled images (and so its own validation split) from the training images with
`label_seed = 100 + k`, trains every network with `seed = 100 + k`, and keeps the block's test images; every method of
a fold sees the same labelled images. A ceiling block per dataset labels every training image (fully supervised, the
same step budget).

**Budgets.** Every cell trains for exactly `--steps` optimiser steps (`epochs × epoch_steps`, 32 labelled images a
step) from scratch at 32 px, with `early_stopping=False`: no weights are chosen on the handful of validation images,
the last weights are scored (the EMA's for the consistency methods) once on the test set. Self-training students get
the same steps; their teacher is the fold's Base cell of the same network (its steps are reported as
`teacher_steps`, and `total_steps`/`total_seconds` add them). The library's defaults are measured as they are (the
paper's test-time views for data distillation, each method's options) except FixMatch's and FlexMatch's μ = 3 (7 is
slow on a CPU). Nothing here picks a default: `--dev` runs the same grid with the test set replaced by training images
that no fold labels or uses unlabelled (a development split), which is where a default is to be chosen.

**Provenance.** Every row records the library version, the hash of its source files and the git commit
(`semicompact.train.code_version`). The benchmark refuses to run from a library whose files differ from their commit
(`--allow-dirty` for trials), and a table never mixes code: on a rerun with other code, finished cells of the old code
are moved to `stale/<source>/` and run again. The protocol (every option below) is written to `protocol.json` and a
rerun with other options is refused (use another `--out`).

**Outputs.** `results.csv` (the study table, one row per cell), `evidence.md` (per block and network: F1 mean ± sd,
gains over Base with confidence intervals, paired Wilcoxon and t tests over folds Holm-adjusted across methods, d_z
with its interval, Friedman with average ranks; the ceiling and the share of the Base-to-ceiling gap closed; compute
columns; the power of the planned tests; the targets of the evidence issue, met or missed by how much),
`summary.json` (the same numbers, for the notebooks to read and assert), `histories.csv` (every cell's per-epoch log:
losses, mask rates). Not a test.
"""
import argparse, dataclasses, json, shutil, sys, time, warnings
from dataclasses import dataclass
from pathlib import Path
warnings.filterwarnings('ignore')

FOLD_SEED = 100          # fold k: label_seed = seed = FOLD_SEED + k
SPLIT_SEED = 42          # the test split of the digits, the unlabelled draw of Fashion-MNIST: the same in every fold
SHORT = {'base': 'Base', 'plain_distillation': 'Plain', 'data_distillation': 'Data', 'model_distillation': 'Model',
         'model_data_distillation': 'Model-data', 'fixmatch': 'FixMatch', 'mixmatch': 'MixMatch',
         'flexmatch': 'FlexMatch', 'freematch': 'FreeMatch', 'softmatch': 'SoftMatch'}
CONSISTENCY = ('fixmatch', 'mixmatch', 'flexmatch', 'freematch', 'softmatch')
COUNTED = ('ok', 'student_below_base')   # a student below its teacher is what the method produced (flagged); no pseudo-label: not the method
SELF_TRAINING = ('plain_distillation', 'data_distillation', 'model_distillation', 'model_data_distillation')

@dataclass(frozen=True)
class Block:
    "One block of the benchmark: a dataset at a number of labelled images per class, its folds, networks and methods"
    data: str                   # 'fashion' or 'digits'
    n_labelled: int|None        # labelled images per class; None: every training image (the fully supervised ceiling)
    folds: int
    models: tuple
    methods: tuple
    @property
    def name(self) -> str: return f"{self.data}-{'all' if self.n_labelled is None else self.n_labelled}"
    @property
    def ceiling(self) -> bool: return self.n_labelled is None

NETS = ('resnet18', 'shufflenet_v2')
METHODS = ('base', 'fixmatch', 'flexmatch', 'mixmatch', 'data_distillation')
COMPACT = ('base', 'fixmatch', 'mixmatch', 'data_distillation')   # FlexMatch on ResNet-18 only: the whole grid fits ~6 CPU-hours
PLANS = {
    'full': dict(steps=500, epochs=20, n_unlabelled=10000, n_test=None, blocks=[
        Block('fashion', 5, 10, ('resnet18',), METHODS), Block('fashion', 5, 10, ('shufflenet_v2',), COMPACT),
        Block('digits', 5, 10, ('resnet18',), METHODS), Block('digits', 5, 10, ('shufflenet_v2',), COMPACT),
        Block('fashion', None, 3, NETS, ('base',)), Block('digits', None, 3, NETS, ('base',))]),
    'quick': dict(steps=100, epochs=5, n_unlabelled=2000, n_test=2000, blocks=[
        Block('fashion', 5, 2, ('resnet18',), ('base', 'fixmatch', 'data_distillation')),
        Block('digits', 5, 2, ('resnet18',), ('base', 'fixmatch', 'data_distillation')),
        Block('digits', None, 1, ('resnet18',), ('base',))]),
}

# ------------------------------------------------------------------------------------------------------------ the data
def fold_data(block:Block, k:int, out:Path, a) -> Path:
    "The dataset of fold `k` of `block` (written once, then reused)"
    from semicompact.data import make_digits, make_fashion_mnist, split_dataset
    dest, seed = out/'data'/('dev' if a.dev else 'test')/block.name/f'fold{k:02d}', FOLD_SEED + k
    if block.data == 'digits':
        if a.dev:   # the 1,347 training scans (the test scans never), a quarter of them standing in for the test set
            pool = make_digits(out/'data'/'dev-source'/'digits', size=32, n_labelled=None, seed=SPLIT_SEED)/'train'
            if (dest/'split.csv').exists(): return dest
            return split_dataset(pool, dest, test_pct=0.25, n_labelled=block.n_labelled, seed=SPLIT_SEED, label_seed=seed, mode='hardlink')
        return make_digits(dest, size=32, n_labelled=block.n_labelled, seed=SPLIT_SEED, label_seed=seed)
    n_unl = 0 if block.ceiling else a.n_unlabelled
    return make_fashion_mnist(dest, n_labelled=block.n_labelled, n_unlabelled=n_unl, n_test=a.n_test, seed=SPLIT_SEED, label_seed=seed,
                              source=dev_source(out) if a.dev else None)

def dev_source(out:Path) -> Path:
    "Fashion-MNIST's development split as a folder of the four IDX files: the last 10,000 training images stand in for the test set"
    import gzip, numpy as np
    from semicompact.data import read_idx, make_fashion_mnist
    d = out/'data'/'dev-source'/'fashion'
    if (d/'t10k-labels-idx1-ubyte.gz').exists(): return d
    src = Path(__import__('os').environ.get('SEMICOMPACT_FASHION_MNIST', '/usr/share/datasets/fashion-mnist'))
    x, y = read_idx(src/'train-images-idx3-ubyte.gz'), read_idx(src/'train-labels-idx1-ubyte.gz')
    d.mkdir(parents=True, exist_ok=True)
    def write(name, arr):
        head = bytes([0, 0, 8, arr.ndim]) + b''.join(int(n).to_bytes(4, 'big') for n in arr.shape)
        with gzip.open(d/name, 'wb') as f: f.write(head + np.ascontiguousarray(arr, dtype=np.uint8).tobytes())
    write('train-images-idx3-ubyte.gz', x[:50000]); write('train-labels-idx1-ubyte.gz', y[:50000])
    write('t10k-images-idx3-ubyte.gz', x[50000:]); write('t10k-labels-idx1-ubyte.gz', y[50000:])
    return d

# -------------------------------------------------------------------------------------------------------- provenance
def check_code(out:Path, a) -> dict:
    "The code this run uses; refuse a dirty checkout (unless allowed); move cells of other code to stale/ so they run again"
    from semicompact.train import code_version
    from semicompact.study import read_results, Cell
    cur = code_version()
    if cur.get('dirty') and not a.allow_dirty:
        sys.exit("The library's files differ from their commit: commit first (a benchmark row names the code it comes from), "
                 "or pass --allow-dirty for a trial")
    res = read_results(out/'results.csv')
    if len(res) and 'source' in res:
        old = res[res.source.astype(str) != cur['source']]
        for r in old.itertuples():
            f = Cell(r.dataset, r.model, r.method, int(r.seed)).folder(out)
            if f.exists():
                dest = out/'stale'/str(r.source)/f.relative_to(out)
                dest.parent.mkdir(parents=True, exist_ok=True); shutil.move(str(f), str(dest))
        if len(old):
            print(f"{len(old)} cell(s) of other code ({', '.join(sorted(map(str, set(old.source))))}) moved to {out/'stale'}: they run again")
            keep = read_results(out/'results.csv', nullable=True)   # the table holds only rows of this code: cells not run again yet have none
            keep[keep.source.astype(str) == cur['source']].to_csv(out/'results.csv', index=False)
    return cur

def check_protocol(out:Path, protocol:dict):
    "Write protocol.json, or refuse a rerun whose options differ from the first run's"
    p, protocol = out/'protocol.json', json.loads(json.dumps(protocol))   # as it reads back
    if p.exists():
        old = json.loads(p.read_text())
        diff = {k: (old.get(k), v) for k, v in protocol.items() if old.get(k) != v}
        if diff: sys.exit(f"{out} was run with other options ({diff}); use another --out")
    else: out.mkdir(parents=True, exist_ok=True); p.write_text(json.dumps(protocol, indent=2))

# ---------------------------------------------------------------------------------------------------------- running
def recipe_of(a):
    from semicompact.core import Recipe
    return Recipe(epochs=a.epochs, epoch_steps=a.steps//a.epochs, size=32, pretrained=False, flip=False, early_stopping=False)

def method_kw(a) -> dict:
    return {'fixmatch': dict(mu=a.mu), 'flexmatch': dict(mu=a.mu)}

def run(blocks, out:Path, a):
    "Every fold of every block, fold by fold (so that an interrupted benchmark has the same folds in every block)"
    from semicompact.study import run_study
    recipe, kw = recipe_of(a), method_kw(a)
    for k in range(max(b.folds for b in blocks)):
        for b in blocks:
            if k >= b.folds: continue
            path = fold_data(b, k, out, a)
            for m in b.models:
                bases = {me: [m] for me in SELF_TRAINING}   # same-architecture self-training: the fold's Base cell teaches
                restore_teacher(out, f'{b.name}-f{k:02d}', m, b.methods, FOLD_SEED + k)
                run_study({f'{b.name}-f{k:02d}': path}, [m], list(b.methods), out, seeds=(FOLD_SEED + k,), recipe=recipe,
                          bases=bases, method_kw=kw, verbose=True)

def restore_teacher(out:Path, dataset:str, model:str, methods, seed:int):
    "A Base cell committed without its weights (they are not kept in git) is trained again when a student of its fold still needs it"
    from semicompact.study import Cell
    base = Cell(dataset, model, 'base', seed).folder(out)
    need = [me for me in methods if me in SELF_TRAINING and not (Cell(dataset, model, me, seed).folder(out)/'metrics.json').exists()]
    if need and (base/'metrics.json').exists() and not (base/'model.safetensors').exists():
        dest = out/'stale'/'no-weights'/base.relative_to(out)   # training is deterministic on a CPU: the same cell comes back
        if dest.exists(): shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True); shutil.move(str(base), str(dest))
        print(f"{base}: weights not kept; trained again for {', '.join(need)}")

# -------------------------------------------------------------------------------------------------------- analysis
def tidy(res):
    "Rows of the benchmark with block, fold and compute columns (teacher steps and seconds from the fold's Base cell)"
    import pandas as pd
    from semicompact.study import FINISHED
    d = res[res.status.isin(FINISHED)].copy()
    d['block'] = d.dataset.str.rsplit('-f', n=1).str[0]
    d['fold'] = d.dataset.str.rsplit('-f', n=1).str[1].astype(int)
    base = d[d.method == 'base'].set_index(['dataset', 'model'])
    st = d.method.isin(SELF_TRAINING)
    key = list(zip(d.dataset, d.model))
    d['teacher_steps'] = [base.steps.get(kk, float('nan')) if s else 0 for kk, s in zip(key, st)]
    d['teacher_seconds'] = [base.cell_seconds.get(kk, float('nan')) if s else 0 for kk, s in zip(key, st)]
    d['total_steps'] = d.steps + d.teacher_steps
    d['total_seconds'] = d.cell_seconds + d.teacher_seconds
    return d

def block_stats(d, alpha=0.05):
    "Per (block, network): the fold × method table, paired tests against Base, Friedman with average ranks"
    from semicompact.stats import paired_tests, compare
    out = {}
    for (block, model), g in d[~d.block.str.endswith('-all')].groupby(['block', 'model']):
        ok = g[g.status.isin(COUNTED)]
        wide = ok.pivot_table(index='fold', columns='method', values='f1')
        wide = wide[[m for m in SHORT if m in wide.columns]].dropna()   # complete folds only
        if 'base' not in wide or len(wide) < 2 or wide.shape[1] < 2: continue
        pt = paired_tests(wide, control='base', method='holm', alpha=alpha)
        try: cmp = compare(wide, control='base', method='holm')
        except Exception as e: cmp = e
        out[(block, model)] = dict(wide=wide, paired=pt, compare=cmp, fell_back=g[g.status != 'ok'])
        st_rows = g[g.method.isin(SELF_TRAINING)]
        if len(st_rows):
            cols = [c for c in ('n_kept', 'pseudo_label_accuracy', 'n_train_pseudo', 'student_valid_accuracy', 'teacher_valid_accuracy') if c in st_rows]
            pl = st_rows.groupby('method')[cols].mean().round(3)
            pl['student_below_base'] = st_rows.groupby('method').status.apply(lambda s: int((s == 'student_below_base').sum()))
            pl['no_pseudo_labels'] = st_rows.groupby('method').status.apply(lambda s: int((s == 'no_pseudo_labels').sum()))
            out[(block, model)]['pseudo_labels'] = pl
    return out

def ceilings(d):
    c = d[d.block.str.endswith('-all') & (d.status == 'ok')]
    return c.groupby([c.block.str.replace('-all', '', regex=False), 'model']).f1.agg(['mean', 'std', 'count'])

def fmt(m, s): return f"{m:.3f}" + ('' if s != s else f" ± {s:.3f}")

def power_statement(a, n_folds:int, m:int) -> list[str]:
    from semicompact.stats import planned_power
    lines = ["## Power of the planned tests", "",
             f"Each claim is a paired test over the {n_folds} folds of a block, Holm-adjusted across the {m} methods compared with "
             "Base. The power of a two-sided paired t-test at α = 0.05 and at Holm's strictest step (α/m), and the folds "
             "needed for 0.8 there (the Wilcoxon test's power is approximated through its efficiency 3/π for normal data):", "",
             "| d_z | power at α | power at α/m | folds for 0.8 at α/m | Wilcoxon power at α/m (approx.) |", "|---|---|---|---|---|"]
    for dz in (0.64, 1.0, 1.5, 2.0):
        p = planned_power(dz, n_folds, alpha=0.05, m=m)
        lines.append(f"| {dz} | {p['power']:.2f} | {p['power_holm']:.2f} | {p['n_holm']} | {p['power_wilcoxon_holm']:.2f} |")
    lines += ["", "d_z = 0.64 is the typical effect of the earlier 3-seed benchmark; the gains this benchmark targets "
              "(+5 to +15 points with fold-to-fold spreads of 2–5 points) are d_z ≥ 1.5. "
              f"With {n_folds} folds the exact two-sided Wilcoxon test cannot go below p = 2/2^{n_folds} = {2/2**n_folds:.4f}"
              + (f", so it can pass Holm's first step over the {m} comparisons only if that is below {0.05/m:.4f}." if m else "."), ""]
    return lines

def targets(stats, ceil) -> list[dict]:
    "The evidence issue's targets, each met or missed by how much"
    rows = []
    def best(st, among):
        pt = st['paired']; pt = pt[pt.index.isin(among)]
        return None if pt.empty else pt.sort_values('diff', ascending=False).iloc[0]
    for (block, model), st in stats.items():
        data, n = block.split('-')
        base = st['wide']['base'].mean()
        for what, among, need in (('best consistency', CONSISTENCY, 0.15 if data == 'fashion' else None),
                                  ('best self-training', SELF_TRAINING, 0.05 if data == 'fashion' else None),
                                  ('best method', CONSISTENCY + SELF_TRAINING, None if data == 'fashion' else 0.08)):
            if need is None or n != '5': continue
            b = best(st, among)
            if b is None: continue
            met = b['diff'] >= need and bool(b['significant'])
            rows.append(dict(block=block, model=model, target=f"{what} ≥ Base + {need*100:.0f}, Holm-significant", method=b.name,
                             gain=round(b['diff']*100, 1), p_holm=round(float(b['p_wilcoxon_adj']), 4), met=met,
                             short_by=None if met else round(max(0, need - b['diff'])*100, 1)))
        if data == 'fashion' and n == '5' and (data, model) in ceil.index:
            b = best(st, CONSISTENCY)
            if b is not None:
                gap = ceil.loc[(data, model), 'mean'] - base
                share = b['diff']/gap if gap > 0 else float('nan')
                rows.append(dict(block=block, model=model, target="best consistency closes ≥ half the Base-to-ceiling gap", method=b.name,
                                 gain=round(b['diff']*100, 1), share_of_gap=round(share, 3), met=bool(share >= 0.5),
                                 short_by=None if share >= 0.5 else round((0.5 - share)*gap*100, 1)))
        worse = st['paired'][(st['paired']['diff'] < 0) & st['paired']['significant']]
        rows.append(dict(block=block, model=model, target="no method significantly worse than Base", method=', '.join(worse.index) or '-',
                         met=worse.empty))
    return rows

def report(res, out:Path, a, plan, cur:dict):
    import pandas as pd
    from semicompact.stats import to_markdown
    d = tidy(res)
    if d.empty: print("No finished cells yet"); return
    stats, ceil = block_stats(d), ceilings(d)
    sources, commits = sorted(set(map(str, d.source))), sorted(set(map(str, d.commit)))
    md = [f"# Evidence benchmark ({'development split' if a.dev else 'test set'}{', quick preset' if a.quick else ''})", "",
          f"Reproduce: `{' '.join(['python', 'benchmarks/evidence.py'] + [x for x in sys.argv[1:] if x not in ('--report-only', '--allow-dirty')])}`", "",
          f"Code: library source {', '.join(sources)}, commit {', '.join(c[:10] for c in commits)} "
          f"({'one code version' if len(sources) == 1 else 'MIXED CODE VERSIONS: not a result'}). "
          f"{a.steps} optimiser steps for every cell (32 labelled images a step; FixMatch/FlexMatch μ = {a.mu}), from scratch at 32 px, "
          "the last weights scored (no early stopping, no model selection). Folds resample the labelled images; "
          + ("Development split (no test image is read): Fashion-MNIST's last 10,000 training images and a quarter of the digits' "
             f"1,347 training scans stand in for the test set; Fashion-MNIST: {a.n_unlabelled} unlabelled images, "
             f"{'all 10,000' if a.n_test is None else a.n_test} of those scored; digits: the rest of the scans unlabelled."
             if a.dev else f"Fashion-MNIST: {a.n_unlabelled} unlabelled images, test {'all 10,000' if a.n_test is None else a.n_test} "
             "images of the official test set; digits: the rest of the 1,347 training scans unlabelled, the 450 test scans."), ""]
    planned = sum(b.folds*len(b.models)*len(b.methods) for b in a.blocks)
    if len(d) < planned: md += [f"**Partial: {len(d)} of the {planned} planned cells have run** (rerun the command above to go on).", ""]
    tested = [b for b in a.blocks if not b.ceiling]   # the power of the tests as planned, whatever has run so far
    md += power_statement(a, max(b.folds for b in tested), max(len(b.methods) - 1 for b in tested))
    if len(ceil): md += ["## Fully supervised ceiling (every training image labelled, same budget)", "",
                         to_markdown(ceil.assign(f1=[fmt(r['mean'], r['std']) for _, r in ceil.iterrows()])[['f1', 'count']]), ""]
    summary = dict(code=dict(sources=sources, commits=commits, current=cur), protocol=protocol_of(a), blocks={}, targets=[])
    cells = d[~d.block.str.endswith('-all')].pivot_table(index=['block', 'model', 'fold'], columns='method', values='f1')
    cells = cells[[m for m in SHORT if m in cells.columns]].rename(columns=SHORT)
    md += ["## Every finished cell (test macro-F1)", "", "Flagged cells (`student_below_base`, `no_pseudo_labels`) are listed under their block below.", "",
           to_markdown(cells.reset_index().set_index(['block', 'model', 'fold']), decimals=3), ""]
    for (block, model), st in stats.items():
        w, pt = st['wide'], st['paired']
        mean_sd = pd.DataFrame({SHORT[m]: [fmt(w[m].mean(), w[m].std())] for m in w.columns}, index=['F1'])
        tab = pt.assign(gain=(pt['diff']*100).round(1), ci=[f"[{l*100:.1f}, {h*100:.1f}]" for l, h in zip(pt.diff_low, pt.diff_high)],
                        dz_ci=[f"{z:.2f} [{l:.2f}, {h:.2f}]" for z, l, h in zip(pt.dz, pt.dz_low, pt.dz_high)],
                        wtl=[f"{int(x)}/{int(y)}/{int(z)}" for x, y, z in zip(pt.wins, pt.ties, pt.losses)])
        tab = tab[['gain', 'ci', 'dz_ci', 'wtl', 'p_wilcoxon', 'p_wilcoxon_adj', 'p_t', 'p_t_adj', 'significant']].rename(index=SHORT)
        tab['gain'] = tab['gain'].map('{:+.1f}'.format)
        for c in ('p_wilcoxon', 'p_wilcoxon_adj', 'p_t', 'p_t_adj'): tab[c] = tab[c].map('{:.4f}'.format)
        tab.columns = ['gain (points)', '95% CI', 'd_z [95% CI]', 'wins/ties/losses', 'Wilcoxon p', 'Holm p', 't p', 'Holm p (t)', 'significant']
        md += [f"## {block}, {model} ({len(w)} complete folds)", "", to_markdown(mean_sd), "", to_markdown(tab, decimals=4), ""]
        if isinstance(st['compare'], Exception): md += [f"Friedman/ANOVA not computed: {st['compare']}", ""]
        else: md += [st['compare'].describe(), "", f"Average ranks over the folds ({w.shape[1]} = best): " + ', '.join(f"{SHORT.get(k, k)} {v:.2f}" for k, v in st['compare'].ranks.sort_values(ascending=False).items()), ""]
        fb = st['fell_back']
        if len(fb): md += ["Flagged: " + ', '.join(f"{r.method} fold {r.fold} ({r.status}, F1 {r.f1:.3f})" for r in fb.itertuples()) +
                           ". A student below its teacher (`student_below_base`) is counted above, being what the method produced; "
                           "a run that kept no pseudo-label (`no_pseudo_labels`) is not, its network having learnt from the labelled images alone.", ""]
        if 'pseudo_labels' in st:
            md += ["Self-training, mean over folds (pseudo-labels kept and right, images the student trained on besides the labelled "
                   "ones, validation accuracy of the student and of its teacher, runs flagged):", "", to_markdown(st['pseudo_labels'].rename(index=SHORT), decimals=3), ""]
        comp = d[(d.block == block) & (d.model == model)].groupby('method')[['steps', 'teacher_steps', 'total_steps', 'cell_seconds', 'total_seconds']].mean().round(1)
        md += ["Compute per cell (mean over folds; a self-training cell's teacher is the fold's Base cell):", "", to_markdown(comp.rename(index=SHORT), decimals=1), ""]
        summary['blocks'][f"{block}/{model}"] = dict(folds=len(w), f1=w.mean().round(4).to_dict(), sd=w.std().round(4).to_dict(),
                                                    paired=json.loads(pt.to_json(orient='index')), compute=json.loads(comp.to_json(orient='index')))
    tg = targets(stats, ceil)
    summary['targets'] = tg
    if tg: md += ["## Targets of the evidence issue", "", to_markdown(pd.DataFrame(tg).set_index(['block', 'model'])), ""]
    summary['ceiling'] = {f"{k[0]}/{k[1]}": dict(mean=round(v['mean'], 4), sd=None if v['std'] != v['std'] else round(v['std'], 4), folds=int(v['count']))
                          for k, v in ceil.iterrows()}
    summary['cells'] = dict(total=len(res), finished=int(len(d)), failed=int((res.status == 'failed').sum()))
    (out/'evidence.md').write_text('\n'.join(md))
    (out/'summary.json').write_text(json.dumps(summary, indent=2, default=str))
    histories(d, out)
    print('\n'.join(md))

def histories(d, out:Path):
    "histories.csv: every finished cell's per-epoch history (losses, mask rates, thresholds)"
    import pandas as pd
    from semicompact.study import Cell
    frames = []
    for r in d.itertuples():
        f = Cell(r.dataset, r.model, r.method, int(r.seed)).folder(out)/'history.csv'
        if f.exists(): frames.append(pd.read_csv(f).assign(block=r.block, fold=r.fold, model=r.model, method=r.method))
    if frames: pd.concat(frames, ignore_index=True).to_csv(out/'histories.csv', index=False)

# ------------------------------------------------------------------------------------------------------------- main
def protocol_of(a) -> dict:
    return dict(preset='quick' if a.quick else 'full', dev=a.dev, steps=a.steps, epochs=a.epochs, mu=a.mu,
                n_unlabelled=a.n_unlabelled, n_test=a.n_test, blocks=[dataclasses.asdict(b) for b in a.blocks])

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default='benchmarks/results/evidence')
    p.add_argument('--quick', action='store_true', help='the small preset (2 folds, ResNet-18, 3 methods, 100 steps)')
    p.add_argument('--dev', action='store_true', help='score on a development split (training images no fold uses) instead of the test set')
    p.add_argument('--only', nargs='*', default=None, metavar='BLOCK', help="run only these blocks (e.g. fashion-5 digits-all)")
    p.add_argument('--folds', type=int, default=None, help='run folds 0..N-1 only this time (the protocol keeps its folds)')
    p.add_argument('--mu', type=float, default=3)
    p.add_argument('--plan', action='store_true', help='print the grid and the power of its tests, run nothing')
    p.add_argument('--report-only', action='store_true', help='write the tables from the cells run so far')
    p.add_argument('--allow-dirty', action='store_true', help='run from a library whose files differ from their commit (a trial)')
    a = p.parse_args()
    plan = PLANS['quick' if a.quick else 'full']
    a.steps, a.epochs, a.n_unlabelled, a.n_test, a.blocks = plan['steps'], plan['epochs'], plan['n_unlabelled'], plan['n_test'], plan['blocks']
    blocks = [b for b in a.blocks if a.only is None or b.name in a.only]
    if a.folds is not None: blocks = [dataclasses.replace(b, folds=min(b.folds, a.folds)) for b in blocks]
    if a.plan:
        n = sum(b.folds*len(b.models)*len(b.methods) for b in blocks)
        print(json.dumps(protocol_of(a), indent=2)); print(f"{n} cells"); print('\n'.join(power_statement(a, max(b.folds for b in blocks), len(METHODS) - 1))); return
    out = Path(a.out)
    check_protocol(out, protocol_of(a))
    if a.report_only:   # only reads: nothing is moved or run, whatever library reads it (the tables name the code of their rows)
        from semicompact.train import code_version
        cur = code_version()
    else: cur = check_code(out, a)
    from semicompact.study import read_results
    t0 = time.perf_counter()
    if not a.report_only: run(blocks, out, a)
    print(f"wall {time.perf_counter() - t0:.0f} s")
    report(read_results(out/'results.csv'), out, a, plan, cur)

if __name__ == '__main__': main()
