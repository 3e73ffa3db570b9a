"""The typed descriptor a loaded network carries: what the engine plans precision and tiles with."""

from __future__ import annotations

import pytest

from uhdrestore.hub import load_model
from uhdrestore.models import PRESETS, ModelDescriptor, RestorationNetwork, SizeRequirements, build_model


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_describes_itself_to_the_engine(preset):
    model = build_model(PRESETS[preset])
    assert isinstance(model, RestorationNetwork)
    descriptor = model.descriptor
    assert isinstance(descriptor, ModelDescriptor) and descriptor.architecture == "simpleir"
    assert descriptor.size.multiple_of == 8 and descriptor.whole_image_context
    assert descriptor.bytes_per_pixel(2) < descriptor.bytes_per_pixel(4)  # half precision needs less


def test_the_bundled_model_loads_with_its_descriptor():
    descriptor = load_model("default").module.descriptor
    assert descriptor.supports_half and descriptor.tiling == "supported"


def test_a_size_requirement_below_one_is_refused():
    with pytest.raises(ValueError, match="multiple_of"):
        SizeRequirements(multiple_of=0)
