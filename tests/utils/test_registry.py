import pytest

from hqnn_lightning.utils.registry import Registry


def make(a: int, b: int = 2, c: str = "x") -> tuple[int, int, str]:
    return a, b, c


@pytest.fixture
def registry():
    registry = Registry("widget")
    registry.register("plain")(make)
    registry.register("variant", b=5)(make)
    return registry


class TestRegistry:
    def test_creates_by_name(self, registry):
        assert registry.create("plain", a=1) == (1, 2, "x")

    def test_variant_defaults_apply_unless_overridden(self, registry):
        assert registry.create("variant", a=1) == (1, 5, "x")
        assert registry.create("variant", a=1, b=7) == (1, 7, "x")
        assert registry.defaults("variant") == {"b": 5}

    def test_none_arguments_keep_the_defaults(self, registry):
        assert registry.create("variant", a=1, b=None, c=None) == (1, 5, "x")

    def test_unknown_name_lists_known_names(self, registry):
        with pytest.raises(KeyError, match="unknown widget 'gizmo'; known: plain, variant"):
            registry.create("gizmo")

    def test_unknown_argument_is_named(self, registry):
        with pytest.raises(TypeError, match="widget 'plain' does not take d, e"):
            registry.create("plain", a=1, d=1, e=2)

    def test_names_cannot_be_registered_twice(self, registry):
        with pytest.raises(ValueError, match="already registered"):
            registry.register("plain")(make)

    def test_lists_names(self, registry):
        assert registry.names() == ["plain", "variant"]
        assert "plain" in registry and "gizmo" not in registry

    def test_iterates_over_names(self, registry):
        assert list(registry) == ["plain", "variant"]
