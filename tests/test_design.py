"""The design's rules, read from the code: layers without cycles, imports without side effects, one name per object,
one list of the recipe's options, and errors that the command line reports as one line."""
import ast, inspect, json, subprocess, sys
from pathlib import Path

import pytest

PKG = Path(__file__).parents[1]/'semicompact'
# DESIGN §5: cli -> study -> distill · consistency · quantize -> train -> data · models · tta; stats beside, imported by study and cli only;
# engines (where a study's cells run, lock files) below data, without torch: a pool's worker sets its devices before torch is imported;
# methods (the registry: each method's declaration and options) without torch, so the command line lists them at once;
# distill above consistency (issue 24): a student learns in mixed batches through consistency's UnlabelledCallback and strong views
LAYERS = {'core': 0, 'test_utils': 0, 'methods': 0.5, 'pixels': 0.5, 'engines': 0.5, 'data': 1, 'models': 1, 'tta': 1, 'stats': 1, 'train': 2,
          'consistency': 3, 'quantize': 3, 'distill': 3.5, 'study': 4, 'cli': 5}
TORCH = ('torch', 'torchvision', 'fastai', 'timm', 'accelerate', 'onnxruntime')

def _imports(f:Path) -> tuple[set, set]:
    "(semicompact modules, third-party top-level packages) imported anywhere in `f`, functions included"
    own, other = set(), set()
    for n in ast.walk(ast.parse(f.read_text())):
        if isinstance(n, ast.ImportFrom):
            if n.level: own.add((n.module or '').split('.')[0])
            elif n.module == 'semicompact': own.update(a.name for a in n.names if a.name in LAYERS)
            elif n.module.startswith('semicompact.'): own.add(n.module.split('.')[1])
            else: other.add(n.module.split('.')[0])
        elif isinstance(n, ast.Import):
            for a in n.names:
                if a.name.startswith('semicompact.'): own.add(a.name.split('.')[1])
                elif a.name != 'semicompact': other.add(a.name.split('.')[0])
    own.discard(f.stem)
    return own, other

def test_every_module_has_a_layer():
    mods = {f.stem for f in PKG.glob('*.py')} - {'__init__', '_modidx', 'all'}
    assert mods == set(LAYERS), f"add new modules to LAYERS (DESIGN §5): {mods ^ set(LAYERS)}"

def test_imports_point_down_and_have_no_cycle():
    graph = {m: _imports(PKG/f'{m}.py')[0] for m in LAYERS}
    bad = [f"{m} -> {d}" for m, ds in graph.items() for d in ds if LAYERS[d] >= LAYERS[m]]
    assert not bad, f"imports that do not point down a layer: {bad}"
    assert not {m for m, ds in graph.items() if 'stats' in ds} - {'study', 'cli'}, "only study and cli import stats"
    seen, path = set(), []
    def visit(m):   # a cycle is impossible when every arrow points down; checked anyway
        assert m not in path, f"import cycle: {' -> '.join(path + [m])}"
        if m in seen: return
        path.append(m); [visit(d) for d in graph[m]]; path.pop(); seen.add(m)
    for m in graph: visit(m)

def test_no_module_imports_another_modules_private_name():
    "A helper another module needs has a public name in its layer (DESIGN §5: one helper per concept, in its layer)"
    bad = []
    for f in PKG.glob('*.py'):
        if f.stem in ('_modidx', 'all'): continue
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.ImportFrom) and (n.level or (n.module or '').startswith('semicompact')):
                bad += [f"{f.stem} <- {n.module}.{a.name}" for a in n.names if a.name.startswith('_') and not a.name.startswith('__')]
    assert not bad, f"imports of another module's private name: {bad}"

def test_train_knows_nothing_of_int8():
    assert 'quantize' not in _imports(PKG/'train.py')[0]

@pytest.mark.parametrize('mod', ['core', 'methods', 'pixels', 'engines', 'stats', 'test_utils'])
def test_light_modules_import_no_torch(mod):
    assert not _imports(PKG/f'{mod}.py')[1] & set(TORCH)
    r = subprocess.run([sys.executable, '-c', f"import sys, semicompact.{mod}; print(sorted(set(sys.modules) & {set(TORCH)!r}))"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == '[]', r.stdout + r.stderr

SIDE_EFFECTS = """
import json, warnings
import matplotlib, torch, fastai.vision.all, timm, sklearn.metrics, statsmodels.api, scikit_posthocs, seaborn, onnxruntime, accelerate
from fastai.distributed import DistributedDL
before = dict(filters=[repr(f) for f in warnings.filters], broadcast=repr(DistributedDL._broadcast),
              backend=matplotlib.get_backend(), engine=torch.backends.quantized.engine)
import semicompact.all, semicompact.cli
after = dict(filters=[repr(f) for f in warnings.filters], broadcast=repr(DistributedDL._broadcast),
             backend=matplotlib.get_backend(), engine=torch.backends.quantized.engine)
print(json.dumps([before, after]))
"""

def test_importing_changes_nothing_global():
    r = subprocess.run([sys.executable, '-c', SIDE_EFFECTS], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    before, after = json.loads(r.stdout.strip().splitlines()[-1])
    assert before == after

def test_no_name_defined_twice_in_all():
    import importlib
    import semicompact.all
    mods = [importlib.import_module(f'semicompact.{m}') for m in ('core', 'methods', 'data', 'models', 'train', 'tta', 'distill', 'consistency', 'quantize', 'stats', 'study')]
    owners = {}
    for m in mods:
        for n in m.__all__: owners.setdefault(n, []).append(m)
    twice = {n: [m.__name__ for m in ms] for n, ms in owners.items() if len({id(getattr(m, n)) for m in ms}) > 1}
    assert not twice, f"names bound to different objects by different modules: {twice}"

def test_recipe_options_are_listed_once():
    "No method lists the recipe's options again: they come from `Recipe`, as keyword overrides"
    from semicompact.core import Recipe
    from semicompact import train, distill, consistency, study, quantize
    fields = set(Recipe.fields())
    for fn in (train.train_model, train.fit_recipe, distill.distill, distill.plain_distillation, distill.data_distillation,
               distill.model_distillation, distill.model_data_distillation, consistency.fixmatch, consistency.mixmatch,
               consistency.flexmatch, consistency.freematch, consistency.softmatch,
               quantize.train_quantized, study.run_study, study.run_cell):
        assert not fields & set(inspect.signature(fn).parameters), fn.__name__
    r = subprocess.run([sys.executable, '-m', 'semicompact.cli', 'train', '--help'], capture_output=True, text=True)
    for f in fields: assert '--' + f.replace('_', '-') in r.stdout, f

def test_every_method_has_the_same_shape():
    from semicompact.methods import METHODS
    for m in METHODS.values():
        ps = list(inspect.signature(m.function).parameters.values())
        assert [p.name for p in ps[:4]] == ['model', 'path', 'recipe', 'output_path'], m.name
        assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in ps[4:]), m.name

def test_cli_user_error_is_one_line_and_a_bug_keeps_its_traceback(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'semicompact.cli', 'train', '--model', 'resnet18', '--data', str(tmp_path), '--valid-pct', '1.5'],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().count('\n') == 0 and 'valid_pct must be a number in (0, 1)' in r.stderr, r.stderr
    bug = "import sys, semicompact.cli as c; c.cmd_models = lambda a: {}['oops']; sys.exit(c.main(['models']))"
    r = subprocess.run([sys.executable, '-c', bug], capture_output=True, text=True)
    assert r.returncode == 1 and 'Traceback' in r.stderr and "KeyError: 'oops'" in r.stderr, r.stderr

def test_package_docstring_is_one_paragraph():
    "nbdev writes the index notebook's exported cells into the package docstring; ours keeps them out (`#| exports`)"
    import semicompact
    doc = semicompact.__doc__ or ''
    assert doc.strip() and '```' not in doc and '\n\n' not in doc.strip(), doc[:300]
    assert (PKG/'__init__.py').read_text().count('"""') == 2   # one string: the docstring, then __version__

def test_pixels_needs_only_what_the_standalone_predictor_has():
    "`predict.py` embeds semicompact.pixels: numpy and Pillow (pydicom, tifffile where those files are read), and core only behind a fallback"
    own, other = _imports(PKG/'pixels.py')
    assert other <= {'numpy', 'PIL', 'tifffile', 'pydicom', 'json', 'mimetypes', 'warnings', 'dataclasses', 'pathlib'}, other
    assert own <= {'core'}, own
    assert "except ImportError: SemicompactError = ValueError" in (PKG/'pixels.py').read_text()

def test_command_functions_live_in_cli():
    "The `semicompact` command's functions (`cmd_*`) are defined in cli only (DESIGN §5: command functions live in `cli`)"
    elsewhere = [f"{f.stem}.{n.name}" for f in PKG.glob('*.py') if f.stem not in ('cli', '_modidx')
                 for n in ast.walk(ast.parse(f.read_text())) if isinstance(n, ast.FunctionDef) and n.name.startswith('cmd_')]
    assert not elsewhere, elsewhere
