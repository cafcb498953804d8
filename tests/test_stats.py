"""The statistics module holds the model families (it must import without torch); they must agree with the registry's."""

def test_families_agree_with_registry():
    from semicompact.stats import FAMILIES
    from semicompact.models import REGISTRY
    assert FAMILIES == {name: spec.family for name, spec in REGISTRY.items()}
