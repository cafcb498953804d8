"""`from semicompact.all import *` gives the public API, as fastai users expect."""

def test_star_import_gives_public_api():
    ns = {}
    exec('from semicompact.all import *', ns)
    for name in ('split_dataset', 'get_dls', 'make_digits', 'BENCHMARK', 'create_model', 'create_learner', 'list_models',
                 'model_info', 'train_model', 'evaluate', 'fit_recipe', 'load_run', 'compare', 'run_study', 'report'):
        assert name in ns, name
