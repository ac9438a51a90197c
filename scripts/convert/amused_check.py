#!/usr/bin/python3
"""Self-checks of the aMused converter's Python side (the Deno tests check the folders in ONNX
Runtime):

    /usr/bin/python3 scripts/convert/amused_check.py [-v]

safetensors round trips and one-line errors; CLIP token ids against the fixture; --tiny random
pipelines of both layouts (float32 and float16) converted into format-2 folders whose
reference.json matches our modules run on the pipeline's weights; and bad pipelines failing
with one line that names the file. Takes about a minute on two cores.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import amused  # noqa: E402
import clip_tokenizer  # noqa: E402
import safetensors  # noqa: E402

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def run(*args):
    return subprocess.run([PYTHON, *args], cwd=ROOT, capture_output=True, text=True)


def build(out, layout, *extra):
    result = run("scripts/build_amused_random.py", "--layout", str(layout), "--tiny", "--out", out, *extra)
    assert result.returncode == 0, result.stderr
    return out


def convert(pipeline, out, *extra):
    return run("scripts/convert.py", "--family", "amused", "--checkpoint", pipeline, "--out", out, "--no-check", *extra)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write(path, data, mode="wb"):
    with open(path, mode) as f:
        f.write(data)


def strided(t, stride):
    return t.detach().reshape(-1)[::stride]


class Safetensors(unittest.TestCase):
    def test_round_trip_and_errors(self):
        with tempfile.TemporaryDirectory() as work:
            path = os.path.join(work, "a.safetensors")
            tensors = {"w": torch.randn(3, 5), "i": torch.arange(4), "e": torch.zeros(0, 2)}
            for dtype, tolerance in ((None, 0), ("F16", 1e-3), ("BF16", 1e-2)):
                safetensors.save(tensors, path, dtype)
                back = safetensors.load(path)
                self.assertEqual(back["w"].dtype, torch.float32)
                self.assertLessEqual(float((back["w"] - tensors["w"]).abs().max()), tolerance)
                self.assertTrue(torch.equal(back["i"], tensors["i"]))
                self.assertEqual(tuple(back["e"].shape), (0, 2))
            with open(path, "rb") as f:
                data = f.read()
            cases = {"truncated": data[:-2], "not JSON": (5).to_bytes(8, "little") + b"{abc}",
                     "header": (10 ** 6).to_bytes(8, "little"), "short": b"\x01\x02"}
            for name, body in cases.items():
                bad = os.path.join(work, f"{name}.safetensors")
                write(bad, body)
                with self.assertRaises(safetensors.SafetensorsError) as caught:
                    safetensors.load(bad)
                message = str(caught.exception)
                self.assertTrue(message.startswith(bad + ": "), message)
                self.assertNotIn("\n", message)


class Tokenizer(unittest.TestCase):
    def test_known_ids(self):
        vocab, merges = clip_tokenizer.vocab_from_bpe_gz(clip_tokenizer.BPE_GZ)
        self.assertEqual(len(vocab), 49408)
        self.assertEqual((vocab["<|startoftext|>"], vocab["<|endoftext|>"]), (49406, 49407))
        encoder = clip_tokenizer.ClipEncoder(vocab, merges)
        self.assertEqual(encoder.encode("a photo of a cat"), [320, 1125, 539, 320, 2368])
        for known in load_json(clip_tokenizer.KNOWN_IDS):
            self.assertEqual(encoder.encode(known["text"]), known["ids"], known["text"])
        same = clip_tokenizer.encoder_from_tokenizer_json(clip_tokenizer.tokenizer_json(vocab, merges))
        self.assertEqual(same.encode("A Photo of a CAT!"), encoder.encode("a photo of a cat!"))

    def test_runtime_ids(self):
        ids = clip_tokenizer.runtime_ids([5, 6, 7], 6, 1, 2, 0)
        self.assertEqual(ids, [1, 5, 6, 7, 2, 0])
        self.assertEqual(clip_tokenizer.runtime_ids(list(range(10, 20)), 6, 1, 2, 0), [1, 10, 11, 12, 13, 2])
        self.assertEqual(clip_tokenizer.runtime_ids([5], 4, None, 2, 0), [5, 2, 0, 0])


class GeneralWriter(unittest.TestCase):
    """write_text_folder for a model without pooled text or micro-conditions (the emoji model's
    shape), with its own reference ids."""

    def test_no_pooled_no_micro_conds(self):
        import onnx
        from torch import nn

        sys.path.insert(0, os.path.dirname(HERE))
        from model_folder import write_text_folder

        class Text(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(100, 8)

            def forward(self, ids):
                return self.embed(ids)

        class Transformer(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed, self.head = nn.Embedding(17, 8), nn.Linear(8, 16)

            def forward(self, tokens, text):
                return self.head(self.embed(tokens) + text.mean(1, keepdim=True))

        class Decoder(nn.Module):
            def forward(self, tokens):
                return torch.tanh(tokens.float()[:, None].repeat(1, 3, 2, 2) / 16)

        manifest = {"name": "toy", "task": "text-to-image", "grid": 4, "codebookSize": 16, "maskId": 16,
                    "image": {"width": 8, "height": 8, "channels": 3},
                    "text": {"length": 6, "width": 8, "bos": None, "eos": 2, "pad": 0, "null": "zeros"},
                    "defaults": {}, "files": {"transformer": "transformer.onnx", "decoder": "decoder.onnx",
                                              "textEncoder": "text_encoder.onnx", "tokenizer": "tokenizer.json"}}
        with tempfile.TemporaryDirectory() as out:
            ids = [[5, 6, 2, 0, 0, 0], [2, 0, 0, 0, 0, 0]]
            reference = write_text_folder(out, Text(), Transformer(), Decoder(), manifest, {"model": {}},
                                          input_ids=ids)
            self.assertEqual(set(reference["text_encoder"]), {"input_ids", "hidden_states"})
            self.assertEqual(set(reference["transformer"]), {"tokens", "logits"})
            inputs = [i.name for i in onnx.load(os.path.join(out, "transformer.onnx")).graph.input]
            self.assertEqual(inputs, ["tokens", "text", "positions"])
            outputs = [o.name for o in onnx.load(os.path.join(out, "text_encoder.onnx")).graph.output]
            self.assertEqual(outputs, ["hidden_states"])
            written = load_json(os.path.join(out, "model.json"))
            self.assertEqual(written["format"], "halton-maskgit/model@2")
            self.assertEqual(set(written["flops"]), {"transformer", "decoder", "textEncoder", "head"})
            self.assertEqual(reference["text_encoder"]["input_ids"], ids)


class Conversion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work)

    def check_folder(self, pipeline, out, layout):
        manifest = load_json(os.path.join(out, "model.json"))
        grid = 16 if layout == 256 else 32
        self.assertEqual(manifest["format"], "halton-maskgit/model@2")
        self.assertEqual((manifest["grid"], manifest["codebookSize"], manifest["maskId"]), (grid, 256, 319))
        self.assertEqual(manifest["image"], {"width": 16 * grid, "height": 16 * grid, "channels": 3})
        self.assertEqual(manifest["microConds"], [16 * grid, 16 * grid, 0, 0, 6])
        self.assertEqual(manifest["text"], {"length": 77, "width": 16, "pooled": 16, "bos": 49406, "eos": 49407,
                                            "pad": 49407, "null": "empty-prompt"})
        self.assertGreater(manifest["flops"]["head"], 0)  # positions.py found the head
        for name in manifest["files"].values():
            self.assertTrue(os.path.isfile(os.path.join(out, name)), name)
        tokenizer = load_json(os.path.join(out, "tokenizer.json"))
        self.assertIsNone(tokenizer["post_processor"])

        # reference.json is what our modules compute on the pipeline's own weights.
        reference = load_json(os.path.join(out, "reference.json"))
        ids = torch.tensor(reference["text_encoder"]["input_ids"])
        self.assertEqual(ids[0, :5].tolist(), [49406, 320, 736, 3055, 49407])  # "a red apple"
        self.assertEqual(ids[1, :3].tolist(), [49406, 49407, 49407])
        config = lambda part: load_json(os.path.join(pipeline, part, "config.json"))  # noqa: E731
        weights = lambda part, stem: safetensors.load(  # noqa: E731
            next(os.path.join(pipeline, part, f) for f in sorted(os.listdir(os.path.join(pipeline, part)))
                 if f.startswith(stem) and f.endswith(".safetensors")))
        text = amused.ClipTextEncoder(**amused.text_encoder_config(config("text_encoder")))
        text.load_state_dict(weights("text_encoder", "model"))
        transformer = amused.AmusedTransformer(**amused.transformer_config(config("transformer")))
        transformer.load_state_dict(weights("transformer", "diffusion_pytorch_model"))
        decoder = amused.AmusedDecoder(**amused.decoder_config(config("vqvae")))
        decoder.load_state_dict({k: v for k, v in weights("vqvae", "diffusion_pytorch_model").items()
                                 if not amused.decoder_keys_ignored(k)})
        with torch.no_grad():
            hidden, pooled = text.eval()(ids)
            tokens = torch.tensor(reference["transformer"]["tokens"])
            micro = torch.tensor(reference["transformer"]["micro_conds"])
            logits = transformer.eval()(tokens, hidden, pooled, micro)
            image = decoder.eval()(torch.tensor(reference["decoder"]["tokens"]))
        self.assertTrue((tokens == 319).any() and (tokens < 256).any())
        for got, stored in ((hidden, reference["text_encoder"]["hidden_states"]),
                            (pooled, reference["text_encoder"]["pooled"]),
                            (logits, reference["transformer"]["logits"]), (image, reference["decoder"]["image"])):
            values = torch.tensor(stored["values"])
            self.assertEqual(len(values), len(strided(got, stored["stride"])))
            self.assertLessEqual(float((strided(got, stored["stride"]) - values).abs().max()),
                                 1e-5 * float(values.abs().max()))
        self.assertEqual(tuple(logits.shape), (2, grid * grid, 256))
        self.assertEqual(tuple(image.shape), (2, 3, 16 * grid, 16 * grid))

    def test_layouts(self):
        for layout, extra in ((256, []), (512, ["--fp16", "--eos-token-id", "49407"])):
            pipeline = build(os.path.join(self.work, f"pipe-{layout}"), layout, *extra)
            out = os.path.join(self.work, f"model-{layout}")
            result = convert(pipeline, out)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.check_folder(pipeline, out, layout)

    def test_pad_from_tokenizer_files(self):
        pipeline = build(os.path.join(self.work, "pipe-pad"), 256, "--pad", "!")
        out = os.path.join(self.work, "model-pad")
        self.assertEqual(convert(pipeline, out).returncode, 0)
        manifest = load_json(os.path.join(out, "model.json"))
        self.assertEqual(manifest["text"]["pad"], 0)  # "!" is CLIP's token 0
        reference = load_json(os.path.join(out, "reference.json"))
        self.assertEqual(reference["text_encoder"]["input_ids"][1][:4], [49406, 49407, 0, 0])

    def test_bad_pipelines_fail_with_one_line(self):
        source = build(os.path.join(self.work, "pipe-bad"), 256)

        def broken(name, change):
            pipeline = os.path.join(self.work, f"bad-{name}")
            shutil.copytree(source, pipeline)
            return pipeline, change(pipeline)

        def remove(part):
            def change(pipeline):
                os.remove(os.path.join(pipeline, part))
                return os.path.join(pipeline, part)
            return change

        def truncate(pipeline):
            path = os.path.join(pipeline, "transformer", "diffusion_pytorch_model.safetensors")
            with open(path, "rb") as f:
                data = f.read()
            write(path, data[: len(data) // 2])
            return path

        def edit(part, key, value):
            def change(pipeline):
                path = os.path.join(pipeline, part)
                content = load_json(path)
                content[key] = value
                write(path, json.dumps(content), "w")
                return path
            return change

        def garble(pipeline):
            path = os.path.join(pipeline, "text_encoder", "config.json")
            write(path, "{not json", "w")
            return path

        cases = {
            "no-weights": (remove("transformer/diffusion_pytorch_model.safetensors"), "weights not found"),
            "truncated": (truncate, "truncated"),
            "no-vocab": (remove("tokenizer/vocab.json"), "No such file"),
            "codebook": (edit("vqvae/config.json", "num_vq_embeddings", 128), "codes, the transformer predicts 256"),
            "shape": (edit("transformer/config.json", "intermediate_size", 48), "has shape"),
            "pad": (edit("tokenizer/special_tokens_map.json", "pad_token", "<|nope|>"), "is not in vocab.json"),
            "config": (garble, "not JSON"),
            "mask": (edit("scheduler/scheduler_config.json", "mask_token_id", 12), "mask_token_id 12"),
        }
        for name, (change, message) in cases.items():
            with self.subTest(name):
                pipeline, path = broken(name, change)
                result = convert(pipeline, os.path.join(self.work, f"out-{name}"))
                self.assertEqual(result.returncode, 1, result.stderr)
                errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
                self.assertEqual(len(errors), 1, result.stderr)
                self.assertIn(message, errors[0])
                if name in ("no-weights", "truncated", "codebook", "pad", "config", "mask"):
                    self.assertIn(path.replace(".safetensors", ""), errors[0])
        missing = convert(os.path.join(self.work, "nowhere"), os.path.join(self.work, "out-nowhere"))
        self.assertIn("pipeline folder not found", missing.stderr)


if __name__ == "__main__":
    torch.set_num_threads(min(2, len(os.sched_getaffinity(0))))
    unittest.main()
