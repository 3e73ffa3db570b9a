"""The three-line Python API: `Restorer.from_pretrained(...)(image)` for every kind of image a user holds."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import uhdrestore
from tests.conftest import perturbed_model, synthetic_photo
from uhdrestore import InputImageError, Restorer
from uhdrestore.cli import app
from uhdrestore.degrade import degrade
from uhdrestore.guard import judge, keep_tone
from uhdrestore.hub import save_model
from uhdrestore.io import Image, ImageMetadata, from_float, read_image, write_image
from uhdrestore.restore import TileConfig, restore_pixels
from uhdrestore.runtime import resolve_runtime

CPU = resolve_runtime("cpu")
PHOTO = synthetic_photo(48, 64)  # (H, W, 3) float32 in [0, 1]


@pytest.fixture(scope="module")
def restorer() -> Restorer:
    return Restorer(perturbed_model(), CPU, TileConfig(tile=0))


def engine(restorer: Restorer, pixels: np.ndarray) -> np.ndarray:
    """What the engine makes of (H, W, 3 | 1) uint8/uint16/float32 pixels: the reference."""
    return restore_pixels(pixels, restorer.model, CPU, restorer.tiles).image


def as_dtype(rgb: np.ndarray, dtype: type) -> np.ndarray:
    return rgb.astype(np.float64) if dtype is np.float64 else from_float(rgb, dtype)


# --- NumPy ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_rgb_arrays_come_back_restored_in_their_dtype(restorer, dtype):
    image = as_dtype(PHOTO, dtype)
    restored = restorer(image)
    assert type(restored) is np.ndarray and restored.dtype == dtype and restored.shape == image.shape
    assert not np.array_equal(restored, image)  # the network changed something
    work = image.astype(np.float32) if dtype is np.float64 else image
    np.testing.assert_array_equal(restored, engine(restorer, work).astype(dtype))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("layout", ["HW", "HW1"])
def test_gray_arrays_keep_their_shape(restorer, dtype, layout):
    gray = as_dtype(PHOTO[..., 1:2], dtype)
    image = gray[..., 0] if layout == "HW" else gray
    restored = restorer(image)
    assert restored.shape == image.shape and restored.dtype == dtype
    work = gray.astype(np.float32) if dtype is np.float64 else gray
    reference = engine(restorer, work).astype(dtype)
    np.testing.assert_array_equal(restored, reference[..., 0] if layout == "HW" else reference)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("channels", [2, 4])
def test_alpha_passes_through_untouched(restorer, dtype, channels):
    colour = PHOTO[..., :1] if channels == 2 else PHOTO
    alpha = np.linspace(0, 1, 48 * 64, dtype=np.float32).reshape(48, 64, 1)
    image = as_dtype(np.concatenate([colour, alpha], axis=2), dtype)
    restored = restorer(image)
    assert restored.shape == image.shape and restored.dtype == dtype
    np.testing.assert_array_equal(restored[..., -1], image[..., -1])
    work = image[..., :-1].astype(np.float32) if dtype is np.float64 else image[..., :-1]
    np.testing.assert_array_equal(restored[..., :-1], engine(restorer, np.ascontiguousarray(work)).astype(dtype))


def test_the_input_array_is_not_modified(restorer):
    image = from_float(PHOTO, np.uint8)
    before = image.copy()
    restorer(image)
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize("image,message", [
    (np.zeros((8, 8, 3), np.int32), "dtype int32"),
    (np.zeros((8, 8, 5), np.uint8), r"shape \(8, 8, 5\)"),
    (np.zeros((2, 8, 8, 3), np.uint8), "shape"),
    (np.zeros((0, 8, 3), np.uint8), "empty"),
    (np.full((8, 8, 3), np.nan, np.float32), "NaN"),
])
def test_arrays_it_cannot_restore_are_one_clear_error(restorer, image, message):
    with pytest.raises(InputImageError, match=message):
        restorer(image)


def test_anything_else_is_a_type_error(restorer):
    with pytest.raises(TypeError, match="expected a NumPy array, a torch tensor or a PIL image. Got list"):
        restorer([[0.5]])


# --- torch ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.uint8])
def test_tensor_batches_come_back_in_their_dtype(restorer, dtype):
    batch = torch.from_numpy(np.stack([PHOTO, synthetic_photo(48, 64, seed=1)])).permute(0, 3, 1, 2)
    tensor = (batch * 255).round().to(dtype) if dtype == torch.uint8 else batch.to(dtype)
    restored = restorer(tensor)
    assert isinstance(restored, torch.Tensor) and restored.dtype == dtype and restored.shape == tensor.shape
    assert not torch.equal(restored, tensor)
    for item, output in zip(tensor, restored, strict=True):  # each image restored on its own
        pixels = item.permute(1, 2, 0).float().numpy() if dtype != torch.uint8 else item.permute(1, 2, 0).numpy()
        reference = torch.from_numpy(engine(restorer, np.ascontiguousarray(pixels))).permute(2, 0, 1).to(dtype)
        torch.testing.assert_close(output, reference, rtol=0, atol=0)


def test_a_single_chw_tensor_stays_chw(restorer):
    tensor = torch.from_numpy(PHOTO).permute(2, 0, 1)
    restored = restorer(tensor)
    assert restored.shape == (3, 48, 64) and restored.dtype == torch.float32
    torch.testing.assert_close(restored, restorer(tensor[None])[0], rtol=0, atol=0)


def test_tensors_with_gradients_are_restored_without_them(restorer):
    tensor = torch.from_numpy(PHOTO).permute(2, 0, 1).clone().requires_grad_(True)
    assert not restorer(tensor).requires_grad


@pytest.mark.parametrize("shape,dtype,message", [
    ((48, 64), torch.float32, "shape"),
    ((1, 5, 48, 64), torch.float32, "shape"),
    ((3, 48, 64), torch.int64, "dtype torch.int64"),
])
def test_tensors_it_cannot_restore_are_one_clear_error(restorer, shape, dtype, message):
    with pytest.raises(InputImageError, match=message):
        restorer(torch.zeros(shape, dtype=dtype))


# --- PIL (only when Pillow is installed; uhdrestore does not depend on it) --------------------------

@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "I;16", "F"])
def test_pil_images_come_back_in_their_mode(restorer, mode):
    PIL = pytest.importorskip("PIL.Image")
    source = PIL.fromarray(from_float(PHOTO, np.uint8)).convert("RGBA")
    if mode == "I;16":
        image = PIL.fromarray(from_float(PHOTO[..., 1], np.uint16))
        assert image.mode == "I;16"
    elif mode == "F":
        image = PIL.fromarray(PHOTO[..., 1])
    else:
        image = source.convert(mode)
    image.info["icc_profile"] = b"profile"
    restored = restorer(image)
    assert isinstance(restored, PIL.Image) and restored.mode == mode and restored.size == image.size
    assert restored.info["icc_profile"] == b"profile"
    np.testing.assert_array_equal(np.asarray(restored), restorer(np.asarray(image)))
    assert not np.array_equal(np.asarray(restored), np.asarray(image))


def test_a_pil_mode_it_cannot_restore_says_how_to_convert(restorer):
    PIL = pytest.importorskip("PIL.Image")
    with pytest.raises(InputImageError, match=r"mode 'P'.*convert\('RGB'\)"):
        restorer(PIL.new("P", (16, 16)))


# --- from_pretrained and the public names ----------------------------------------------------------

def test_from_pretrained_restores_as_the_cli_does(tmp_path):
    network = perturbed_model()
    folder = save_model(network, network.config, tmp_path / "model")
    source = tmp_path / "photo.png"
    write_image(source, Image(rgb=from_float(PHOTO, np.uint8), alpha=None, metadata=ImageMetadata()))
    result = CliRunner().invoke(app, ["fix", str(source), "--model", str(folder), "--device", "cpu", "-q"])
    assert result.exit_code == 0, result.output

    restorer = Restorer.from_pretrained(folder, device="cpu")  # a Path works as well as a str
    assert restorer.loaded is not None and restorer.loaded.source.kind == "local"
    np.testing.assert_array_equal(restorer(read_image(source).rgb), read_image(tmp_path / "photo_restored.png").rgb)


def test_from_pretrained_default_describes_its_network():
    restorer = Restorer.from_pretrained("default", device="cpu")
    descriptor = restorer.descriptor
    assert descriptor.architecture == "simpleir" and descriptor.tiling == "supported"
    assert descriptor.supports_half and descriptor.supports_bfloat16 and descriptor.size.multiple_of == 8
    assert restorer.runtime.precision == "fp32"


# --- guard: photos the perceiver calls clean come back unchanged (as `fix --guard` writes them) -------

CLEAN = from_float(synthetic_photo(96, 128), np.uint8)  # the bundled perceiver: tier high, severity 0.001
NOISY = from_float(degrade(synthetic_photo(96, 128), "noise", np.random.default_rng(0), 0.7), np.uint8)


@pytest.fixture(scope="module")
def guarded() -> Restorer:
    return Restorer.from_pretrained("default", device="cpu", guard=True)


def test_guard_returns_a_clean_photo_unchanged_and_restores_a_degraded_one(guarded):
    unguarded = Restorer(guarded.model, guarded.runtime, guarded.tiles)
    assert not np.array_equal(unguarded(CLEAN), CLEAN)  # the model alone would change the clean photo
    kept = guarded(CLEAN)
    np.testing.assert_array_equal(kept, CLEAN)
    assert not np.shares_memory(kept, CLEAN)  # a new array, as a restored one is
    assert guarded.clean_perception(Image(rgb=CLEAN, alpha=None)).tier == "high"
    assert guarded.clean_perception(Image(rgb=NOISY, alpha=None)) is None
    # Noise alone changes no photo's overall tone: the guard restores its detail and keeps its tone.
    assert judge(guarded.guard, Image(rgb=NOISY, alpha=None)).action == "keep_tone"
    expected = keep_tone(Image(rgb=NOISY, alpha=None), Image(rgb=unguarded(NOISY), alpha=None)).rgb
    np.testing.assert_array_equal(guarded(NOISY), expected)


def test_guard_judges_each_image_of_a_batch_tensor(guarded):
    batch = torch.from_numpy(np.stack([CLEAN, NOISY])).permute(0, 3, 1, 2)
    out = guarded(batch)
    assert torch.equal(out[0], batch[0]) and not torch.equal(out[1], batch[1])


def test_a_missing_guard_perceiver_is_a_weights_error(tmp_path):
    with pytest.raises(uhdrestore.WeightsError, match="no such model folder"):
        Restorer.from_pretrained("default", guard=True, perceiver=tmp_path / "nowhere")


def test_without_guard_there_is_no_perceiver(restorer):
    assert restorer.guard is None and restorer.clean_perception(Image(rgb=CLEAN, alpha=None)) is None


def test_from_pretrained_refuses_a_missing_model_with_a_weights_error(tmp_path):
    with pytest.raises(uhdrestore.WeightsError, match="no such model folder"):
        Restorer.from_pretrained(str(tmp_path / "nowhere"))


def test_dir_shows_the_public_api_and_every_name_resolves():
    assert "Restorer" in dir(uhdrestore) and "ModelDescriptor" in dir(uhdrestore)
    assert not [name for name in dir(uhdrestore) if name.startswith("_") and name != "__version__"]
    for name in uhdrestore.__all__:
        assert getattr(uhdrestore, name) is not None
    namespace: dict = {}
    exec("from uhdrestore import *", namespace)
    assert set(uhdrestore.__all__) <= set(namespace)


def test_type_checkers_see_the_names_imported_lazily():
    """`if TYPE_CHECKING:` in uhdrestore/__init__.py imports exactly what __getattr__ serves, from there."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(uhdrestore.__file__).read_text())
    [block] = [node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"]
    declared = {alias.name: node.module for node in block.body if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert declared == uhdrestore._EXPORTS
    assert set(uhdrestore.__all__) == {"__version__", *declared}


def test_a_module_without_a_descriptor_is_refused_by_the_engine():
    with pytest.raises(TypeError, match="no ModelDescriptor"):
        Restorer(torch.nn.Identity(), CPU, TileConfig(tile=0))(PHOTO)


def test_readme_api_example_runs():
    """The three lines the README and the package docstring show."""
    restorer = Restorer.from_pretrained("default", device="cpu")
    restored = restorer(from_float(PHOTO, np.uint8))
    assert restored.dtype == np.uint8 and restored.shape == PHOTO.shape
