"""docs/text.md: d2l's text pipeline on The Time Machine, which ships with chainrule (no
download): tokens, the vocabulary, and the two ways of cutting the corpus into minibatches."""
import chainrule as cr
from chainrule import data

# -- the corpus and its vocabulary ---------------------------------------------------------------
corpus, vocab = data.timemachine()
print(f"characters: {len(corpus)}, vocabulary: {len(vocab)}")
print(vocab)
print("most frequent:", vocab.token_freqs[:5])
print("first 30:", repr("".join(vocab.to_tokens(corpus[:30]))))

words, word_vocab = data.timemachine(token="word")
print(f"words: {len(words)}, vocabulary: {len(word_vocab)}; top: {word_vocab.token_freqs[:4]}")
print("vocab[['time', 'traveller', 'zyzzyva']] =", word_vocab[["time", "traveller", "zyzzyva"]])

# -- minibatches: random sampling and sequential partitioning ------------------------------------
tokens = cr.arange(35)  # a token's value is its position, to show where each row comes from
for iterate in (data.seq_data_iter_random, data.seq_data_iter_sequential):
    print(iterate.__name__)
    g = cr.Generator().manual_seed(0)
    for X, Y in iterate(tokens, batch_size=2, num_steps=5, generator=g):
        print("  X:", X.tolist(), " Y:", Y.tolist())

loader, vocab = data.load_data_time_machine(batch_size=32, num_steps=35,
                                            generator=cr.Generator().manual_seed(0))
X, Y = next(iter(loader))
print(f"{loader}: X {tuple(X.shape)} {X.dtype}, {sum(1 for _ in loader)} batches an epoch")
