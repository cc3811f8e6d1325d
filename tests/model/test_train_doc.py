"""Docstring-model training: BERT masking, batching, and a tiny MLM -> fine-tune run end to end."""
import json

import pytest
import torch

from model.seq2seq import load_seq2seq
from model.tokenizer import SPECIAL_TOKENS, train_tokenizer
from model.train_doc import (
    ENCODER_PARTS,
    DocTrainConfig,
    collate,
    encode_pairs,
    init_model,
    length_batches,
    mask_tokens,
    train_doc,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

VOCAB, MASK_ID, N_SPECIAL = 1000, 5, len(SPECIAL_TOKENS)


def test_masking_chooses_15_percent_of_ordinary_tokens_then_80_10_10():
    ids = torch.randint(N_SPECIAL, VOCAB, (64, 256), generator=torch.Generator().manual_seed(0))
    ids[:, ::16] = 3  # <eos>: a special token is never chosen
    inputs, labels = mask_tokens(ids, torch.Generator().manual_seed(1), VOCAB, MASK_ID, N_SPECIAL, rate=0.15)
    chosen = labels != -100
    ordinary = ids >= N_SPECIAL
    assert not chosen[~ordinary].any()
    assert abs(chosen.sum().item() / ordinary.sum().item() - 0.15) < 0.01
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(inputs[~chosen], ids[~chosen])  # unchosen tokens are untouched
    n = chosen.sum().item()
    masked = (inputs[chosen] == MASK_ID).sum().item() / n
    kept = (inputs[chosen] == ids[chosen]).sum().item() / n
    randomized = 1 - masked - kept
    assert abs(masked - 0.8) < 0.02 and abs(kept - 0.1) < 0.02 and abs(randomized - 0.1) < 0.02
    assert (inputs[chosen & (inputs != MASK_ID)] >= N_SPECIAL).all()  # random replacements are ordinary tokens


def test_masking_is_reproducible_from_the_seed():
    ids = torch.randint(N_SPECIAL, VOCAB, (4, 32), generator=torch.Generator().manual_seed(0))
    a = mask_tokens(ids, torch.Generator().manual_seed(7), VOCAB, MASK_ID, N_SPECIAL)
    b = mask_tokens(ids, torch.Generator().manual_seed(7), VOCAB, MASK_ID, N_SPECIAL)
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_encode_pairs_reads_the_context_header_and_plain_code_without_one():
    from lsp_server.doc_format import doc_source

    class Tok:
        def token_to_id(self, name):
            return {"<docstring>": 1, "<eos>": 2}[name]

        def encode_batch(self, texts, add_special_tokens=False):
            self.texts += list(texts)
            return [type("E", (), {"ids": [ord(c) for c in t]})() for t in texts]

    tok = Tok()
    tok.texts = []
    pairs = [{"code": "def f():\n    pass\n", "summary": "Do it.", "class_name": "A", "neighbours": ["Do that."]},
             {"code": "def g():\n    pass\n", "summary": "Do it."}]
    encode_pairs(pairs, tok, 1000, 64)
    assert tok.texts[:2] == [doc_source("def f():\n    pass\n", "A", ["Do that."]), "def g():\n    pass\n"]


def test_collate_pads_masks_and_shifts_the_target():
    batch = collate([([10, 11, 12], [7, 20, 21, 3]), ([13], [7, 22, 3])], pad=4)
    assert batch["src"].tolist() == [[10, 11, 12], [13, 4, 4]]
    assert batch["src_mask"].tolist() == [[True, True, True], [True, False, False]]
    assert batch["tgt_in"].tolist() == [[7, 20, 21], [7, 22, 3]]  # starts with <docstring>
    assert batch["labels"].tolist() == [[20, 21, 3], [22, 3, -100]]  # padding is ignored


def test_length_batches_cover_every_item_once_with_similar_lengths():
    items = [([0] * n, [1]) for n in range(1, 101)]
    batches = length_batches(items, 10, None)
    assert sorted(len(s) for b in batches for s, _ in b) == list(range(1, 101))
    assert all(max(len(s) for s, _ in b) - min(len(s) for s, _ in b) == 9 for b in batches)


@pytest.fixture(scope="module")
def work(tmp_path_factory, stdlib_texts):
    """A corpus (email/ code for train, json/ for val) and a 512-token tokenizer."""
    root = tmp_path_factory.mktemp("doc")
    texts = stdlib_texts
    (root / "corpus").mkdir()
    for split, part in (("train", texts[len(texts) // 3:]), ("val", texts[:len(texts) // 3])):
        rows = [json.dumps({"path": f"{split}{i}.py", "text": t}) for i, t in enumerate(part)]
        (root / "corpus" / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    train_tokenizer(texts, vocab_size=512).save(str(root / "tokenizer.json"))
    return root


def _cfg(work, stage, out, **kw) -> DocTrainConfig:
    return DocTrainConfig.from_preset("tiny", stage=stage, corpus=str(work / "corpus"), out=str(work / out),
                                      tokenizer=str(work / "tokenizer.json"), threads=1, **kw)


@pytest.fixture(scope="module")
def mlm_run(work):
    summary = train_doc(_cfg(work, "mlm", "mlm"), log=lambda _: None)
    return work / "mlm", summary


def test_mlm_stage_writes_a_seq2seq_checkpoint_and_summary(mlm_run):
    out, summary = mlm_run
    model = load_seq2seq(out / "final")
    assert model.cfg.arch == "seq2seq" and model.cfg.n_encoder_layers == 2
    saved = json.loads((out / "train_summary.json").read_text())
    assert saved["stage"] == "mlm" and saved["steps"] == 6 and saved["tokens"] == 6 * 4 * 64
    assert [h["step"] for h in saved["history"]] == [3, 6, 6]
    assert all(h["val_loss"] == h["val_loss"] for h in saved["history"])  # no NaN
    assert (out / "ckpt" / "optimizer.safetensors").exists()


def test_finetune_starts_from_the_mlm_encoder_and_a_seed_only_decoder(work, mlm_run):
    mlm = load_seq2seq(mlm_run[0] / "final").state_dict()
    from_mlm = init_model(_cfg(work, "finetune", "a", init_encoder=str(mlm_run[0] / "final")), 512).state_dict()
    scratch = init_model(_cfg(work, "finetune", "b"), 512).state_dict()
    encoder_keys = [k for k in mlm if k.startswith(ENCODER_PARTS)]
    assert encoder_keys and all(torch.equal(from_mlm[k], mlm[k]) for k in encoder_keys)
    assert not torch.equal(scratch["embed.weight"], mlm["embed.weight"])
    decoder_keys = [k for k in mlm if not k.startswith(ENCODER_PARTS)]
    assert all(torch.equal(from_mlm[k], scratch[k]) for k in decoder_keys)


def test_finetune_run_writes_a_loadable_checkpoint_and_pair_counts(work, mlm_run):
    summary = train_doc(_cfg(work, "finetune", "a", init_encoder=str(mlm_run[0] / "final")), log=lambda _: None)
    model = load_seq2seq(work / "a" / "final")
    assert summary["steps"] == 6 and summary["pairs"]["train"]["kept"] > 50 and summary["pairs"]["val"]["kept"] > 10
    assert summary["val_loss"] < 7.0  # below uniform over 512 tokens (6.24 nats) plus slack
    assert summary["source_format"] == "context-v1" and "package_capped" in summary["pairs"]["train"]
    src = torch.tensor([[100, 101, 102]])
    logits, _ = model.decode(torch.tensor([[7]]), model.cross_kv(model.encode(src)), last_only=True)
    assert logits.shape == (1, 512)


def test_init_encoder_with_other_sizes_is_refused(work, mlm_run):
    cfg = _cfg(work, "finetune", "c", init_encoder=str(mlm_run[0] / "final"), model={"d_model": 32})
    with pytest.raises(ValueError, match="same preset"):
        init_model(cfg, 512)


def test_cli_train_doc_runs_the_finetune_stage(work, mlm_run, capsys):
    from quill.cli import main
    args = ["train-doc", "--stage", "finetune", "--preset", "tiny", "--corpus", str(work / "corpus"),
            "--tokenizer", str(work / "tokenizer.json"), "--out", str(work / "cli"), "--threads", "1",
            "--init-encoder", str(mlm_run[0] / "final"), "--max-steps", "2", "--label-smoothing", "0"]
    assert main(args) == 0
    assert '"steps": 2' in capsys.readouterr().out  # the summary is printed
    summary = json.loads((work / "cli" / "train_summary.json").read_text())
    assert summary["steps"] == 2 and summary["train_config"]["label_smoothing"] == 0.0
    assert summary["init_encoder"].endswith("final") and (work / "cli" / "loss_curves.png").exists()
