#!/usr/bin/env python
"""Students that beat their teachers (issue 24): data distillation's student against its own teacher, on a
development split of the digits, with the ways of training the student the library offers.

**Data.** The 1,347 training scans of scikit-learn's digits at 32 px (the test scans are never read): a quarter of
them stands in for the test set (the same in every fold, `seed=0`), fold k draws its own `--n-labelled` images per
class from the rest (`label_seed=k`), and the others are unlabelled. A default decided here is decided on these
images, never on the test images the evidence benchmark reports.

**Cells.** Per fold: the teacher, ResNet-18 Base from scratch (`seed=k`), then data distillation students of the
same architecture taught by it (the paper's six views, the view check, confidence 0.8), one per variant:

- `paper`: the pseudo-labels, hard, shuffled in with the labelled images (the library's defaults)
- `balance`: the same, balanced to the labelled images' class distribution
- `soft_noise`: soft targets and a noised student in mixed batches (half of every batch labelled)
- `soft_noise_balance`: the same on the balanced pseudo-labels
- `from_teacher`: `soft_noise_balance` starting from the teacher's weights
- `drop`: `soft_noise_balance` with the student's network noised too, Noisy Student's dropout 0.5 before the
  classifier and stochastic depth 0.2 (`drop_rate`, `drop_path_rate`)

Every run trains exactly `--epochs × --epoch-steps` optimiser steps (no early stopping, no head-only stage) and is
scored once on the development test images. The report pairs every variant with the teacher and with `paper` over
the folds (the library's `paired_tests`, Holm-adjusted) and counts the students below their teacher.

With `--students resnet18 shufflenet_v2` the compact network is taught too (run folders `shufflenet_v2-<variant>`;
`from_teacher` needs the teacher's architecture and torchvision's ShuffleNet v2 has no dropout or stochastic depth, so
`from_teacher` and `drop` are ResNet-18's only), with its own Base (`shufflenet_v2-base`),
the control of its students.

Usage: python benchmarks/students.py [--folds 1 2 3 4 5] [--students resnet18 shufflenet_v2] [--out benchmarks/results/students]
       python benchmarks/students.py --folds 1 2 3 4 5 6 7 8 9 10 --variants soft_noise_balance drop --out benchmarks/results/students_drop
Resumable (a finished run folder of the same code is kept; one of other code, by the hash of the library's source,
is moved to OUT/stale/ and run again, with the students of a teacher run again). Every row of OUT/results.csv names
the code that made it (library version, commit, source hash, dirty); OUT/summary.json lists the code versions of the
table (`one_code_version`). Writes OUT/results.csv and OUT/summary.json, prints the tables.
"""
import argparse, json, os, shutil, tempfile, time, warnings
from pathlib import Path

warnings.filterwarnings('ignore')
PAPER = dict(balance=False, soft=False, noise=False)   # every option named, so a variant means the same whatever the library's defaults
VARIANTS = {'paper': PAPER,
            'balance': {**PAPER, 'balance': True},
            'soft_noise': {**PAPER, 'soft': True, 'noise': True},
            'soft_noise_balance': dict(balance=True, soft=True, noise=True),
            'from_teacher': dict(balance=True, soft=True, noise=True, from_teacher=True),
            'drop': dict(balance=True, soft=True, noise=True, drop_rate=0.5, drop_path_rate=0.2)}
TEACHERS_NET_ONLY = ('from_teacher', 'drop')   # the teacher's architecture (ResNet-18, a timm network) only

def provenance(run:Path) -> dict:
    "The code a finished run folder was made by (its config.json's versions)"
    v = json.loads((run/'config.json').read_text()).get('versions', {})
    return dict(library_version=v.get('semicompact'), commit=v.get('commit'), source=v.get('source'), dirty=v.get('dirty'))

def fresh(run:Path, source:str, stale:Path, report_only:bool) -> bool:
    "Whether `run` is finished by the current code; a run of other code is moved to `stale/<its source>/` (to be run again)"
    if not (run/'metrics.json').exists(): return False
    old = provenance(run)['source']
    if old == source or report_only: return True
    dest = stale/str(old)[:12]/run.relative_to(stale.parent/'runs')
    dest.parent.mkdir(parents=True, exist_ok=True); shutil.move(str(run), str(dest))
    return False

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--folds', type=int, nargs='+', default=[1, 2, 3, 4, 5])
    p.add_argument('--n-labelled', type=int, default=5)
    p.add_argument('--epochs', type=int, default=15)
    p.add_argument('--epoch-steps', type=int, default=10)
    p.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument('--students', nargs='+', default=['resnet18'], help="the students' networks (from_teacher and drop only for the teacher's, resnet18)")
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'students'))
    p.add_argument('--report-only', action='store_true', help='tables from the finished runs; train nothing')
    a = p.parse_args(argv)
    import pandas as pd
    from semicompact.data import make_digits, split_dataset
    from semicompact.train import train_model, load_run, versions, code_version
    from semicompact.distill import data_distillation
    from semicompact.stats import paired_tests
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    recipe = dict(epochs=a.epochs, epoch_steps=a.epoch_steps, early_stopping=False, freeze_epochs=0, size=32, pretrained=False, flip=False,
                  show_progress=False)
    load_before, rows, source, stale = os.getloadavg(), [], code_version()['source'], out/'stale'
    with tempfile.TemporaryDirectory() as tmp:
        pool = None
        for k in a.folds:
            data = out/'data'/f'digits-dev-{a.n_labelled}-f{k}'
            if not (data/'split.csv').exists() and not a.report_only:
                pool = pool or make_digits(Path(tmp)/'digits', size=32, n_labelled=None, seed=0)/'train'
                split_dataset(pool, data, test_pct=0.25, n_labelled=a.n_labelled, seed=0, label_seed=k)
            runs = out/'runs'/f'fold{k}'
            teacher = runs/'teacher'
            t0 = time.perf_counter()
            if a.report_only and not (teacher/'metrics.json').exists(): continue
            new_teacher = not fresh(teacher, source, stale, a.report_only)
            if new_teacher: train_model('resnet18', data, output_path=teacher, overwrite=True, seed=k, **recipe)
            tm = load_run(teacher).metrics
            rows.append(dict(fold=k, variant='teacher', student='resnet18', f1=tm['f1'], accuracy=tm['accuracy'], status='ok', seconds=tm['train_seconds'],
                             **provenance(teacher)))
            for student in [s for s in a.students if s != 'resnet18']:   # another network's Base: the control of its students
                base = runs/f'{student}-base'
                if a.report_only and not (base/'metrics.json').exists(): continue
                if not fresh(base, source, stale, a.report_only): train_model(student, data, output_path=base, overwrite=True, seed=k, **recipe)
                bm = load_run(base).metrics
                rows.append(dict(fold=k, variant=base.name, student=student, f1=bm['f1'], accuracy=bm['accuracy'], status='ok', seconds=bm['train_seconds'],
                                 **provenance(base)))
            for student, v in [(s, v) for s in a.students for v in a.variants if s == 'resnet18' or v not in TEACHERS_NET_ONLY]:
                run = runs/(v if student == 'resnet18' else f'{student}-{v}')
                if a.report_only and not (run/'metrics.json').exists(): continue
                if new_teacher and (run/'metrics.json').exists() and not a.report_only:   # taught by the teacher just run again: again too
                    (stale/'retaught').mkdir(parents=True, exist_ok=True); shutil.move(str(run), str(stale/'retaught'/f'fold{k}-{run.name}'))
                if not fresh(run, source, stale, a.report_only):
                    t0 = time.perf_counter()
                    data_distillation(student, data, output_path=run, overwrite=True, base_models=teacher, seed=k, **recipe, **VARIANTS[v])
                    print(f"fold {k} {student} {v}: {time.perf_counter() - t0:.0f} s", flush=True)
                m = load_run(run).metrics
                rows.append(dict(fold=k, variant=run.name, student=student, f1=m['f1'], accuracy=m['accuracy'], status=m['status'], seconds=m['train_seconds'],
                                 n_kept=m['n_kept'], n_train_pseudo=m['n_train_pseudo'], pseudo_label_accuracy=m['pseudo_label_accuracy'],
                                 classes_without=len(m['classes_without_pseudo_labels']), views=','.join(m['transforms']),
                                 student_valid=m['student_valid_accuracy'], teacher_valid=m['teacher_valid_accuracy'], **provenance(run)))
    res = pd.DataFrame(rows)
    res.to_csv(out/'results.csv', index=False)
    names = list(dict.fromkeys(res.variant))
    table = res.pivot(index='fold', columns='variant', values='f1')[names]
    print(table.round(3).to_string())
    tests = {}
    for student in a.students:   # each student against its Base (the teacher, for ResNet-18) and against the paper's way
        pre = '' if student == 'resnet18' else f'{student}-'
        for control in (('teacher' if student == 'resnet18' else f'{pre}base'), f'{pre}paper'):
            d = res[(res.student == student) & ((res.variant != 'teacher') | (control == 'teacher'))]
            if d.fold.nunique() >= 2 and control in set(d.variant):
                pt = paired_tests(d, block='fold', group='variant', value='f1', control=control).reset_index()
                tests[control] = pt.to_dict('records')
                print(f"\nagainst {control}:\n" + pt.round(4).to_string(index=False))
    base_of = lambda v: 'teacher' if v in VARIANTS else v.split('-')[0] + '-base'   # a student's control: its network's Base
    wide = res.pivot(index='fold', columns='variant', values='f1')
    below = {v: int((wide[v] < wide[base_of(v)]).sum()) for v in names if v != 'teacher' and not v.endswith('-base')}
    codes = res.groupby(['commit', 'source', 'dirty'], dropna=False).size().reset_index(name='runs').to_dict('records')
    if len({c['source'] for c in codes}) > 1: print(f"\nthe runs come from {len(codes)} code versions (results.csv names each row's): {codes}")
    summary = dict(versions=versions(), code_versions=codes, one_code_version=len({c['source'] for c in codes}) == 1, args=vars(a), recipe=recipe, load_before=load_before, load_after=os.getloadavg(),
                   f1=table.round(4).reset_index().to_dict('records'), mean=table.mean().round(4).to_dict(), sd=table.std().round(4).to_dict(),
                   below_base_on_test=below, flagged_below_base={v: int(((res.variant == v) & (res.status == 'student_below_base')).sum()) for v in below},
                   tests=tests)
    (out/'summary.json').write_text(json.dumps(summary, indent=1, default=str))
    print(f"\nmean F1: {summary['mean']}\nstudents below their Base (the teacher for ResNet-18; test F1): {below}; load {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}")

if __name__ == '__main__': main()
