#!/usr/bin/env python
"""Speed and quality of the consistency callbacks (FixMatch, MixMatch).

speed:   time per training step of FixMatch versus a supervised step over the same number of images,
         (1+2mu)*B, and of MixMatch versus a supervised step over (1+K)*B images (median over steps, data
         loading and on-device augmentation included; digits upscaled to --size, ResNet-18 by default).
quality: test macro-F1 of Base, FixMatch and MixMatch on digits (10 labelled images per class, from scratch,
         32 px, ResNet-18), several seeds, the library's recipe (50 epochs, early stopping).

Writes benchmarks/results/consistency.json (merging into what is there) and prints a summary. Never run in CI.
"""
import argparse, json, platform, statistics, sys, tempfile, time, warnings
from pathlib import Path

warnings.filterwarnings('ignore')
import numpy as np, pandas as pd, torch
from fastai.callback.core import Callback, CancelFitException

from semicompact.data import make_digits, get_dls
from semicompact.models import create_learner
from semicompact.train import train_model, versions
from semicompact.consistency import (FixMatchCallback, MixMatchCallback, fixmatch, mixmatch, weak_augment,
                                     strong_augment)

def _train_items(path, path_unlabelled, size, bs, valid_pct, seed, dls_kwargs):
    "The labelled training images (not the validation ones) of `path` as `file`, `label`"
    dls = get_dls(path, size=size, bs=bs, valid_pct=valid_pct, seed=seed, path_unlabelled=path_unlabelled, **(dls_kwargs or {}))
    return dls.train.items[['file', 'label']].reset_index(drop=True)

def _sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()

class StepTimer(Callback):
    "Step times within an epoch: end to end (loading included) and compute only (before_batch to after_batch)"
    order = -100   # before_batch first, so the consistency callback's work counts as compute
    def __init__(self, n, skip=1): self.n, self.skip, self.times, self.compute = n, skip, [], []
    def before_epoch(self): self._t, self._i = None, 0
    def before_batch(self):
        if self.training: _sync(); self._c = time.perf_counter()
    def after_batch(self):
        if not self.training: return
        _sync(); t = time.perf_counter()
        if self._t is not None and self._i > self.skip: self.times.append(t - self._t); self.compute.append(t - self._c)
        self._t, self._i = t, self._i + 1
        if len(self.times) >= self.n: raise CancelFitException

def _step_ms(dls, cb, steps, model):
    learn = create_learner(model, dls, pretrained=False)
    timer = StepTimer(steps)
    with learn.no_bar(), learn.no_logging():
        learn.fit(1000, 1e-3, cbs=[timer] + ([cb] if cb is not None else []))
    return 1000*statistics.median(timer.times), 1000*statistics.median(timer.compute)

def speed(a, tmp):
    d = make_digits(tmp/'digits_all', size=32, n_labelled=125)       # (nearly) every training digit labelled
    kw = dict(size=a.size, valid_pct=0.05, do_flip=False, num_workers=a.num_workers)
    items = _train_items(d, None, a.size, a.bs, 0.05, 42, dict(do_flip=False))
    extra = pd.concat([items]*a.repeat, ignore_index=True)            # enough steps for the big supervised batch
    files = list(items.file)
    res = dict(size=a.size, bs=a.bs, mu=a.mu, k=a.k, model=a.model, steps=a.steps)
    sup_f = int(round((1 + 2*a.mu)*a.bs))
    res['supervised_fixmatch_images'] = sup_f
    res['supervised_ms_fixmatch_size'], res['supervised_compute_ms_fixmatch_size'] = _step_ms(get_dls(d, bs=sup_f, extra=extra, **kw), None, a.steps, a.model)
    dls = get_dls(d, bs=a.bs, extra=extra, **kw)
    res['fixmatch_ms'], res['fixmatch_compute_ms'] = _step_ms(dls, FixMatchCallback(mu=a.mu, flip=False, files=files), a.steps, a.model)
    res['fixmatch_overhead_pct'] = 100*(res['fixmatch_ms']/res['supervised_ms_fixmatch_size'] - 1)
    res['fixmatch_compute_overhead_pct'] = 100*(res['fixmatch_compute_ms']/res['supervised_compute_ms_fixmatch_size'] - 1)
    sup_m = (1 + a.k)*a.bs
    res['supervised_mixmatch_images'] = sup_m
    res['supervised_ms_mixmatch_size'], res['supervised_compute_ms_mixmatch_size'] = _step_ms(get_dls(d, bs=sup_m, extra=extra, **kw), None, a.steps, a.model)
    res['mixmatch_ms'], res['mixmatch_compute_ms'] = _step_ms(dls, MixMatchCallback(k=a.k, flip=False, files=files), a.steps, a.model)
    res['mixmatch_overhead_pct'] = 100*(res['mixmatch_ms']/res['supervised_ms_mixmatch_size'] - 1)
    res['mixmatch_compute_overhead_pct'] = 100*(res['mixmatch_compute_ms']/res['supervised_compute_ms_mixmatch_size'] - 1)
    # the augmentation alone: weak + strong views of mu*B images on the device
    dev = dls.device or torch.device('cpu')
    u = torch.rand(int(a.mu*a.bs), 3, a.size, a.size, device=dev)
    for _ in range(3): weak_augment(u); strong_augment(u)
    _sync(); t = time.perf_counter()
    for _ in range(10): weak_augment(u); strong_augment(u)
    _sync(); res['fixmatch_views_ms'] = 1000*(time.perf_counter() - t)/10
    return res

def quality(a, tmp, out, results):
    d = make_digits(tmp/'digits32', size=32, n_labelled=10)
    kw = dict(epochs=a.epochs, size=32, pretrained=False, show_progress=False, dls_kwargs=dict(do_flip=False, num_workers=a.num_workers))
    rows = results.setdefault('quality_runs', [])
    for rep in a.repeat_labelled:
        for seed in a.seeds:
            for method in a.methods:
                t0 = time.perf_counter()
                if method == 'base':
                    extra = None
                    if rep > 1:
                        items = _train_items(d, None, 32, 32, 0.2, seed, kw['dls_kwargs'])
                        extra = pd.concat([items]*(rep - 1), ignore_index=True)
                    l = train_model(a.model, d, seed=seed, extra=extra, **kw)
                else:
                    l = (fixmatch if method == 'fixmatch' else mixmatch)(a.model, d, seed=seed, repeat_labelled=rep, **kw)
                h, m = l.history, l.test_metrics
                row = dict(method=method, seed=seed, repeat_labelled=rep, f1=m['f1'], accuracy=m['accuracy'],
                           epochs=m['epochs'], steps=int(m['epochs'])*(m['n_train']//32), seconds=time.perf_counter() - t0)
                for c in ('lx', 'lu', 'mask_rate'):
                    if c in h: row[f'last_{c}'] = float(h[c].iloc[-1])
                rows.append(row)
                print(json.dumps(row), flush=True)
                out.write_text(json.dumps(results, indent=2))
    df = pd.DataFrame(rows)
    summ = df.groupby(['repeat_labelled', 'method']).f1.agg(['mean', 'std', 'count']).reset_index()
    results['quality'] = summ.to_dict('records')
    return summ

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--what', choices=['speed', 'quality', 'all'], default='speed')
    p.add_argument('--model', default='resnet18')
    p.add_argument('--size', type=int, default=32, help='image side for the speed test')
    p.add_argument('--bs', type=int, default=32, help='labelled batch size B')
    p.add_argument('--mu', type=float, default=7)
    p.add_argument('--k', type=int, default=2)
    p.add_argument('--steps', type=int, default=20, help='timed steps per configuration')
    p.add_argument('--repeat', type=int, default=4, help='copies of the training digits for the speed test')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--methods', nargs='+', default=['base', 'fixmatch', 'mixmatch'])
    p.add_argument('--epochs', type=int, default=50)
    p.add_argument('--num-workers', type=int, default=None, help='loader workers (default: get_dls default)')
    p.add_argument('--repeat-labelled', type=int, nargs='+', default=[1], help='quality: labelled repeats per epoch')
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'consistency.json'))
    a = p.parse_args(argv)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(out.read_text()) if out.exists() else {}
    results['versions'] = versions()
    results['cpu_threads'] = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if a.what in ('speed', 'all'):
            r = speed(a, tmp)
            results.setdefault('speed', []).append({**r, 'device': results['versions']['device']})
            out.write_text(json.dumps(results, indent=2))
            print(f"[{results['versions']['device']}] size {a.size}, B={a.bs}: supervised {r['supervised_fixmatch_images']} imgs "
                  f"{r['supervised_ms_fixmatch_size']:.1f} ms vs FixMatch (mu={a.mu}) {r['fixmatch_ms']:.1f} ms "
                  f"({r['fixmatch_overhead_pct']:+.1f} %, compute only {r['fixmatch_compute_overhead_pct']:+.1f} %; views {r['fixmatch_views_ms']:.1f} ms); supervised "
                  f"{r['supervised_mixmatch_images']} imgs {r['supervised_ms_mixmatch_size']:.1f} ms vs MixMatch (K={a.k}) "
                  f"{r['mixmatch_ms']:.1f} ms ({r['mixmatch_overhead_pct']:+.1f} %, compute only {r['mixmatch_compute_overhead_pct']:+.1f} %)")
        if a.what in ('quality', 'all'):
            print(quality(a, tmp, out, results).to_string())
    out.write_text(json.dumps(results, indent=2))

if __name__ == '__main__': main()
