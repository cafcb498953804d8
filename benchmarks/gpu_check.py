"""GPU check: the library's training, pseudo-labelling, FixMatch/MixMatch and quantization paths on a CUDA device,
then benchmarks/throughput.py there (written beside --out as throughput_<name>.json).

Not a test (CI has no GPU). Run on a machine with a GPU:
    python benchmarks/gpu_check.py --out benchmarks/results/gpu_check.json
Each section records its figures (or its error) in the JSON; nothing is asserted on timings. It also runs on the CPU
(`--epochs 1` makes it a quick smoke test of the same paths).

On an image that has torch but not fastai, carry pure-Python wheels of fastai, fastcore, fasttransform,
fastdownload, plum-dispatch, beartype and scikit-posthocs, plus fastprogress 1.0.3 (later releases import
python-fasthtml), install them with `pip install --no-deps --target /tmp/site`, and run with
`PYTHONPATH=/tmp/site:$PWD`.
"""
import argparse, json, platform, tempfile, time, traceback, warnings
from pathlib import Path
warnings.filterwarnings('ignore')

import torch

def section(results, name):
    def deco(f):
        t0 = time.perf_counter()
        try: results[name] = {**f(), 'seconds': round(time.perf_counter() - t0, 2)}
        except Exception as e: results[name] = {'error': f'{type(e).__name__}: {e}', 'traceback': traceback.format_exc()[-2000:]}
        print(name, json.dumps(results[name], default=str)[:600], flush=True)
        return f
    return deco

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', default='benchmarks/results/gpu_check.json')
    p.add_argument('--epochs', type=int, default=30)
    a = p.parse_args()
    from semicompact.data import make_digits, Layout
    from semicompact.train import train_model, evaluate
    res = dict(torch=torch.__version__, cuda=torch.cuda.is_available(), python=platform.python_version(),
               device=torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')
    print(res, flush=True)
    tmp = Path(tempfile.mkdtemp())
    data = make_digits(tmp/'digits', size=32, n_labelled=10)
    kw = dict(size=32, pretrained=False, show_progress=False, dls_kwargs=dict(do_flip=False))
    state = {}

    @section(res, 'base_resnet18')
    def _():
        learn = train_model('resnet18', data, epochs=a.epochs, output_path=tmp/'base', **kw)
        state['learn'] = learn
        return dict(f1=learn.test_metrics['f1'], epochs=learn.test_metrics['epochs'], train_seconds=learn.test_metrics['train_seconds'],
                    dls_device=str(learn.dls.device), model_device=str(next(learn.model.parameters()).device))

    @section(res, 'pseudo_label')
    def _():
        from semicompact.distill import pseudo_label
        from semicompact.tta import PAPER_TRANSFORMS
        learn = state['learn']
        files = Layout.find(data).unlabelled_files()
        pseudo_label(learn, files[:64], transforms=PAPER_TRANSFORMS)          # warm-up
        if torch.cuda.is_available(): torch.cuda.synchronize()
        t0 = time.perf_counter(); pl = pseudo_label(learn, files, transforms=PAPER_TRANSFORMS)
        if torch.cuda.is_available(): torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        return dict(images=len(files), views=1 + len(PAPER_TRANSFORMS), seconds_pl=dt, images_per_s=len(files)/dt, kept=int(pl.kept.sum()))

    @section(res, 'plain_distillation')
    def _():
        from semicompact.distill import plain_distillation
        r = plain_distillation('resnet18', data, output_path=tmp/'plain', base_models=tmp/'base', epochs=a.epochs, **kw)
        m = json.loads((tmp/'plain'/'metrics.json').read_text())
        return dict(f1=m.get('f1'), kept=m.get('n_kept'), pseudo_label_seconds=m.get('pseudo_label_seconds'))

    @section(res, 'fixmatch')
    def _():
        from semicompact.consistency import fixmatch
        learn = fixmatch('resnet18', data, output_path=tmp/'fixmatch', epochs=a.epochs, **kw)
        return dict(f1=learn.test_metrics['f1'], train_seconds=learn.test_metrics['train_seconds'],
                    history_cols=list(learn.history.columns))

    @section(res, 'mixmatch')
    def _():
        from semicompact.consistency import mixmatch
        learn = mixmatch('resnet18', data, output_path=tmp/'mixmatch', epochs=a.epochs, **kw)
        return dict(f1=learn.test_metrics['f1'], train_seconds=learn.test_metrics['train_seconds'])

    @section(res, 'resnet18_quantized')
    def _():
        from semicompact.quantize import int8_steps
        train_model('resnet18_quantized', data, output_path=tmp/'q', epochs=a.epochs, steps=int8_steps('resnet18_quantized'), **kw)   # trained on the GPU, int8 on the CPU
        m = json.loads((tmp/'q'/'metrics.json').read_text())
        return {k: v['f1'] for k, v in m['models'].items()}

    @section(res, 'quality_options')
    def _():   # the quality protocol's options on the device: fixed step budget, BN re-estimation, EMA with warm-up
        from semicompact.consistency import fixmatch
        learn = fixmatch('resnet18', data, epochs=a.epochs, epoch_steps=10, bn_reestimate=True, patience_after_peak=True, ema=0.999, mu=3, **kw)
        m = learn.test_metrics
        return dict(f1=m['f1'], steps=m['steps'], stop_reason=m['stop_reason'], best_epoch=m['best_epoch'], train_seconds=m['train_seconds'])

    @section(res, 'throughput')
    def _():   # benchmarks/throughput.py on this device: library against a bare loop, consistency overheads, pseudo-labelling
        import importlib.util
        spec = importlib.util.spec_from_file_location('throughput', Path(__file__).parent/'throughput.py')
        mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
        out = Path(a.out).with_name('throughput_' + Path(a.out).stem + '.json')
        args = ['--out', str(out), '--repeats', '2'] + ([] if a.epochs >= 5 else ['--sizes', '32', '--steps', '5', '--pl-sizes', '32', '--repeats', '1'])
        mod.main(args)
        rec = json.loads(out.read_text())[-1]
        return dict(file=str(out), base=[{k: r[k] for k in ('size', 'library_img_s', 'bare_img_s', 'ratio')} for r in rec['base']],
                    consistency=[{k: r[k] for k in ('size', 'fixmatch_overhead_pct', 'mixmatch_overhead_pct')} for r in rec['consistency']],
                    pseudo=[{k: r[k] for k in ('size', 'ratio')} for r in rec['pseudo']])

    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2, default=str))
    print('written', a.out)

if __name__ == '__main__': main()
