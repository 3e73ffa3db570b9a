from __future__ import annotations

import pytest
import torch

from uhdrestore.errors import DeviceError
from uhdrestore.runtime import resolve_runtime


def test_cpu_runs_in_fp32_without_autocast():
    runtime = resolve_runtime("cpu")
    assert runtime.device == torch.device("cpu") and runtime.precision == "fp32"
    with runtime.autocast():
        assert not torch.is_autocast_enabled("cpu")
    assert runtime.free_memory() is None


def test_bf16_on_cpu_is_an_explicit_choice():
    runtime = resolve_runtime("cpu", "bf16")
    with runtime.autocast():
        assert torch.is_autocast_enabled("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on machines without CUDA")
def test_missing_cuda_is_a_device_error():
    with pytest.raises(DeviceError, match="CUDA is not available"):
        resolve_runtime("cuda")


@pytest.mark.parametrize("device,precision,message", [
    ("tpu", "auto", "device"), ("cpu", "fp8", "precision"), ("cpu", "fp16", "fp16"),
])
def test_bad_choices_are_device_errors(device, precision, message):
    with pytest.raises(DeviceError, match=message):
        resolve_runtime(device, precision)


def test_models_without_half_support_refuse_half_precision():
    with pytest.raises(DeviceError, match="does not support bf16"):
        resolve_runtime("cpu", "bf16", supports_bfloat16=False)
