"""Speed of `semicompact.distill.pseudo_label` (one model, the paper's 7 views) against
(a) the same model's plain batched forward passes over the same images and number of views, and
(b) per-image `Learner.predict` on each view, as the original library labelled images.

Usage: python benchmarks/pseudo_label.py [--model resnet18] [--size 32] [--n-images 1247] [--predict-n 40]
Writes benchmarks/results/pseudo_label.json and prints a summary. Not a test: never run in CI.
"""
import argparse, json, os, platform, statistics, sys, tempfile, time, warnings
from pathlib import Path

warnings.filterwarnings('ignore')
import numpy as np, torch


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--model', default='resnet18')
    p.add_argument('--size', type=int, default=32, help='image side (digits are written at this size)')
    p.add_argument('--n-images', type=int, default=0, help='unlabelled images to label (0: all 1,247 digits)')
    p.add_argument('--bs', type=int, default=256, help='batch size of pseudo_label and of (a)')
    p.add_argument('--predict-n', type=int, default=40, help='images labelled one by one with Learner.predict for (b)')
    p.add_argument('--repeats', type=int, default=3, help='timed repetitions of the batched methods (the median is kept)')
    p.add_argument('--threads', type=int, default=0, help='torch threads (0: leave the default)')
    p.add_argument('--device', default=None, help="'cpu' or 'cuda' (default: the GPU when there is one)")
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'pseudo_label.json'))
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)

    from fastai.vision.core import PILImage
    from semicompact.data import make_digits, get_dls, unlabelled_dl
    from semicompact.models import create_learner
    from semicompact.tta import PAPER_TRANSFORMS, get_transforms, norm_stats, tta_view
    from semicompact.distill import pseudo_label

    dev = a.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    sync = (lambda: torch.cuda.synchronize()) if dev.startswith('cuda') else (lambda: None)
    tmp = Path(tempfile.mkdtemp())
    data = make_digits(tmp/'digits', size=a.size, n_labelled=10)
    dls = get_dls(data, size=a.size, bs=32, device=dev)
    learn = create_learner(a.model, dls, pretrained=False)   # the weights do not change the speed
    files = dls.layout.unlabelled_files()
    if a.n_images: files = files[:a.n_images]
    n, views = len(files), [None] + [f for _, f in get_transforms(PAPER_TRANSFORMS)]
    model = learn.model.eval()

    def ours():
        return pseudo_label(learn, files, transforms=PAPER_TRANSFORMS, bs=a.bs)

    def plain_forward():
        "(a): decode the same batches, and 7 forward passes of each (no transforms, no bookkeeping)"
        out = []
        with torch.inference_mode():
            for (xb,) in unlabelled_dl(dls, files, bs=a.bs):
                xb = xb.as_subclass(torch.Tensor)
                for _ in views: out.append(model(xb).argmax(1))
        sync()
        return out

    def timed(f):
        ts = []
        for _ in range(a.repeats):
            sync(); t = time.perf_counter(); f(); sync(); ts.append(time.perf_counter() - t)
        return statistics.median(ts), ts

    ours(); plain_forward()   # warm-up
    t_ours, all_ours = timed(ours)
    t_plain, all_plain = timed(plain_forward)

    stats = norm_stats(dls)
    def per_image(f):
        "(b): what the original library did: each view of each image through Learner.predict"
        img = PILImage.create(f)
        x = torch.from_numpy(np.array(img.convert('RGB'))).permute(2, 0, 1)[None].float()/255
        for v in views:
            y = x if v is None else v(x)
            im = PILImage.create((y[0].permute(1, 2, 0).clamp(0, 1)*255).round().byte().numpy())
            with learn.no_bar(), learn.no_logging(): learn.predict(im)
    pf = files[:a.predict_n]
    per_image(pf[0])
    sync(); t = time.perf_counter()
    for f in pf: per_image(f)
    sync(); t_pred = time.perf_counter() - t

    ips = lambda sec, k: k/sec
    res = dict(model=a.model, size=a.size, views=len(views), transforms=list(PAPER_TRANSFORMS), n_images=n, bs=a.bs,
               pseudo_label=dict(seconds=t_ours, runs=all_ours, images_per_s=ips(t_ours, n)),
               a_plain_batched_forward=dict(seconds=t_plain, runs=all_plain, images_per_s=ips(t_plain, n)),
               b_per_image_predict=dict(seconds=t_pred, images=len(pf), images_per_s=ips(t_pred, len(pf))),
               ratio_vs_a=ips(t_ours, n)/ips(t_plain, n), speedup_vs_b=ips(t_ours, n)/ips(t_pred, len(pf)),
               targets=dict(ratio_vs_a='>= 0.8', speedup_vs_b='>= 10'),
               device=torch.cuda.get_device_name() if dev.startswith('cuda') else f'cpu ({os.cpu_count()} cores)',
               torch_threads=torch.get_num_threads(), omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
               load_average_after=os.getloadavg(), torch=torch.__version__, python=platform.python_version(),
               note='CPU timings on a shared machine (other sessions running) unless stated otherwise')
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2))
    print(f"pseudo_label ({a.model}, {a.size} px, {len(views)} views, {n} images) on {res['device']}, {res['torch_threads']} torch threads")
    print(f"  pseudo_label            {res['pseudo_label']['images_per_s']:8.1f} images/s")
    print(f"  (a) batched forward     {res['a_plain_batched_forward']['images_per_s']:8.1f} images/s   ratio {res['ratio_vs_a']:.2f} (target >= 0.8)")
    print(f"  (b) per-image predict   {res['b_per_image_predict']['images_per_s']:8.1f} images/s   speed-up {res['speedup_vs_b']:.1f}x (target >= 10x)")
    print(f"Written to {out}")
    return res


if __name__ == '__main__': main()
