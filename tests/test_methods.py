"""A method is one declaration (issue 27): a toy method, declared in a few lines, is a Python function with its options
in the signature, a `semicompact toy` command with its flags, a method of the study, a row of the docs' table and a
line of `config.json`; removed, it is gone from all of them. The README's method table is the registry's."""
import contextlib, inspect, io, json
from dataclasses import dataclass
from pathlib import Path

import pytest

from semicompact.methods import (METHODS, Method, MethodOptions, implements, methods_table, register_method, resolve_method,
                                 unregister_method)

TINY = dict(epochs=1, size=16, bs=16, pretrained=False, lr=1e-3, flip=False)

@dataclass(frozen=True)
class ToyOptions(MethodOptions):
    "Base training, with a labelled share that a toy would tune"
    share:float=1. # Share of something (recorded, not used)
    shout:bool=False # Print the options when called

@pytest.fixture
def toy():
    "Declare, implement and register the toy method; unregister it after the test"
    register_method(Method('toy', 'Toy', ToyOptions, None, 'Base under another name', 'supervised', 'this test', ('Toy method',)))
    @implements('toy')
    def toy(model, path, recipe=None, output_path=None, *, options:ToyOptions, **kwargs):
        "Train `model` as Base, recording the toy's options"
        from semicompact.train import train_model
        if options.shout: print('toy options:', options.as_dict())
        return train_model(model, path, recipe, output_path, method='toy', options=options.as_dict(), **kwargs)
    yield toy
    unregister_method('toy')

@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    from semicompact.data import make_digits
    return make_digits(tmp_path_factory.mktemp('data')/'digits', size=16, n_labelled=5)

def test_toy_method_everywhere(toy, digits, tmp_path):
    from semicompact import cli
    from semicompact.study import run_study
    from semicompact.train import load_run
    # the function: its options in the signature and in help(), its implementation found by name
    ps = inspect.signature(toy).parameters
    assert [p for p in ps][:6] == ['model', 'path', 'recipe', 'output_path', 'share', 'shout'] and ps['share'].default == 1.
    assert 'share : float, default 1.0\n    Share of something (recorded, not used)' in toy.__doc__
    assert resolve_method('TOY METHOD').function is toy
    # the docs' table
    assert '| Toy (`toy`, `semicompact toy`) | supervised | Base under another name | `share`, `shout` | this test |' in methods_table()
    # the command, with its flags from the dataclass
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(['toy', '--model', 'resnet18', '--data', str(digits), '--out', str(tmp_path/'cli'), '--share', '0.5', '--shout',
                           '--quiet', '--epochs', '1', '--size', '16', '--bs', '16', '--no-pretrained', '--lr', '1e-3', '--no-flip'])
    assert status == 0 and "toy options: {'share': 0.5, 'shout': True}" in out.getvalue(), out.getvalue()
    run = load_run(tmp_path/'cli')
    assert run.config['method'] == 'toy' and run.config['options'] == {'share': 0.5, 'shout': True}   # its line in config.json
    # the study, with its options from method_kw
    res = run_study({'d': digits}, ['resnet18'], ['Toy'], tmp_path/'study', seeds=(1,), verbose=False, method_kw={'toy': {'share': 0.25}}, **TINY)
    assert list(res.method) == ['toy'] and (res.status == 'ok').all()
    assert json.loads(Path(res.run[0], 'config.json').read_text())['options']['share'] == 0.25

def test_removed_method_is_gone(toy):
    from semicompact import cli
    from semicompact.core import SemicompactError
    from semicompact.study import study_cells
    unregister_method('toy')
    assert 'toy' not in METHODS and '`toy`' not in methods_table()
    with pytest.raises(SemicompactError, match='Unknown method'): study_cells({'d': Path('.')}, ['resnet18'], ['toy'], [1])
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(SystemExit): cli.main(['toy', '--help'])
    register_method(Method('toy', 'Toy', ToyOptions, toy, 'Base under another name', 'supervised'))   # for the fixture's teardown

def test_readme_method_table_is_the_registry():
    "README.md (kept by hand in step with the home page) and the home page hold `methods_table()`"
    root = Path(__file__).parents[1]
    assert methods_table() in (root/'README.md').read_text()
    cells = json.loads((root/'nbs'/'index.ipynb').read_text())['cells']
    assert any(methods_table() in ''.join(c['source']) for c in cells)

def test_options_belong_to_one_method():
    "No method inherits an option it must refuse: FreeMatch and SoftMatch have no fixed threshold"
    assert 'tau' not in resolve_method('freematch').options.fields() and 'tau' not in resolve_method('softmatch').options.fields()
    assert 'transforms' not in resolve_method('plain').options.fields()
    for m in METHODS.values():
        assert all(m.options.docs().values()), f"{m.name}: every option has its comment"
