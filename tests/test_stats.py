"""The statistics module keeps its own copy of the model families (it must import without torch); it must agree with the registry."""

def test_families_agree_with_registry():
    from semicompact.stats import FAMILIES as stats_families
    from semicompact.models import FAMILIES as registry_families
    assert stats_families == registry_families
