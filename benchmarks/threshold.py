"""How good are the pseudo-labels a self-training teacher keeps, at each confidence threshold? Read from a finished study.

    python benchmarks/threshold.py benchmarks/results/quality        # after benchmarks/quality.py

Every distillation run of a study writes `pseudo_labels.csv`: for each unlabelled image the (ensemble's) label, its
confidence and, for data we made, the true label. Nothing is trained here: the table re-applies other thresholds to
those confidences. Per budget (labelled images per class), distillation method and threshold: the share of the pool
kept (coverage), the accuracy of the kept labels, and how many wrong labels a student is taught per right one; the
teachers' calibration (expected calibration error over 10 confidence bins, the accuracy of each bin); and, at the
threshold the runs used, how the student's gain over Base (the same network trained on the labelled images alone, same
seed) follows the kept labels' accuracy (Spearman).
Writes threshold.json and threshold.md next to the study's results. Not a test.
"""
import argparse, json
from pathlib import Path
import numpy as np, pandas as pd
from semicompact.stats import to_markdown

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)

def runs(study:Path):
    res = pd.read_csv(study/'results.csv')
    base = res[(res.method == 'base') & (res.status == 'ok')].set_index(['dataset', 'model', 'seed']).f1   # each network's own Base
    for f in sorted((study/'runs').glob('*/*/*/seed*/pseudo_labels.csv')):
        m = json.loads((f.parent/'metrics.json').read_text())
        if m.get('status') not in ('ok', 'no_pseudo_labels'): continue
        pl = pd.read_csv(f)
        if 'true_label' not in pl or pl.true_label.isna().all(): continue
        key = (f.parts[-5], f.parts[-4], int(f.parts[-2].removeprefix('seed')))
        yield dict(dataset=key[0], model=key[1], method=f.parts[-3], seed=key[2], used=m['confidence'],
                   student_f1=m['f1'], base_f1=float(base.get(key, np.nan))), pl

def ece(conf, right, bins=10):
    edges = np.linspace(0, 1, bins + 1); idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    return float(sum(abs(right[idx == b].mean() - conf[idx == b].mean())*(idx == b).mean() for b in range(bins) if (idx == b).any()))

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('study', help='a study folder (runs/ and results.csv)')
    a = p.parse_args()
    study = Path(a.study); rows, cal = [], []
    for info, pl in runs(study):
        right = (pl.label.astype(str) == pl.true_label.astype(str)).to_numpy(); conf = pl.confidence.to_numpy()
        cal.append(dict(info, ece=ece(conf, right), accuracy_all=float(right.mean()), mean_confidence=float(conf.mean()),
                        kept_accuracy=float(right[conf >= info['used']].mean()) if (conf >= info['used']).any() else np.nan,
                        gain=info['student_f1'] - info['base_f1']))
        for t in THRESHOLDS:
            k = conf >= t
            rows.append(dict(info, threshold=t, coverage=float(k.mean()), kept_accuracy=float(right[k].mean()) if k.any() else np.nan,
                             wrong_per_right=float((~right[k]).sum()/max(right[k].sum(), 1))))
    if not rows: raise SystemExit(f'No distillation run with known true labels under {study}/runs')
    df, cal = pd.DataFrame(rows), pd.DataFrame(cal)
    by = ['dataset', 'method', 'threshold']
    table = df.groupby(by)[['coverage', 'kept_accuracy', 'wrong_per_right']].mean().round(3).reset_index()
    calib = cal.groupby(['dataset', 'model', 'method'])[['ece', 'accuracy_all', 'mean_confidence', 'kept_accuracy', 'gain']].mean().round(3).reset_index()
    from scipy.stats import spearmanr
    rho = spearmanr(cal.kept_accuracy, cal.gain, nan_policy='omit')
    out = dict(runs=len(cal), thresholds=list(THRESHOLDS), table=table.to_dict('records'), calibration=calib.to_dict('records'),
               gain_vs_kept_accuracy=dict(spearman=round(float(rho.statistic), 3), p=float(rho.pvalue), n=len(cal)))
    (study/'threshold.json').write_text(json.dumps(out, indent=2))
    md = ['# Pseudo-label quality by confidence threshold', '',
          f"{len(cal)} distillation runs of `{study}`; the runs used threshold {', '.join(f'{u:g}' for u in sorted(cal.used.unique()))}. "
          "Accuracy of the kept pseudo-labels, mean over networks and seeds:", '',
          to_markdown(table.pivot_table(index=['dataset', 'method'], columns='threshold', values='kept_accuracy'), decimals=3), '',
          'Coverage (share of the unlabelled pool kept):', '',
          to_markdown(table.pivot_table(index=['dataset', 'method'], columns='threshold', values='coverage'), decimals=3), '',
          'Teachers\' calibration, and the students\' gain in F1 over Base (the same network on the labelled images alone):', '', to_markdown(calib.set_index(['dataset', 'method']), decimals=3), '',
          f"Student gain vs kept-label accuracy: Spearman {rho.statistic:.3f} (p = {rho.pvalue:.3g}, {len(cal)} runs).", '']
    (study/'threshold.md').write_text('\n'.join(md))
    print('\n'.join(md))

if __name__ == '__main__': main()
