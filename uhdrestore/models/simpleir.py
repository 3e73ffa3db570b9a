"""SimpleIR: a small all-in-one restorer that makes a 4K frame affordable on a CPU.

The Review Learning paper names SimpleIR's parts but not their insides; this is our
own design in the downsample-enhance-upsample family (UHDFour, UHDformer):

    x (B,3,H,W) ─ pixel-unshuffle x4 ─┬─ entry 3x3 ─ HAB ─┬─ pixel-unshuffle x2 ─ 1x1 ─ FIB ─ 1x1 ─ pixel-shuffle x2 ─┐
                                      │  (1/4 res)        └──────────── shallow ──────────────── LDAM ◄────────────────┘
                                      └── high-pass ──┐                                            │
    x + pixel-shuffle x4 ◄─ exit 3x3 ◄─ concat ◄──────┴─ HAB ◄─────────────────────────────────────┘

- Pixel-unshuffle is lossless, so every input pixel reaches the network; the heavy
  work runs at 1/8 resolution (the Feature Iteration Block) and the rest at 1/4.
- Hybrid Attention Block (HAB): a local branch of two dense 3x3 convolutions
  (dense 3x3 runs 10-30x closer to peak on CPU than depthwise or 1x1 layers) times a
  channel attention, added back with a per-channel scale that starts at zero, so
  every block starts as the identity (NAFNet's trick; no normalisation layers).
- Channel attention needs a whole-image statistic, which would make tiles disagree
  with the full image. Instead of pooling each tile, a tiny context encoder reads a
  fixed-size thumbnail of the *whole* image once; every HAB turns that vector into
  its channel gates. The tiling engine computes the context from the full image and
  shares it across tiles, so all remaining operations are local and tiled output
  matches untiled output once the tile overlap covers the receptive field. The
  context vector also tells the blocks which degradation they face (haze and low
  light are global), the role a degradation prompt plays in PromptIR/AirNet.
- Feature Iteration Block (FIB): a weight-shared stack of HABs unrolled a few
  times, re-injecting its input after each pass: depth without parameters.
- Local Detail Attention Module (LDAM): at 1/4 resolution, the high-frequency part
  of the shallow features (features minus their 3x3 local mean) passes through a
  convolution, gated per pixel and channel by an attention map computed from the
  body's output and the shallow features; it restores texture that the
  low-resolution body smooths away.
- Pixel detail skip: the exit convolution sees, beside the decoder's features, the
  high-frequency part of the pixel-unshuffled input itself (input minus its 3x3
  local mean at 1/4 resolution: every input pixel, 48 values per position). Fine
  noise and texture then need not squeeze through the narrow 1/4-resolution
  features; on a noise-only training run of 1500 steps this skip took validation
  PSNR from 23.2 to 26.1 dB, more than widening the features from 32 to 48 (24.3 dB).
  The skip is gated per position by the decoder's features: an ungated skip is a
  fixed linear filter applied to every photo alike (it smoothed or sharpened clean
  photos); gated, the network decides where fine detail is noise and where texture.
- Global residual: the network predicts a correction added to its input, and the
  exit convolution starts at zero, so an untrained network is the identity. (A
  whole-image on/off strength for the correction was tried: its sigmoid saturated
  at zero within 2000 steps and the network stopped restoring anything but haze.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .descriptor import ModelDescriptor, SizeRequirements

__all__ = ["SimpleIR", "thumbnail"]

MULTIPLE_OF = 8  # pixel-unshuffle x4 then x2: inputs are padded to a multiple of 8


DETAIL_BLOCK = 4  # fine-detail energy is averaged over 4x4 pixel blocks before the thumbnail


def high_pass(x: torch.Tensor) -> torch.Tensor:
    """x minus its 3x3 local mean: the finest detail (noise, streaks, texture, edges)."""
    return x - F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def thumbnail(image: torch.Tensor, size: int, dark: bool = False) -> torch.Tensor:
    """(B, C, H, W) -> (B, 2C [+1], size, size): the whole-image view the context encoder reads.

    The first C channels are the downscaled image (colour, contrast: haze, low light).
    Downscaling averages fine noise, rain and blur away, so the next C channels are
    the downscaled energy of the image's finest detail (|x - 3x3 local mean|, averaged
    over 4x4 blocks first so its statistics do not depend on the image size): how
    noisy, streaky or soft the whole image is, which a tile alone cannot tell.

    With `dark`, one more channel: the dark channel (the darkest colour component of each
    4x4 block), downscaled. Haze lifts it everywhere (the dark channel prior), while a
    blurred or soft photo keeps its dark pixels; averaging the image first would wash
    them out, so without it a soft photo and a hazy one look alike to the context.
    """
    image = image.float()
    blocks = min(image.shape[-2:]) >= DETAIL_BLOCK
    detail = high_pass(image).abs_()
    if blocks:
        detail = F.avg_pool2d(detail, DETAIL_BLOCK, ceil_mode=True)
    channels = [F.adaptive_avg_pool2d(image, size), F.adaptive_avg_pool2d(detail, size)]
    if dark:
        darkest = image.amin(dim=1, keepdim=True)
        if blocks:
            darkest = -F.max_pool2d(-darkest, DETAIL_BLOCK, ceil_mode=True)
        channels.append(F.adaptive_avg_pool2d(darkest, size))
    return torch.cat(channels, dim=1)


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)


def _zeroed(conv: nn.Conv2d) -> nn.Conv2d:
    """`conv` with its weight and bias set to zero: a residual branch it ends starts as the identity."""
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


class ContextEncoder(nn.Module):
    """Thumbnail (B, 2x3 [+1], S, S) -> context vector (B, width): global colour, contrast, degradation.

    Mean, max and min pooling of the features: the min of the detail energy is the
    noise floor of the flattest region, which tells noise from texture.
    """

    def __init__(self, thumb_channels: int, width: int, negative_slope: float) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _conv3x3(thumb_channels, 16, stride=2), nn.LeakyReLU(negative_slope),
            _conv3x3(16, 32, stride=2), nn.LeakyReLU(negative_slope),
            _conv3x3(32, width, stride=2), nn.LeakyReLU(negative_slope),
        )
        self.project = nn.Sequential(nn.Linear(3 * width, width), nn.LeakyReLU(negative_slope))

    def forward(self, thumb: torch.Tensor) -> torch.Tensor:
        features = self.features(thumb)  # (B, width, S/8, S/8)
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3)),
                            features.amin(dim=(2, 3))], dim=1)
        return self.project(pooled)


class HybridAttentionBlock(nn.Module):
    """x + scale * conv(act(conv(x))) * channel_gate(context); starts as the identity."""

    def __init__(self, width: int, context_width: int, negative_slope: float) -> None:
        super().__init__()
        self.conv1 = _conv3x3(width, width)
        self.act = nn.LeakyReLU(negative_slope)
        self.conv2 = _conv3x3(width, width)
        self.channel_attention = nn.Linear(context_width, width)
        self.scale = nn.Parameter(torch.zeros(1, width, 1, 1))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        local = self.conv2(self.act(self.conv1(x)))
        gate = torch.sigmoid(self.channel_attention(context))[:, :, None, None]  # (B, C, 1, 1)
        return torch.addcmul(x, local, (self.scale * gate).to(local.dtype))


class FeatureIterationBlock(nn.Module):
    """A weight-shared stack of HABs unrolled `iterations` times, re-injecting the input."""

    def __init__(self, width: int, blocks: int, iterations: int, context_width: int,
                 negative_slope: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            HybridAttentionBlock(width, context_width, negative_slope) for _ in range(blocks)
        )
        # One cheap 1x1 per pass lets each pass weigh the input differently.
        self.reinject = nn.ModuleList(_zeroed(nn.Conv2d(width, width, 1)) for _ in range(iterations))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        features = x
        for reinject in self.reinject:
            for block in self.blocks:
                features = block(features, context)
            features = features + reinject(x)
        return features


class LocalDetailAttention(nn.Module):
    """body + gate(body, shallow) * conv(high-pass(shallow)), all at 1/4 resolution."""

    def __init__(self, width: int, negative_slope: float) -> None:
        super().__init__()
        self.detail = _conv3x3(width, width)
        self.act = nn.LeakyReLU(negative_slope)
        self.attention = _conv3x3(2 * width, width)

    def forward(self, body: torch.Tensor, shallow: torch.Tensor) -> torch.Tensor:
        detail = self.act(self.detail(high_pass(shallow)))
        gate = torch.sigmoid(self.attention(torch.cat([body, shallow], dim=1)))
        return torch.addcmul(body, gate, detail)


class SimpleIR(nn.Module):
    """(B, 3, H, W) float image in [0, 1] -> restored image of the same shape (any H, W).

    `forward(x)` computes the context from `x` itself; a tiling engine passes the
    context of the whole image instead (`encode_context(model.thumbnail(full))`).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        channels, detail, body = config.in_channels, config.detail_width, config.body_width
        slope, context = config.negative_slope, config.context_width
        self.context_encoder = ContextEncoder(2 * channels + int(config.context_dark), context, slope)
        self.entry = _conv3x3(channels * 16, detail)
        self.entry_act = nn.LeakyReLU(slope)
        self.encoder = HybridAttentionBlock(detail, context, slope)
        self.down = nn.Conv2d(detail * 4, body, 1)
        self.body = FeatureIterationBlock(body, config.body_blocks, config.body_iterations,
                                          context, slope)
        self.up = nn.Conv2d(body, detail * 4, 1)
        self.detail = LocalDetailAttention(detail, slope)
        self.decoder = HybridAttentionBlock(detail, context, slope)
        self.detail_gate = nn.Conv2d(detail, channels * 16, 1)
        self.exit = _zeroed(_conv3x3(detail + channels * 16, channels * 16))

    @property
    def descriptor(self) -> ModelDescriptor:
        """Its contract with the engine: any precision, any size (padded to 8), tiles share one context."""
        detail = self.config.detail_width
        return ModelDescriptor(
            architecture=self.config.arch, supports_half=True, supports_bfloat16=True,
            size=SizeRequirements(multiple_of=MULTIPLE_OF), tiling="supported", whole_image_context=True,
            tile_overlap=32,  # covers the trained network's reach: tiled == untiled to >= 50 dB
            # Peak activation memory per input pixel, measured on CPU with margin.
            activation_bytes_fp32=24 + 2 * detail + 16, activation_bytes_half=(24 + 2 * detail) // 2 + 16)

    def thumbnail(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) whole image -> the `thumbnail` this network's context encoder reads."""
        return thumbnail(image, self.config.context_size, self.config.context_dark)

    def encode_context(self, thumb: torch.Tensor) -> torch.Tensor:
        """(B, 6 [+1], S, S) `thumbnail` of the whole image -> (B, context_width)."""
        return self.context_encoder(thumb)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                thumb: torch.Tensor | None = None) -> torch.Tensor:
        """Restore `x`. The context is `context` if given, else read from `thumb` (the `thumbnail` of a
        larger image that `x` is part of: training passes that of the view a patch was cut from), else
        from `x`."""
        if context is None:
            if thumb is None:
                thumb = self.thumbnail(x)
            context = self.encode_context(thumb.to(x.dtype))
        height, width = x.shape[-2:]
        pad_bottom = -height % MULTIPLE_OF
        pad_right = -width % MULTIPLE_OF
        padded = F.pad(x, (0, pad_right, 0, pad_bottom), mode="replicate") if pad_bottom or pad_right else x

        pixels = F.pixel_unshuffle(padded, 4)  # (B, 48, H/4, W/4): every input pixel
        shallow = self.entry_act(self.entry(pixels))  # (B, detail, H/4, W/4)
        shallow = self.encoder(shallow, context)
        body = self.down(F.pixel_unshuffle(shallow, 2))  # (B, body, H/8, W/8)
        body = self.body(body, context)
        body = F.pixel_shuffle(self.up(body), 2)  # (B, detail, H/4, W/4)
        features = self.detail(body + shallow, shallow)
        features = self.decoder(features, context)
        pixel_detail = high_pass(pixels) * torch.sigmoid(self.detail_gate(features))
        correction = self.exit(torch.cat([features, pixel_detail], dim=1))
        restored = padded + F.pixel_shuffle(correction, 4)  # global residual
        return restored[..., :height, :width]
