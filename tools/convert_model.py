#!/usr/bin/env python3
"""Converts a CTranslate2 Whisper model (such as models/tiny.en) into whisper.cpp ggml files and Hugging Face
safetensors checkpoints, written as the real tools write them, so the engine's format loaders can be tested on
the same weights. numpy only:

    tools/.venv/bin/python tools/convert_model.py [--source models/tiny.en] [--out models] [--name tiny.en]

writes, under --out:
  NAME-ggml-f32/ggml-model.bin   whisper.cpp's convert-pt-to-ggml.py without f16 (every tensor f32)
  NAME-ggml-f16/ggml-model.bin   convert-pt-to-ggml.py's default: matrices f16; 1-D tensors, conv biases and
                                  positional embeddings f32
  NAME-ggml-q8_0/ggml-model.bin  whisper.cpp's `quantize` applied to the f16 file: every 2-D tensor but the
  NAME-ggml-q5_0/ggml-model.bin  positional embeddings quantised in blocks of 32 (ggml's reference rounding),
  NAME-ggml-q5_1/ggml-model.bin  conv weights left f16; file type 2000 + ggml ftype (quantisation version 2)
  NAME-hf-f32/, NAME-hf-f16/, NAME-hf-bf16/
                                  transformers' save_pretrained layout: model.safetensors (every tensor in the
                                  one dtype, the tied proj_out left out), config.json (WhisperConfig),
                                  generation_config.json, tokenizer.json

A directory whose files are newer than the source is left alone (idempotent). The ggml directories hold the
weights alone (no tokenizer.json): the loader then works from the file's own vocabulary.

The CTranslate2 converter fuses attention's Q, K, V (and cross-attention's K, V) into one matrix with zeros
for K's bias; this script splits them again and checks that those biases are zero.
"""

import argparse
import json
import os
import shutil
import struct
import sys
from collections import OrderedDict

import numpy as np

CT2_TYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
GGML_MAGIC = 0x67676D6C
GGML_QNT_VERSION = 2
GGML_QNT_VERSION_FACTOR = 1000
# ggml tensor types and the matching file types (ggml_ftype) of a whole model.
GGML_TYPE = {"f32": 0, "f16": 1, "q5_0": 6, "q5_1": 7, "q8_0": 8}
GGML_FTYPE = {"q8_0": 7, "q5_0": 8, "q5_1": 9}
# whisper.cpp's quantize never quantises these.
GGML_QUANTISE_SKIP = {"encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding", "decoder.positional_embedding"}


# --- CTranslate2 -------------------------------------------------------------------------------------------------

def read_ctranslate2(path: str) -> dict:
    """Variables of a CTranslate2 model.bin (version 5-6) as numpy arrays, aliases resolved."""
    with open(path, "rb") as f:
        data = f.read()
    offset = 0

    def take(fmt):
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values

    def string():
        nonlocal offset
        (length,) = take("H")
        text = data[offset:offset + length - 1].decode()
        offset += length
        return text

    (version,) = take("I")
    if version not in (5, 6):
        sys.exit(f"{path}: CTranslate2 binary version {version} is not supported")
    spec = string()
    if spec != "WhisperSpec":
        sys.exit(f"{path}: holds a {spec}, not a Whisper model")
    take("I")  # spec revision
    (count,) = take("I")
    variables = {}
    for _ in range(count):
        name = string()
        (rank,) = take("B")
        shape = take("I" * rank)
        (dtype,) = take("B")
        (size,) = take("I")
        array = np.frombuffer(data, dtype=CT2_TYPES[dtype], count=size // np.dtype(CT2_TYPES[dtype]).itemsize, offset=offset)
        variables[name] = array.reshape(shape)
        offset += size
    (aliases,) = take("I")
    for _ in range(aliases):
        alias, target = string(), string()
        variables[alias] = variables[target]
    return variables


def openai_state_dict(ct2: dict) -> "OrderedDict[str, np.ndarray]":
    """The OpenAI checkpoint's tensors, in its state_dict order (the order convert-pt-to-ggml.py writes)."""
    width = ct2["decoder/embeddings/weight"].shape[1]
    out = OrderedDict()

    def layers(prefix):
        n = 0
        while f"{prefix}/layer_{n}/ffn/linear_0/weight" in ct2:
            n += 1
        return n

    def linear(target, source):
        out[target + ".weight"] = ct2[source + "/weight"]
        if source + "/bias" in ct2:
            out[target + ".bias"] = ct2[source + "/bias"]

    def norm(target, source):
        out[target + ".weight"] = ct2[source + "/gamma"]
        out[target + ".bias"] = ct2[source + "/beta"]

    def split(targets, source):
        weight, bias = ct2[source + "/weight"], ct2[source + "/bias"]
        for index, target in enumerate(targets):
            rows = slice(index * width, (index + 1) * width)
            out[target + ".weight"] = weight[rows]
            if target.endswith(".key"):
                if np.any(bias[rows] != 0):
                    sys.exit(f"{source}: the key bias is not zero; OpenAI's layout has none")
            else:
                out[target + ".bias"] = bias[rows]

    def block(p, s, cross):
        """One residual block, in the order of OpenAI's ResidualAttentionBlock."""
        split([f"{p}.attn.query", f"{p}.attn.key", f"{p}.attn.value"], f"{s}/self_attention/linear_0")
        linear(f"{p}.attn.out", f"{s}/self_attention/linear_1")
        norm(f"{p}.attn_ln", f"{s}/self_attention/layer_norm")
        if cross:
            linear(f"{p}.cross_attn.query", f"{s}/attention/linear_0")
            split([f"{p}.cross_attn.key", f"{p}.cross_attn.value"], f"{s}/attention/linear_1")
            linear(f"{p}.cross_attn.out", f"{s}/attention/linear_2")
            norm(f"{p}.cross_attn_ln", f"{s}/attention/layer_norm")
        linear(f"{p}.mlp.0", f"{s}/ffn/linear_0")
        linear(f"{p}.mlp.2", f"{s}/ffn/linear_1")
        norm(f"{p}.mlp_ln", f"{s}/ffn/layer_norm")

    out["encoder.positional_embedding"] = ct2["encoder/position_encodings/encodings"]
    for conv in ("conv1", "conv2"):
        linear(f"encoder.{conv}", f"encoder/{conv}")
    for i in range(layers("encoder")):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    norm("encoder.ln_post", "encoder/layer_norm")
    out["decoder.positional_embedding"] = ct2["decoder/position_encodings/encodings"]
    out["decoder.token_embedding.weight"] = ct2["decoder/embeddings/weight"]
    for i in range(layers("decoder")):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    norm("decoder.ln", "decoder/layer_norm")
    for name, value in out.items():
        if value.dtype not in (np.float16, np.float32):
            sys.exit(f"{name}: {value.dtype} weights (a quantised CTranslate2 model) cannot be converted; use a float16/float32 one")
    return out


def hyper_parameters(ct2: dict, state: dict) -> dict:
    """OpenAI's ModelDimensions, from the shapes."""
    return {
        "n_mels": state["encoder.conv1.weight"].shape[1],
        "n_vocab": state["decoder.token_embedding.weight"].shape[0],
        "n_audio_ctx": state["encoder.positional_embedding"].shape[0],
        "n_audio_state": state["encoder.positional_embedding"].shape[1],
        "n_audio_head": int(ct2["encoder/num_heads"]),
        "n_audio_layer": sum(1 for k in state if k.startswith("encoder.blocks.") and k.endswith(".mlp_ln.weight")),
        "n_text_ctx": state["decoder.positional_embedding"].shape[0],
        "n_text_state": state["decoder.positional_embedding"].shape[1],
        "n_text_head": int(ct2.get("decoder/num_heads", ct2["encoder/num_heads"])),
        "n_text_layer": sum(1 for k in state if k.startswith("decoder.blocks.") and k.endswith(".mlp_ln.weight")),
    }


def vocabulary(source: str) -> list:
    """Token strings by id, in GPT-2's byte-level alphabet (vocabulary.txt, else tokenizer.json)."""
    path = os.path.join(source, "vocabulary.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        return lines[:-1] if lines and lines[-1] == "" else lines
    with open(os.path.join(source, "tokenizer.json"), encoding="utf-8") as f:
        tokenizer = json.load(f)
    by_id = {i: t for t, i in tokenizer["model"]["vocab"].items()}
    by_id.update({t["id"]: t["content"] for t in tokenizer["added_tokens"]})
    return [by_id.get(i, "") for i in range(max(by_id) + 1)]


def byte_decoder() -> dict:
    """GPT-2's printable character -> byte."""
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    characters, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            characters[chr(byte)] = byte
        else:
            characters[chr(256 + extra)] = byte
            extra += 1
    return characters


# --- ggml --------------------------------------------------------------------------------------------------------

def mel_filters(n_mels: int, sample_rate: int = 16000, n_fft: int = 400) -> np.ndarray:
    """librosa.filters.mel(sr, n_fft, n_mels) (Slaney scale and norm), which Whisper's mel_filters.npz holds."""
    def hz_to_mel(hz):
        hz = np.asanyarray(hz, dtype=np.float64)
        mel = hz / (200.0 / 3)
        log = hz >= 1000.0
        return np.where(log, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)

    def mel_to_hz(mel):
        mel = np.asanyarray(mel, dtype=np.float64)
        hz = mel * (200.0 / 3)
        return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), hz)

    frequencies = np.linspace(0, sample_rate / 2, 1 + n_fft // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, frequencies)
    weights = np.zeros((n_mels, len(frequencies)))
    for i in range(n_mels):
        lower = -ramps[i] / widths[i]
        upper = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:n_mels + 2] - edges[:n_mels]))[:, None]
    return weights.astype(np.float32)


def fp16_bits(values: np.ndarray) -> np.ndarray:
    """GGML_FP32_TO_FP16: round to nearest even."""
    return values.astype(np.float32).astype(np.float16)


def quantise(values: np.ndarray, kind: str) -> bytes:
    """ggml's quantize_row_{q8_0,q5_0,q5_1}_ref over rows of 32-value blocks, in float32 arithmetic as in C."""
    x = values.astype(np.float32).reshape(-1, 32)
    f32 = np.float32
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "q8_0":
            amax = np.abs(x).max(axis=1)
            d = (amax / f32(127)).astype(f32)
            inverse = np.where(d != 0, f32(1) / d, f32(0)).astype(f32)
            scaled = (x * inverse[:, None]).astype(f32)
            # roundf: halves away from zero (exact in float64 for float32 inputs)
            q = (np.sign(scaled) * np.floor(np.abs(scaled).astype(np.float64) + 0.5)).astype(np.int8)
            blocks = np.zeros((len(x), 34), dtype=np.uint8)
            blocks[:, 0:2] = fp16_bits(d).view(np.uint8).reshape(-1, 2)
            blocks[:, 2:] = q.view(np.uint8)
            return blocks.tobytes()
        if kind == "q5_0":
            index = np.abs(x).argmax(axis=1)  # the first value of largest magnitude, with its sign
            peak = x[np.arange(len(x)), index]
            d = (peak / f32(-16)).astype(f32)
            inverse = np.where(d != 0, f32(1) / d, f32(0)).astype(f32)
            levels = np.minimum(31, np.trunc((x * inverse[:, None]).astype(f32) + f32(16.5)).astype(np.int8)).astype(np.uint8)
            minimum = None
        elif kind == "q5_1":
            minimum = x.min(axis=1)
            d = ((x.max(axis=1) - minimum) / f32(31)).astype(f32)
            inverse = np.where(d != 0, f32(1) / d, f32(0)).astype(f32)
            levels = np.trunc(((x - minimum[:, None]) * inverse[:, None]).astype(f32) + f32(0.5)).astype(np.uint8)
        else:
            raise ValueError(kind)
    low, high = levels[:, :16], levels[:, 16:]
    nibbles = (low & 0x0F) | ((high & 0x0F) << 4)
    fifth = ((levels >> 4) & 1).astype(np.uint32)
    bits = (fifth << np.arange(32, dtype=np.uint32)).sum(axis=1, dtype=np.uint32)
    header = [fp16_bits(d).view(np.uint8).reshape(-1, 2)]
    if minimum is not None:
        header.append(fp16_bits(minimum).view(np.uint8).reshape(-1, 2))
    header.append(bits.astype("<u4").view(np.uint8).reshape(-1, 4))
    return np.concatenate(header + [nibbles.astype(np.uint8)], axis=1).tobytes()


def write_ggml(path: str, state: dict, hyper: dict, tokens: list, kind: str) -> None:
    """convert-pt-to-ggml.py (kind f32 or f16), or its f16 output passed through whisper.cpp's quantize."""
    decoder = byte_decoder()
    multilingual = hyper["n_vocab"] >= 51865
    ordinary = tokens[:50257 if multilingual else 50256]
    ftype = {"f32": 0, "f16": 1}.get(kind, GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR + GGML_FTYPE.get(kind, 0))
    filters = mel_filters(hyper["n_mels"])
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(struct.pack("<i", GGML_MAGIC))
        for key in ("n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
                    "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels"):
            f.write(struct.pack("<i", hyper[key]))
        f.write(struct.pack("<i", ftype))
        f.write(struct.pack("<ii", *filters.shape))
        f.write(filters.astype("<f4").tobytes())
        f.write(struct.pack("<i", len(ordinary)))
        for token in ordinary:
            raw = bytes(decoder[c] for c in token)
            f.write(struct.pack("<i", len(raw)))
            f.write(raw)
        for name, value in state.items():
            data = value.squeeze()
            if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                data = data.reshape(data.shape[0], 1)
            small = data.ndim < 2 or name in GGML_QUANTISE_SKIP
            if kind == "f32" or small:
                tensor_type, payload = GGML_TYPE["f32"], data.astype("<f4").tobytes()
            elif kind == "f16" or data.ndim != 2:
                tensor_type, payload = GGML_TYPE["f16"], fp16_bits(data).astype("<f2").tobytes()
            else:
                # quantize reads the f16 file: values pass through float16 first.
                tensor_type, payload = GGML_TYPE[kind], quantise(fp16_bits(data).astype(np.float32), kind)
            encoded = name.encode()
            f.write(struct.pack("<iii", data.ndim, len(encoded), tensor_type))
            f.write(struct.pack("<" + "i" * data.ndim, *reversed(data.shape)))
            f.write(encoded)
            f.write(payload)
    os.replace(temporary, path)


# --- Hugging Face ------------------------------------------------------------------------------------------------

def huggingface_state_dict(state: dict) -> "OrderedDict[str, np.ndarray]":
    """transformers' WhisperForConditionalGeneration names (proj_out is tied to the embedding and not saved)."""
    renames = [
        ("encoder.positional_embedding", "model.encoder.embed_positions.weight"),
        ("decoder.positional_embedding", "model.decoder.embed_positions.weight"),
        ("decoder.token_embedding.weight", "model.decoder.embed_tokens.weight"),
        ("encoder.ln_post.", "model.encoder.layer_norm."),
        ("decoder.ln.", "model.decoder.layer_norm."),
        ("encoder.conv", "model.encoder.conv"),
        ("encoder.blocks.", "model.encoder.layers."),
        ("decoder.blocks.", "model.decoder.layers."),
        (".attn.query.", ".self_attn.q_proj."), (".attn.key.", ".self_attn.k_proj."),
        (".attn.value.", ".self_attn.v_proj."), (".attn.out.", ".self_attn.out_proj."),
        (".cross_attn.query.", ".encoder_attn.q_proj."), (".cross_attn.key.", ".encoder_attn.k_proj."),
        (".cross_attn.value.", ".encoder_attn.v_proj."), (".cross_attn.out.", ".encoder_attn.out_proj."),
        (".attn_ln.", ".self_attn_layer_norm."), (".cross_attn_ln.", ".encoder_attn_layer_norm."),
        (".mlp.0.", ".fc1."), (".mlp.2.", ".fc2."), (".mlp_ln.", ".final_layer_norm."),
    ]
    out = OrderedDict()
    for name, value in state.items():
        renamed = name
        for old, new in renames:
            renamed = renamed.replace(old, new)
        out[renamed] = value
    return out


def bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, round to nearest even (torch's conversion)."""
    bits = values.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def write_safetensors(path: str, tensors: dict, dtype: str) -> None:
    """The safetensors layout: u64 header size, JSON header (__metadata__ first, tensors by name), spaces up to
    8-byte alignment, then the data in header order."""
    encoded = {}
    for name, value in tensors.items():
        if dtype == "F32":
            encoded[name] = value.astype("<f4").tobytes()
        elif dtype == "F16":
            encoded[name] = value.astype(np.float32).astype("<f2").tobytes()
        else:
            encoded[name] = bfloat16_bits(value).astype("<u2").tobytes()
    header = OrderedDict([("__metadata__", {"format": "pt"})])
    offset = 0
    for name in sorted(tensors):
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(encoded[name])]}
        offset += len(encoded[name])
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in sorted(tensors):
            f.write(encoded[name])
    os.replace(temporary, path)


def huggingface_configs(hyper: dict, ffn: int, settings: dict, tokens: list) -> tuple:
    """config.json (WhisperConfig) and generation_config.json as transformers writes them for this model."""
    ids = {t: i for i, t in enumerate(tokens)}
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    multilingual = hyper["n_vocab"] >= 51865
    config = OrderedDict([
        ("_name_or_path", "openai/whisper"), ("activation_dropout", 0.0), ("activation_function", "gelu"),
        ("architectures", ["WhisperForConditionalGeneration"]), ("attention_dropout", 0.0),
        ("begin_suppress_tokens", settings.get("suppress_ids_begin", [220, eot])), ("bos_token_id", eot),
        ("d_model", hyper["n_audio_state"]), ("decoder_attention_heads", hyper["n_text_head"]),
        ("decoder_ffn_dim", ffn), ("decoder_layerdrop", 0.0), ("decoder_layers", hyper["n_text_layer"]),
        ("decoder_start_token_id", sot), ("dropout", 0.0), ("encoder_attention_heads", hyper["n_audio_head"]),
        ("encoder_ffn_dim", ffn), ("encoder_layerdrop", 0.0), ("encoder_layers", hyper["n_audio_layer"]),
        ("eos_token_id", eot), ("init_std", 0.02), ("is_encoder_decoder", True),
        ("max_source_positions", hyper["n_audio_ctx"]), ("max_target_positions", hyper["n_text_ctx"]),
        ("model_type", "whisper"), ("num_hidden_layers", hyper["n_audio_layer"]), ("num_mel_bins", hyper["n_mels"]),
        ("pad_token_id", eot), ("scale_embedding", False), ("torch_dtype", "float32"),
        ("transformers_version", "4.46.0"), ("use_cache", True), ("vocab_size", hyper["n_vocab"]),
    ])
    generation = OrderedDict([
        ("alignment_heads", settings.get("alignment_heads", [])), ("begin_suppress_tokens", config["begin_suppress_tokens"]),
        ("bos_token_id", eot), ("decoder_start_token_id", sot), ("eos_token_id", eot),
        ("is_multilingual", multilingual), ("max_initial_timestamp_index", 50), ("max_length", hyper["n_text_ctx"]),
        ("no_timestamps_token_id", ids["<|notimestamps|>"]), ("pad_token_id", eot),
        ("prev_sot_token_id", ids["<|startofprev|>"]), ("return_timestamps", False),
        ("suppress_tokens", settings.get("suppress_ids", [])), ("transformers_version", "4.46.0"),
    ])
    return config, generation


# --- main --------------------------------------------------------------------------------------------------------

def up_to_date(outputs: list, source_files: list) -> bool:
    newest = max(os.path.getmtime(p) for p in source_files)
    return all(os.path.exists(p) and os.path.getmtime(p) >= newest for p in outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="models/tiny.en", help="CTranslate2 model directory")
    parser.add_argument("--out", default="models", help="where the converted model directories go")
    parser.add_argument("--name", help="prefix of the output directories (default: the source's name)")
    args = parser.parse_args()
    name = args.name or os.path.basename(os.path.normpath(args.source))
    sources = [os.path.join(args.source, f) for f in ("model.bin", "config.json") if os.path.exists(os.path.join(args.source, f))]
    sources.append(os.path.abspath(__file__))

    ggml_kinds = ["f32", "f16", "q8_0", "q5_0", "q5_1"]
    hf_kinds = {"f32": "F32", "f16": "F16", "bf16": "BF16"}
    ggml_paths = {k: os.path.join(args.out, f"{name}-ggml-{k}", "ggml-model.bin") for k in ggml_kinds}
    hf_dirs = {k: os.path.join(args.out, f"{name}-hf-{k}") for k in hf_kinds}
    hf_files = ["model.safetensors", "config.json", "generation_config.json", "tokenizer.json"]
    pending_ggml = [k for k in ggml_kinds if not up_to_date([ggml_paths[k]], sources)]
    pending_hf = [k for k in hf_kinds if not up_to_date([os.path.join(hf_dirs[k], f) for f in hf_files], sources)]
    if not pending_ggml and not pending_hf:
        print(f"model formats: up to date under {args.out}/{name}-*")
        return

    ct2 = read_ctranslate2(os.path.join(args.source, "model.bin"))
    state = openai_state_dict(ct2)
    hyper = hyper_parameters(ct2, state)
    tokens = vocabulary(args.source)
    with open(os.path.join(args.source, "config.json"), encoding="utf-8") as f:
        settings = json.load(f)

    for kind in pending_ggml:
        os.makedirs(os.path.dirname(ggml_paths[kind]), exist_ok=True)
        write_ggml(ggml_paths[kind], state, hyper, tokens, kind)
        print(f"wrote {ggml_paths[kind]} ({os.path.getsize(ggml_paths[kind]) / 1e6:.1f} MB)")

    hf_state = huggingface_state_dict(state)
    config, generation = huggingface_configs(hyper, state["encoder.blocks.0.mlp.0.weight"].shape[0], settings, tokens)
    for kind in pending_hf:
        directory = hf_dirs[kind]
        os.makedirs(directory, exist_ok=True)
        write_safetensors(os.path.join(directory, "model.safetensors"), hf_state, hf_kinds[kind])
        kind_config = dict(config, torch_dtype={"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[kind])
        for file_name, content in (("config.json", kind_config), ("generation_config.json", generation)):
            with open(os.path.join(directory, file_name), "w", encoding="utf-8") as f:
                json.dump(content, f, indent=2)
                f.write("\n")
        shutil.copyfile(os.path.join(args.source, "tokenizer.json"), os.path.join(directory, "tokenizer.json"))
        print(f"wrote {directory}/ ({os.path.getsize(os.path.join(directory, 'model.safetensors')) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
