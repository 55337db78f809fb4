"""Tiny random-weight pipelines of each supported family, built offline.

They use the same classes as the production models, only with tiny configs (the way
diffusers' own tests build them), so the real `from_pretrained` and inference path runs in
tests and on a fresh machine without downloading anything. Their output is noise.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

# Seeded so that two builds of the same family give the same weights (and the same clips).
BUILD_SEED = 0
# T5-style special tokens; the text encoders' configs expect pad=0 and eos=1.
PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
TEXT_DIM = 32

# A few sentences for the tokenizer to learn merges from; byte-level BPE can still encode
# any text, these only make common words cheaper.
_CORPUS = [
    "a cat surfing a wave at sunset, cinematic, slow motion",
    "a red fox running through snow in the forest",
    "city street at night with neon lights and rain",
    "an astronaut dancing on the moon, wide shot",
    "a drone shot over mountains and a blue lake",
    "close up of coffee being poured into a cup",
    "blurry, low quality, distorted, watermark, text",
    "the quick brown fox jumps over the lazy dog",
]


def build_tokenizer(vocab_size: int = 320) -> Any:
    """Train a byte-level BPE tokenizer on a few sentences and wrap it for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, EOS, UNK],  # in this order so the ids are 0, 1, 2
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS, trainer=trainer)
    # The pipelines call the tokenizer with add_special_tokens=True and expect T5's "... </s>".
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"$A {EOS}", special_tokens=[(EOS, tokenizer.token_to_id(EOS))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD,
        eos_token=EOS,
        unk_token=UNK,
        model_max_length=512,
    )


def _text_encoder(kind: str, vocab_size: int) -> Any:
    """A 2-layer T5-family encoder whose width matches the transformers' text input."""
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    common: dict[str, Any] = {
        "vocab_size": vocab_size,
        "d_model": TEXT_DIM,
        "d_kv": 8,
        "d_ff": 37,
        "num_layers": 2,
        "num_heads": 4,
        "relative_attention_num_buckets": 8,
        "pad_token_id": 0,
        "eos_token_id": 1,
    }
    if kind == "umt5":
        return UMT5EncoderModel(UMT5Config(**common))
    return T5EncoderModel(T5Config(**common))


def build_tiny_wan() -> Any:
    """A WanPipeline (Wan 2.1 layout) with a 2-layer, 2-head transformer."""
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanPipeline,
        WanTransformer3DModel,
    )

    torch.manual_seed(BUILD_SEED)
    # Same compression as the real Wan VAE (8x spatial, 4x temporal), so fit() rounds alike.
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )
    torch.manual_seed(BUILD_SEED)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=TEXT_DIM,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )
    tokenizer = build_tokenizer()
    torch.manual_seed(BUILD_SEED)
    text_encoder = _text_encoder("umt5", len(tokenizer))
    return WanPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
    )


def build_tiny_ltx() -> Any:
    """An LTXPipeline with a 2-layer transformer and a 4x-compressing VAE."""
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )

    torch.manual_seed(BUILD_SEED)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=2,  # first-block cache needs a first block and at least one more
        caption_channels=TEXT_DIM,
    )
    torch.manual_seed(BUILD_SEED)
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    tokenizer = build_tokenizer()
    torch.manual_seed(BUILD_SEED)
    text_encoder = _text_encoder("t5", len(tokenizer))
    return LTXPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
    )


BUILDERS: dict[str, Callable[[], Any]] = {"wan": build_tiny_wan, "ltx": build_tiny_ltx}


def build_tiny_model(family: str, path: Path) -> None:
    """Build the tiny pipeline of `family` and save it to `path`, replacing what is there."""
    try:
        builder = BUILDERS[family]
    except KeyError:
        raise ValueError(f"no tiny builder for family {family!r}") from None
    pipe = builder()
    # Written beside the target and moved into place, so a crash never leaves half a model
    # that the loader would then trip over.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    pipe.save_pretrained(str(partial))
    shutil.rmtree(path, ignore_errors=True)
    partial.rename(path)


def size_on_disk(path: Path) -> int:
    """Bytes taken by the files under `path`."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
