"""nanoGPT's character-level GPT trained by chainrule (its Trainer, as `chainrule train --model gpt`
trains it) and by PyTorch (nanoGPT's model.py, flash attention included) with the same setup:
the same initial weights (chainrule's, copied into PyTorch), the same random batches, AdamW with
nanoGPT's decay groups, warmup and cosine schedule, clipping at norm 1. Prints both validation
losses on the whole held-out text, cut into non-overlapping blocks.

    python docs/examples/lm_compare_gpt.py                 # 20 iterations on The Time Machine
    python docs/examples/lm_compare_gpt.py --dataset shakespeare_char \\
        --data-dir ../shared/datasets/tinyshakespeare --iters 2000   # nanoGPT's CPU example

nanoGPT's CPU example: python train.py config/train_shakespeare_char.py --device=cpu
--compile=False --eval_iters=20 --log_interval=1 --block_size=64 --batch_size=12 --n_layer=4
--n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0
"""
import argparse
import math
import time

import numpy as np

import chainrule as cr
from chainrule.train import TrainConfig, Trainer
from chainrule.train.language import make_loader

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ImportError:
    torch = None


def torch_gpt(c):
    """nanoGPT's model.py, trimmed to what training uses."""
    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias)
            self.c_proj = nn.Linear(c.n_embd, c.n_embd, bias=c.bias)

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(c.n_embd, dim=2)
            q, k, v = (t.view(B, T, c.n_head, C // c.n_head).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0,
                                               is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias)

        def forward(self, x):
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(c.n_embd, bias=c.bias)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(c.n_embd, bias=c.bias)
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(c.vocab_size, c.n_embd),
                wpe=nn.Embedding(c.block_size, c.n_embd),
                h=nn.ModuleList([Block() for _ in range(c.n_layer)]),
                ln_f=nn.LayerNorm(c.n_embd, bias=c.bias)))
            self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight

        def forward(self, idx, targets):
            t = self.transformer
            x = t.wte(idx) + t.wpe(torch.arange(idx.size(1)))
            for block in t.h:
                x = block(x)
            logits = self.lm_head(t.ln_f(x))
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)

    return GPT()


def held_out(trainer):
    return [(x.numpy(), y.numpy()) for x, y, _ in trainer.task._held_out(trainer.train_data, 64)]


def train_torch(trainer, initial, batches):
    from chainrule.train.trainer import scheduled_lr
    config = trainer.config
    model = torch_gpt(trainer.model.config)
    # strict: the tied weight is listed under both of its names, as in nanoGPT's own state dict
    model.load_state_dict({k: torch.from_numpy(v) for k, v in initial.items()})
    params = [p for p in model.parameters()]
    optimizer = torch.optim.AdamW(
        [{"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
         {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
        lr=config.lr, betas=(0.9, config.beta2))
    start = time.perf_counter()
    for step, (x, y) in enumerate(batches):
        for group in optimizer.param_groups:
            group["lr"] = scheduled_lr(config, step, len(batches))
        loss = model(torch.from_numpy(x), torch.from_numpy(y))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad_norm)
        optimizer.step()
    seconds = time.perf_counter() - start
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in held_out(trainer):
            total += model(torch.from_numpy(x), torch.from_numpy(y)).item() * y.size
            count += y.size
    return total / count, loss.item(), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="timemachine",
                        choices=("timemachine", "shakespeare_char"))
    parser.add_argument("--data-dir")
    parser.add_argument("--iters", type=int, default=20)
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(1)
    steps = min(args.iters, 250)
    config = TrainConfig.language_model("gpt", dataset=args.dataset, steps_per_epoch=steps,
                                        epochs=math.ceil(args.iters / steps))
    print("nanoGPT's CPU setup: block 64, batch 12, 4 layers, 4 heads, width 128, no dropout, "
          "no biases, AdamW lr 1e-3 (betas 0.9, 0.99; weight decay 0.1 on matrices), 100 warmup "
          "steps then cosine to 1e-4, clipping at 1, seed 0, float32")
    trainer = Trainer(config, data_dir=args.data_dir, progress=False, log=None)
    initial = {k: v.numpy().copy() for k, v in trainer.model.state_dict().items()}
    loader = make_loader(trainer.train_data, config, cr.Generator().manual_seed(config.seed))
    batches = [(x.numpy(), y.numpy()) for _ in range(config.epochs) for x, y in loader]
    start = time.perf_counter()
    history = trainer.fit()
    seconds = time.perf_counter() - start
    ours = history[-1].test_loss
    print(f"{trainer.train_data.name}, {trainer.step} iterations: chainrule val loss {ours:.4f} "
          f"({seconds:.0f}s with {config.epochs} evaluations)", end="")
    if torch is None:
        print("; PyTorch is not installed")
        return
    theirs, last_batch, torch_seconds = train_torch(trainer, initial, batches)
    print(f"; PyTorch {theirs:.4f} ({torch_seconds:.0f}s without evaluations); difference "
          f"{ours - theirs:+.4f}")
    assert np.isfinite(ours) and np.isfinite(theirs)


if __name__ == "__main__":
    main()
