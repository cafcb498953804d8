"""What each engine costs per cell: the same small study (the embedded digits at 16 px, ResNet-18, Base, one epoch,
`--cells` seeds) run serially in this process, through the local pool, as submitit jobs (its local executor: a real
subprocess per job) and as Ray tasks (a local Ray), each into a fresh folder. Writes `benchmarks/results/engines.json`:
wall time per engine, the same over cells, and the overhead per cell against the serial run (process start, imports,
the engine's own scheduling). Run it alone on the machine (it times things); the load average is recorded.

    python benchmarks/engines.py                 # 4 cells, 2 workers
    python benchmarks/engines.py --cells 8 --workers 2
"""
import argparse, json, os, platform, tempfile, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore')

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--cells', type=int, default=4)
    p.add_argument('--workers', type=int, default=2)
    p.add_argument('--out', default='benchmarks/results/engines.json')
    a = p.parse_args()
    from semicompact.data import make_digits
    from semicompact.study import run_study
    from semicompact.train import code_version
    tmp = Path(tempfile.mkdtemp())
    digits = make_digits(tmp/'digits', size=16, n_labelled=10)
    recipe = dict(epochs=1, size=16, bs=16, pretrained=False, lr=1e-3)
    engines = {'serial': (None, None), 'local': ('local', dict(workers=a.workers)),
               'submitit-local': ('slurm', dict(cluster='local', time=10)), 'ray-local': ('ray', dict(init=dict(num_cpus=a.workers)))}
    rows, load = {}, os.getloadavg()
    for name, (ex, engine) in engines.items():
        try: __import__({'submitit-local': 'submitit', 'ray-local': 'ray'}.get(name, 'os'))
        except ImportError: rows[name] = dict(skipped='not installed'); continue
        t0 = time.perf_counter()
        res = run_study({'digits': digits}, ['resnet18'], ['base'], tmp/name, seeds=range(a.cells), verbose=False,
                        executor=ex, engine=engine, **recipe)
        wall = time.perf_counter() - t0
        rows[name] = dict(wall_s=round(wall, 2), per_cell_s=round(wall/a.cells, 2), cells_ok=int((res.status == 'ok').sum()),
                          mean_cell_seconds=round(float(res.cell_seconds.mean()), 2), f1=[round(float(f), 4) for f in res.f1])
        print(name, rows[name], flush=True)
    serial = rows['serial']['per_cell_s']
    for name, r in rows.items():   # what the engine adds to each cell, with `workers` cells at once (serial: one)
        if 'wall_s' in r and name != 'serial':
            r['overhead_per_cell_s'] = round(r['wall_s']*min(a.workers, a.cells)/a.cells - serial, 2)
    out = dict(cells=a.cells, workers=a.workers, recipe=recipe, engines=rows, load_average_before=[round(x, 2) for x in load],
               cpus=os.cpu_count(), platform=platform.platform(), code=code_version(),
               note="overhead_per_cell_s = wall × workers / cells − serial seconds per cell: the start of a process (imports of "
                    "torch, fastai, timm) and the engine's scheduling, as each of `workers` slots sees it")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps(out, indent=2, default=str))

if __name__ == '__main__': main()
