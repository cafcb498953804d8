"""The paper's efficiency table (Table 13) for the whole registry on this CPU, float vs int8, and the int8 quality check on digits.

python benchmarks/efficiency.py [--threads 1] [--runs 20] [--size 224] [--models resnet18 resnet18_quantized] [--skip-digits]
Writes benchmarks/results/efficiency.json and prints the table. Latency: batch 1, median of --runs timed runs after --warmup.
"""
import argparse, json, os, platform, tempfile, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore')

def cpu_name():
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except Exception: return platform.processor()

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--models', nargs='*', default=None, help='model names (default: the whole registry)')
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--threads', type=int, default=None, help='CPU threads (default: torch default, all cores)')
    p.add_argument('--runs', type=int, default=20)
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--int8', default='quantized', choices=['quantized', 'all', 'none'])
    p.add_argument('--no-onnx-float', action='store_true', help='skip the float ONNX Runtime latency column')
    p.add_argument('--skip-digits', action='store_true', help='skip the int8-vs-float F1 check on digits (a previous result in --out is kept)')
    p.add_argument('--epochs', type=int, default=30, help='epochs of the digits run')
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'efficiency.json'))
    a = p.parse_args(argv)
    import torch
    from semicompact.quantize import efficiency, train_quantized
    from semicompact.data import make_digits
    from semicompact.train import versions
    threads = a.threads or torch.get_num_threads()
    res = dict(machine=dict(cpu=cpu_name(), cores=os.cpu_count(), load_before=os.getloadavg(),
                            note='shared machine (other jobs ran at the same time): latencies are noisy'),
               versions=versions(), settings=dict(size=a.size, threads=threads, runs=a.runs, warmup=a.warmup, batch=1,
                                                  int8=a.int8, int8_backend='onnxruntime (QDQ, per-channel int8 weights, uint8 activations)'))
    t0 = time.perf_counter()
    df = efficiency(a.models, size=a.size, threads=threads, runs=a.runs, warmup=a.warmup, int8=a.int8,
                    onnx_float=not a.no_onnx_float, show_progress=True)
    res['table_seconds'] = time.perf_counter() - t0
    res['load_after_table'] = os.getloadavg()
    res['table'] = df.reset_index().to_dict(orient='records')
    if ('resnet18_quantized', 'int8') in df.index:
        f, q = df.loc[('resnet18_quantized', 'float32')], df.loc[('resnet18_quantized', 'int8')]
        tgt = dict(size_ratio=float(q.size_mb/f.size_mb), latency_ratio=float(q.latency_ms/f.latency_ms),
                   size_target=0.30, latency_target=0.5)
        if 'latency_onnx_float_ms' in df: tgt['latency_ratio_vs_onnxruntime_float'] = float(q.latency_ms/f.latency_onnx_float_ms)
        if ('resnet18', 'float32') in df.index:
            r = df.loc[('resnet18', 'float32')]
            tgt.update(size_ratio_vs_timm_resnet18=float(q.size_mb/r.size_mb), latency_ratio_vs_timm_resnet18=float(q.latency_ms/r.latency_ms))
        tgt['met'] = bool(tgt['size_ratio'] <= 0.30 and tgt['latency_ratio'] <= 0.5)
        res['resnet18_int8_vs_float'] = tgt
    if not a.skip_digits:
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            ql = train_quantized('resnet18_quantized', make_digits(Path(d)/'digits', size=32, n_labelled=10), epochs=a.epochs,
                                 size=32, pretrained=False, show_progress=False, dls_kwargs=dict(do_flip=False))
            ms = ql.test_metrics['models']
            fq, ff = ms['resnet18_quantized'], ms['resnet18_quantized_float']
            res['digits'] = dict(command=f"train_quantized('resnet18_quantized', make_digits(d, size=32, n_labelled=10), epochs={a.epochs}, size=32, pretrained=False, dls_kwargs=dict(do_flip=False))",
                                 f1_float=ff['f1'], f1_int8=fq['f1'], acc_float=ff['accuracy'], acc_int8=fq['accuracy'],
                                 f1_drop_points=100*(ff['f1'] - fq['f1']), within_2_points=bool(abs(ff['f1'] - fq['f1']) <= 0.02),
                                 epochs_run=ql.test_metrics['epochs'], seconds=time.perf_counter() - t0)
    elif Path(a.out).exists() and 'digits' in (old := json.loads(Path(a.out).read_text())):
        res['digits'] = {**old['digits'], 'note': 'carried over from the previous run of this script (--skip-digits)'}
    res['load_after'] = os.getloadavg()
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2, default=float))
    import pandas as pd
    cols = [c for c in ['params_m', 'mflops', 'size_mb', 'latency_ms', 'latency_onnx_float_ms', 'runtime'] if c in df]
    with pd.option_context('display.width', 200): print(df[cols].round(2).to_string())
    print(f"batch 1, {a.size} px, median of {a.runs} runs after {a.warmup} warm-ups, {threads} thread(s); {res['machine']['cpu']}; load {res['machine']['load_before']}")
    if 'resnet18_int8_vs_float' in res: print('int8 vs float resnet18_quantized:', {k: (round(v, 3) if isinstance(v, float) else v) for k, v in res['resnet18_int8_vs_float'].items()})
    if 'digits' in res: print('digits:', {k: (round(v, 4) if isinstance(v, float) else v) for k, v in res['digits'].items() if k != 'command'})
    print(f'Written to {out}')

if __name__ == '__main__': main()
