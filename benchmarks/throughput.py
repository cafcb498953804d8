#!/usr/bin/env python
"""Training and pseudo-labelling throughput of the library against bare PyTorch on preloaded tensors.

Each ratio is measured side by side in one run, alternating the two sides `--repeats` times (medians kept), on
digits written as PNGs at each image side (every training digit labelled, so an epoch has many batches):

base       library training (`get_dls` + `create_learner`, `Learner.fit`: files, image cache, fastai's batch
           augmentation, normalisation, callbacks, the recipe's optimiser) against a bare loop over a preloaded,
           normalised tensor with the same network, torch's fused AdamW with the same hyper-parameters and the same
           batch size (no augmentation), in images per second.
fixmatch   a FixMatch step (B labelled + mu*B unlabelled images, weak and strong views, one forward) against a
           supervised library step over the same (1 + 2*mu)*B images; the overhead in per cent.
mixmatch   a MixMatch step (B labelled + B unlabelled, K views, label guessing, MixUp) against a supervised
           library step over (1 + K)*B images; also the part of it that is the algorithm's own extra work, a
           no-gradient forward over the K*B guessed views, timed alone.
adaptive   FlexMatch, FreeMatch and SoftMatch steps against a FixMatch step on the same batch (B labelled + mu*B
           unlabelled images, the same views and forward); the overhead of each in per cent.
pseudo     `pseudo_label` (the paper's 7 views) against a raw batched forward over a preloaded tensor and the same
           views, in images x views per second.

Usage: python benchmarks/throughput.py [--sizes 32 96 224] [--bs 64] [--ssl-bs 16] [--mu 3]
Writes benchmarks/results/throughput.json (one record per run, appended) and prints a table. Never run in CI:
time it alone on the machine (torch on 2 cores slows many-fold beside another busy process).
"""
import argparse, json, os, statistics, tempfile, time, warnings
from pathlib import Path

warnings.filterwarnings('ignore')
import numpy as np, torch
from fastai.callback.core import Callback, CancelFitException
import fastai.callback.progress   # Learner.no_bar

from semicompact.data import make_digits, get_dls, image_cache
from semicompact.models import create_learner, create_model
from semicompact.train import versions
from semicompact.consistency import FixMatchCallback, MixMatchCallback, FlexMatchCallback, FreeMatchCallback, SoftMatchCallback
from semicompact.distill import pseudo_label
from semicompact.tta import PAPER_TRANSFORMS, get_transforms

def _sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()

class StepTimer(Callback):
    "Wall time of training steps, loading included (from the start of each epoch's training to each step's end); validation excluded"
    order = -100
    def __init__(self, steps, warmup): self.steps, self.warmup, self.times, self.n = steps, warmup, [], 0
    def before_train(self): _sync(); self.t = time.perf_counter()
    def after_batch(self):
        if not self.training: return
        _sync(); t = time.perf_counter()
        if self.n >= self.warmup: self.times.append(t - self.t)
        self.t, self.n = t, self.n + 1
        if len(self.times) >= self.steps: raise CancelFitException

def library_step_s(dls, steps, warmup, model, cbs=()):
    "Mean seconds per training step of `Learner.fit` on `dls` (with `cbs`)"
    learn = create_learner(model, dls, pretrained=False)
    timer = StepTimer(steps, warmup)
    with learn.no_bar(), learn.no_logging(): learn.fit(10_000, 1e-3, cbs=[timer, *cbs])
    return sum(timer.times)/len(timer.times)

def bare_step_s(x, y, bs, steps, warmup, model, device):
    "Mean seconds per step of a bare loop: random batch from a preloaded tensor, forward, loss, backward, torch's fused AdamW (the library's update)"
    torch.manual_seed(0)
    net = create_model(model, int(y.max()) + 1, pretrained=False).to(device).train()
    opt = torch.optim.AdamW(net.parameters(), 1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01, fused=device.type in ('cpu', 'cuda') or None)
    lf = torch.nn.CrossEntropyLoss()
    times = []
    for i in range(steps + warmup):
        _sync(); t = time.perf_counter()
        idx = torch.randint(0, len(x), (bs,), device=device)
        loss = lf(net(x[idx]), y[idx]); loss.backward(); opt.step(); opt.zero_grad()
        _sync()
        if i >= warmup: times.append(time.perf_counter() - t)
    return sum(times)/len(times)

def preload(dls):
    "The training images of `dls` as one normalised float tensor on its device, and their labels (no augmentation)"
    dl = dls.valid.new(dls.train.dataset, shuffle=False, drop_last=False)   # validation transforms: no augmentation
    xs, ys = zip(*[(xb.as_subclass(torch.Tensor), yb.as_subclass(torch.Tensor)) for xb, yb in dl])
    return torch.cat(xs), torch.cat(ys)

def digits(tmp, size):
    return make_digits(tmp/f'digits{size}', size=size, n_labelled=125)   # (nearly) every training digit labelled

def base(a, tmp, size, steps):
    d = digits(tmp, size)
    dls = get_dls(d, size=size, bs=a.bs, valid_pct=0.05, do_flip=False, device=a.device)
    x, y = preload(dls)
    lib, bare = [], []
    for _ in range(a.repeats):
        lib.append(library_step_s(dls, steps, a.warmup, a.model))
        bare.append(bare_step_s(x, y, a.bs, steps, a.warmup, a.model, x.device))
    l, b = statistics.median(lib), statistics.median(bare)
    return dict(size=size, bs=a.bs, steps=steps, cached=bool(dls.cached), library_img_s=a.bs/l, bare_img_s=a.bs/b, ratio=b/l,
                library_step_s=lib, bare_step_s=bare)

def consistency(a, tmp, size, steps):
    d = digits(tmp, size)
    kw = dict(size=size, valid_pct=0.05, do_flip=False, device=a.device)
    files = [str(f) for f in get_dls(d, bs=a.ssl_bs, **kw).train.items.file]   # every training digit serves as unlabelled too
    bs_f, bs_m = int(round((1 + 2*a.mu)*a.ssl_bs)), (1 + a.k)*a.ssl_bs
    sup_f, fm, sup_m, mm = [], [], [], []
    for _ in range(a.repeats):
        sup_f.append(library_step_s(get_dls(d, bs=bs_f, **kw), steps, a.warmup, a.model))
        fm.append(library_step_s(get_dls(d, bs=a.ssl_bs, **kw), steps, a.warmup, a.model, [FixMatchCallback(mu=a.mu, flip=False, files=files)]))
        sup_m.append(library_step_s(get_dls(d, bs=bs_m, **kw), steps, a.warmup, a.model))
        mm.append(library_step_s(get_dls(d, bs=a.ssl_bs, **kw), steps, a.warmup, a.model, [MixMatchCallback(k=a.k, flip=False, files=files)]))
    net = create_model(a.model, 10, pretrained=False).to(a.device).train()
    u = torch.randn(a.k*a.ssl_bs, 3, size, size, device=a.device)
    guess = []
    for i in range(a.warmup + 5*a.repeats):
        _sync(); t = time.perf_counter()
        with torch.no_grad(): net(u)
        _sync()
        if i >= a.warmup: guess.append(time.perf_counter() - t)
    med = statistics.median
    return dict(size=size, bs=a.ssl_bs, mu=a.mu, k=a.k, steps=steps,
                fixmatch_images=bs_f, supervised_fixmatch_step_s=med(sup_f), fixmatch_step_s=med(fm),
                fixmatch_overhead_pct=100*(med(fm)/med(sup_f) - 1),
                mixmatch_images=bs_m, supervised_mixmatch_step_s=med(sup_m), mixmatch_step_s=med(mm),
                mixmatch_overhead_pct=100*(med(mm)/med(sup_m) - 1), guess_forward_s=med(guess),
                mixmatch_overhead_beyond_guess_pct=100*((med(mm) - med(guess))/med(sup_m) - 1),
                runs=dict(supervised_fixmatch=sup_f, fixmatch=fm, supervised_mixmatch=sup_m, mixmatch=mm))

def adaptive(a, tmp, size, steps):
    d = digits(tmp, size)
    kw = dict(size=size, valid_pct=0.05, do_flip=False, device=a.device)
    files = [str(f) for f in get_dls(d, bs=a.ssl_bs, **kw).train.items.file]
    cbs = {'fixmatch': FixMatchCallback, 'flexmatch': FlexMatchCallback, 'freematch': FreeMatchCallback, 'softmatch': SoftMatchCallback}
    times = {k: [] for k in cbs}
    for _ in range(a.repeats):   # alternated, so a change of the machine's speed hits every method alike
        for k, cb in cbs.items():
            times[k].append(library_step_s(get_dls(d, bs=a.ssl_bs, **kw), steps, a.warmup, a.model, [cb(mu=a.mu, flip=False, files=files)]))
    med = {k: statistics.median(v) for k, v in times.items()}
    return dict(size=size, bs=a.ssl_bs, mu=a.mu, steps=steps, step_s=med,
                overhead_vs_fixmatch_pct={k: 100*(v/med['fixmatch'] - 1) for k, v in med.items() if k != 'fixmatch'}, runs=times)

def pseudo(a, tmp, size):
    d = make_digits(tmp/f'digits{size}_pl', size=size, n_labelled=10)
    dls = get_dls(d, size=size, bs=32, device=a.device)
    learn = create_learner(a.model, dls, pretrained=False)   # the weights do not change the speed
    files = dls.layout.unlabelled_files()
    views = [None] + [f for _, f in get_transforms(PAPER_TRANSFORMS)]
    model = learn.model.eval()
    x = preload(get_dls(d, size=size, bs=a.pl_bs, device=a.device, extra=None))[0]   # any tensor of this shape will do
    x = x.repeat(int(np.ceil(len(files)/len(x))), 1, 1, 1)[:len(files)]
    def ours(): pseudo_label(learn, files, transforms=PAPER_TRANSFORMS, bs=a.pl_bs)
    def raw():
        with torch.inference_mode():
            for i in range(0, len(x), a.pl_bs):
                xb = x[i:i + a.pl_bs]
                for v in views: model(xb if v is None else v(xb)).softmax(1)
        _sync()
    ours(); raw()   # warm-up (and the images into the cache)
    t_ours, t_raw = [], []
    for _ in range(a.repeats):
        t = time.perf_counter(); ours(); t_ours.append(time.perf_counter() - t)
        t = time.perf_counter(); raw(); t_raw.append(time.perf_counter() - t)
    n = len(files)*len(views)
    o, r = statistics.median(t_ours), statistics.median(t_raw)
    return dict(size=size, images=len(files), views=len(views), bs=a.pl_bs, pseudo_label_views_s=n/o, raw_views_s=n/r,
                ratio=r/o, pseudo_label_s=t_ours, raw_s=t_raw)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--sizes', type=int, nargs='+', default=[32, 96, 224])
    p.add_argument('--steps', type=int, nargs='+', default=[40, 12, 4], help='timed steps at each size (base and consistency)')
    p.add_argument('--warmup', type=int, default=3, help='untimed steps first')
    p.add_argument('--repeats', type=int, default=3, help='alternations of the two sides (medians kept)')
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--ssl-bs', type=int, default=16, help='labelled batch size B of FixMatch/MixMatch')
    p.add_argument('--mu', type=float, default=3)
    p.add_argument('--k', type=int, default=2)
    p.add_argument('--pl-sizes', type=int, nargs='+', default=[32, 96])
    p.add_argument('--pl-bs', type=int, default=256)
    p.add_argument('--model', default='resnet18')
    p.add_argument('--what', nargs='+', default=['base', 'consistency', 'adaptive', 'pseudo'], choices=['base', 'consistency', 'adaptive', 'pseudo'])
    p.add_argument('--device', default=None, help="'cpu' or 'cuda' (default: the GPU when there is one)")
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'throughput.json'))
    a = p.parse_args(argv)
    if len(a.steps) != len(a.sizes): p.error('--steps needs one number per size')
    a.device = a.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(out.read_text()) if out.exists() else []
    rec = dict(versions=versions(), device=a.device, threads=torch.get_num_threads(), load_before=os.getloadavg(),
               args={k: v for k, v in vars(a).items() if k != 'out'}, base=[], consistency=[], adaptive=[], pseudo=[])
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for size, steps in zip(a.sizes, a.steps):
            if 'base' in a.what:
                r = base(a, tmp, size, steps); rec['base'].append(r)
                print(f"base {size:>3} px, bs {a.bs}: library {r['library_img_s']:.0f} img/s, bare loop {r['bare_img_s']:.0f} img/s, ratio {r['ratio']:.2f}", flush=True)
            if 'consistency' in a.what:
                r = consistency(a, tmp, size, steps); rec['consistency'].append(r)
                print(f"consistency {size:>3} px, B {a.ssl_bs}: FixMatch (mu {a.mu}) {r['fixmatch_overhead_pct']:+.1f} % over supervised on {r['fixmatch_images']} images; "
                      f"MixMatch (K {a.k}) {r['mixmatch_overhead_pct']:+.1f} % over supervised on {r['mixmatch_images']} images "
                      f"({r['mixmatch_overhead_beyond_guess_pct']:+.1f} % beyond its label-guessing forward)", flush=True)
            if 'adaptive' in a.what:
                r = adaptive(a, tmp, size, steps); rec['adaptive'].append(r)
                print(f"adaptive {size:>3} px, B {a.ssl_bs}, mu {a.mu}: " + ', '.join(f"{k} {v:+.1f} %" for k, v in r['overhead_vs_fixmatch_pct'].items())
                      + " over a FixMatch step", flush=True)
        if 'pseudo' in a.what:
            for size in a.pl_sizes:
                r = pseudo(a, tmp, size); rec['pseudo'].append(r)
                print(f"pseudo-labelling {size:>3} px: {r['pseudo_label_views_s']:.0f} vs raw forward {r['raw_views_s']:.0f} image-views/s, ratio {r['ratio']:.2f}", flush=True)
    rec.update(seconds=time.perf_counter() - t0, load_after=os.getloadavg(), image_cache=repr(image_cache))
    runs.append(rec)
    out.write_text(json.dumps(runs, indent=1))
    print(f"{rec['seconds']:.0f} s; load average before {rec['load_before'][0]:.2f}, after {rec['load_after'][0]:.2f} -> {out}")

if __name__ == '__main__': main()
