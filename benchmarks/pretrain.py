"""Pretrained weights made here, for the quality benchmark's transfer-learning cells: a network trained on another real image dataset.

    pip install scikit-image            # ships the images below in its wheel; nothing is downloaded at run time
    python benchmarks/pretrain.py --out /tmp/pretrain --model resnet18
    python benchmarks/quality.py --out benchmarks/results/quality_pretrained --budgets 10 --models resnet18 \\
        --weights resnet18=/tmp/pretrain/run/model.safetensors

The paper (and most users) start from ImageNet weights, which cannot be downloaded on this machine. The stand-in is
a dataset of real images that a package ships: scikit-image's 15 photographs, micrographs and scans (textures such as
brick, grass and gravel; a retina, cells and microaneurysms; a page of text, coins, the moon, a galaxy field, a
camera man, a cat, ...) cut into random crops, one class per source image, plus its LFW subset (100 faces and 100
non-faces), all grey, at 32 px: 17 classes. A network that tells them apart has learnt edges, strokes and textures
without ever seeing a digit. It is written as a semicompact dataset (75 % train, all labelled / 25 % test) and
trained with `train_model` from scratch; the run folder holds `model.safetensors`, which `weights=` reads (the
classifier, of another shape, is left out). Writes summary.json (the pretext task's test accuracy, the wall time).
"""
import argparse, json, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore')

SOURCES = ['brick', 'grass', 'gravel', 'camera', 'coins', 'moon', 'page', 'text', 'cell', 'retina', 'chelsea', 'coffee',
           'astronaut', 'rocket', 'hubble_deep_field']

def write_pretext(dest:Path, crops:int, size:int, seed:int):
    "One folder per class of grey `size` px crops: `crops` random crops (side 24-128 px) of each source image, and LFW faces / non-faces"
    import numpy as np, skimage.data as skd
    from PIL import Image
    rng = np.random.default_rng(seed)
    def save(a, cls, i):
        (dest/cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray(a).convert('L').resize((size, size), Image.BICUBIC).save(dest/cls/f'{i:04d}.png')
    for name in SOURCES:
        img = getattr(skd, name)()
        img = np.asarray(Image.fromarray(img).convert('L'))
        h, w = img.shape
        for i in range(crops):
            s = int(rng.integers(24, min(128, h, w) + 1)); y, x = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
            save(img[y:y+s, x:x+s], name, i)
    lfw = (skd.lfw_subset()*255).round().astype(np.uint8)   # 100 faces, then 100 non-faces
    for i, a in enumerate(lfw): save(a, 'face' if i < 100 else 'not_face', i)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default='/tmp/pretrain')
    p.add_argument('--model', default='resnet18')
    p.add_argument('--crops', type=int, default=200, help='crops per source image')
    p.add_argument('--size', type=int, default=32)
    p.add_argument('--epochs', type=int, default=30)
    p.add_argument('--epoch-steps', type=int, default=20)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    from semicompact.core import Recipe
    from semicompact.data import split_dataset
    from semicompact.train import train_model
    out = Path(a.out); t0 = time.perf_counter()
    if not (out/'classes').exists(): write_pretext(out/'classes', a.crops, a.size, a.seed)
    data = split_dataset(out/'classes', out/'data', n_labelled=None, seed=a.seed, overwrite=True)
    recipe = Recipe(epochs=a.epochs, epoch_steps=a.epoch_steps, size=a.size, pretrained=False, flip=True, flip_vert=True,
                    patience_after_peak=True, bn_reestimate=True, monitor='valid_loss', seed=a.seed)
    run = train_model(a.model, data, recipe, out/'run', show_progress=False, overwrite=True)
    metrics = json.loads((out/'run'/'metrics.json').read_text())
    weights = out/'run'/'model.safetensors'
    assert weights.exists(), f'no weights file in {out/"run"}'
    summary = dict(model=a.model, classes=len(SOURCES) + 2, images=sum(1 for _ in (out/'classes').rglob('*.png')),
                   test_accuracy=metrics.get('accuracy'), test_f1=metrics.get('f1'), steps=metrics.get('steps'),
                   weights=str(weights), wall_seconds=round(time.perf_counter() - t0, 1), recipe=recipe.as_dict())
    (out/'summary.json').write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))

if __name__ == '__main__': main()
