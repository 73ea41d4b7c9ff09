package dev.kindling.models;

import dev.kindling.autograd.Checkpoint;
import dev.kindling.nn.Dropout;
import dev.kindling.nn.Embedding;
import dev.kindling.nn.Functional;
import dev.kindling.nn.LayerNorm;
import dev.kindling.nn.Module;
import dev.kindling.tensor.ActivationArena;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A GPT language model as in nanoGPT, with Hugging Face GPT-2 weight names ({@code transformer.wte.weight},
 * {@code transformer.h.0.attn.c_attn.weight}, ...) and layouts (Conv1D weights [in, out]), so GPT-2
 * safetensors load and our checkpoints load in PyTorch. The lm head is tied to the token embedding.
 * <p>Shape: ids [B, T] (INT64) → logits [B, T, vocab].
 */
public class Gpt extends Module {
    public final GptConfig config;
    final Transformer transformer;
    private boolean checkpointActivations;
    /** Batch-1 decoding on float arrays and a thread team, made at the first such step; null until then. */
    GptDecoder decoder; // package-private: tests check which path a step took
    private boolean noDecoder;
    /** Layer norm epsilon (GPT-2's). */
    static final double LN_EPS = 1e-5;

    /** The "transformer" submodule (name kept for HF compatibility). */
    static final class Transformer extends Module {
        /** Token (also the tied lm head) and position embeddings: trainable Embedding weights or frozen tables. */
        final WeightMatrix wte, wpe;
        final Dropout drop;
        final List<Block> h = new ArrayList<>();
        final LayerNorm lnF;

        Transformer(GptConfig c, Generator g, WeightSource src) {
            if (src == null) {
                Embedding tok = register("wte", new Embedding(c.vocabSize(), c.nEmbd(), g));
                Embedding pos = register("wpe", new Embedding(c.blockSize(), c.nEmbd(), g));
                dev.kindling.nn.Init.normal(tok.weight, 0, 0.02, g);
                dev.kindling.nn.Init.normal(pos.weight, 0, 0.02, g);
                wte = WeightMatrix.ofFloats(tok.weight);
                wpe = WeightMatrix.ofFloats(pos.weight);
            } else {
                wte = register("wte", new WeightTable(src.matrix("wte.weight", c.vocabSize(), c.nEmbd()), "wte")).w;
                wpe = register("wpe", new WeightTable(src.matrix("wpe.weight", c.blockSize(), c.nEmbd()), "wpe")).w;
            }
            drop = register("drop", new Dropout(c.dropout()));
            HList list = register("h", new HList());
            for (int i = 0; i < c.nLayer(); i++) h.add(list.add(new Block(c, g, src, "h." + i + ".")));
            lnF = register("ln_f", norm(c, src, "ln_f"));
        }

        @Override
        public Tensor forward(Tensor x) {
            throw new IllegalStateException("Gpt.Transformer is driven by Gpt.forward");
        }
    }

    /** The "h" list of blocks, named 0..n-1. */
    static final class HList extends Module {
        private int n;

        Block add(Block b) {
            return register(Integer.toString(n++), b);
        }

        @Override
        public Tensor forward(Tensor x) {
            throw new IllegalStateException("Gpt.HList is driven by Gpt.forward");
        }
    }

    /** Pre-LayerNorm block: x + attn(ln_1(x)), then + mlp(ln_2(x)). */
    static final class Block extends Module {
        final LayerNorm ln1, ln2;
        final CausalSelfAttention attn;
        final Mlp mlp;

        Block(GptConfig c, Generator g, WeightSource src, String p) {
            ln1 = register("ln_1", norm(c, src, p + "ln_1"));
            attn = register("attn", new CausalSelfAttention(c, g, src, p + "attn."));
            ln2 = register("ln_2", norm(c, src, p + "ln_2"));
            mlp = register("mlp", new Mlp(c, g, src, p + "mlp."));
        }

        Tensor forward(Tensor x, KVCache cache, int layer) {
            x = x.add(attn.forward(ln1.forward(x), cache, layer));
            return x.add(mlp.forward(ln2.forward(x)));
        }

        /** One position per row, row b continuing caches[b]. */
        Tensor step(Tensor x, KVCache[] caches, int layer) {
            x = x.add(attn.step(ln1.forward(x), caches, layer));
            return x.add(mlp.forward(ln2.forward(x)));
        }

        @Override
        public Tensor forward(Tensor x) {
            return forward(x, null, 0);
        }
    }

    /** Multi-head causal self-attention with one packed q/k/v projection (c_attn) and an output projection (c_proj). */
    static final class CausalSelfAttention extends Module {
        final Conv1D cAttn, cProj;
        final Dropout residDrop;
        final int nHead, nEmbd;

        CausalSelfAttention(GptConfig c, Generator g, WeightSource src, String p) {
            nHead = c.nHead();
            nEmbd = c.nEmbd();
            cAttn = register("c_attn", conv(c, g, src, p + "c_attn", c.nEmbd(), 3 * c.nEmbd(), 0.02));
            // GPT-2 scales the residual projections' init by 1/sqrt(2 * n_layer)
            cProj = register("c_proj", conv(c, g, src, p + "c_proj", c.nEmbd(), c.nEmbd(), 0.02 / Math.sqrt(2 * c.nLayer())));
            residDrop = register("resid_dropout", new Dropout(c.dropout()));
        }

        Tensor forward(Tensor x, KVCache cache, int layer) {
            if (cache == null) // training and full recomputes: the heads are read in place from c_attn's output
                return residDrop.forward(cProj.forward(Functional.causalSelfAttention(cAttn.forward(x), nHead))); // (B, T, C)
            int b = x.size(0), t = x.size(1), hs = nEmbd / nHead;
            var qkv = cAttn.forward(x).split(nEmbd, 2);                       // 3 x (B, T, C)
            Tensor q = qkv.get(0).view(b, t, nHead, hs).transpose(1, 2);      // (B, nh, T, hs)
            Tensor k = qkv.get(1).view(b, t, nHead, hs).transpose(1, 2);
            Tensor v = qkv.get(2).view(b, t, nHead, hs).transpose(1, 2);
            if (cache != null) {
                Tensor[] kv = cache.append(layer, k, v);                      // (B, nh, past + T, hs)
                k = kv[0];
                v = kv[1];
            }
            Tensor y = Functional.scaledDotProductAttention(q, k, v, null, true); // (B, nh, T, hs)
            y = y.transpose(1, 2).reshape(b, t, nEmbd);                       // (B, T, C)
            return residDrop.forward(cProj.forward(y));
        }

        /**
         * x (B, 1, C), one new position per row: the projections run batched, attention runs per row over that
         * row's own cached prefix (the rows have different lengths, so they cannot share one attention call).
         */
        Tensor step(Tensor x, KVCache[] caches, int layer) {
            int b = x.size(0), hs = nEmbd / nHead;
            var qkv = cAttn.forward(x).split(nEmbd, 2);                       // 3 x (B, 1, C)
            Tensor q = qkv.get(0).view(b, 1, nHead, hs).transpose(1, 2);      // (B, nh, 1, hs)
            Tensor k = qkv.get(1).view(b, 1, nHead, hs).transpose(1, 2);
            Tensor v = qkv.get(2).view(b, 1, nHead, hs).transpose(1, 2);
            List<Tensor> rows = new ArrayList<>(b);
            for (int i = 0; i < b; i++) {
                Tensor[] kv = caches[i].append(layer, k.narrow(0, i, 1), v.narrow(0, i, 1)); // (1, nh, len + 1, hs)
                rows.add(Functional.scaledDotProductAttention(q.narrow(0, i, 1), kv[0], kv[1], null, true)); // (1, nh, 1, hs)
            }
            Tensor y = Tensor.cat(rows, 0).transpose(1, 2).reshape(b, 1, nEmbd); // (B, 1, C)
            return residDrop.forward(cProj.forward(y));
        }

        @Override
        public Tensor forward(Tensor x) {
            return forward(x, null, 0);
        }
    }

    /** The feed-forward part: c_fc (C → 4C), GELU (tanh form, GPT-2's gelu_new), c_proj (4C → C), dropout. */
    static final class Mlp extends Module {
        final Conv1D cFc, cProj;
        final Dropout drop;

        Mlp(GptConfig c, Generator g, WeightSource src, String p) {
            cFc = register("c_fc", conv(c, g, src, p + "c_fc", c.nEmbd(), 4 * c.nEmbd(), 0.02));
            cProj = register("c_proj", conv(c, g, src, p + "c_proj", 4 * c.nEmbd(), c.nEmbd(), 0.02 / Math.sqrt(2 * c.nLayer())));
            drop = register("dropout", new Dropout(c.dropout()));
        }

        @Override
        public Tensor forward(Tensor x) {
            return drop.forward(cProj.forward(cFc.forward(x).geluTanh()));
        }
    }

    public Gpt(GptConfig config, Generator g) {
        this.config = config;
        transformer = register("transformer", new Transformer(config, g, null));
    }

    /**
     * A model for inference over pretrained weights ({@link AutoModel}): matrices as {@code src} gives them (FLOAT32,
     * half precision or quantized), frozen when they are not FLOAT32; norms and biases FLOAT32.
     */
    Gpt(GptConfig config, WeightSource src) {
        this.config = config;
        try (var noGrad = dev.kindling.autograd.Grad.disabled()) {
            transformer = register("transformer", new Transformer(config, null, src));
        }
        if (src.frozen()) for (Tensor p : parameters()) p.requiresGrad(false);
        eval();
    }

    /** A Conv1D initialised for training ({@code src} null) or loaded as [out, in] from {@code src}. */
    private static Conv1D conv(GptConfig c, Generator g, WeightSource src, String name, int in, int out, double std) {
        if (src == null) return new Conv1D(in, out, c.bias(), std, g);
        return new Conv1D(src.transposedMatrix(name + ".weight", in, out), c.bias() ? src.floats(name + ".bias", out) : null);
    }

    /** A LayerNorm over n_embd, with its weights from {@code src} when given. */
    private static LayerNorm norm(GptConfig c, WeightSource src, String name) {
        LayerNorm ln = new LayerNorm(new int[] {c.nEmbd()}, LN_EPS, c.bias());
        if (src != null) {
            ln.weight.copyFrom(src.floats(name + ".weight", c.nEmbd()));
            if (c.bias()) ln.bias.copyFrom(src.floats(name + ".bias", c.nEmbd()));
        }
        return ln;
    }

    /** Bytes of weights read to decode one token: every block's matrices and the lm head (one embedding row aside). */
    public long weightBytesPerToken() {
        long n = transformer.wte.byteSize();
        for (Block b : transformer.h)
            n += b.attn.cAttn.weightBytes() + b.attn.cProj.weightBytes() + b.mlp.cFc.weightBytes() + b.mlp.cProj.weightBytes();
        return n;
    }

    /** Logits for every position of ids [B, T]. */
    @Override
    public Tensor forward(Tensor ids) {
        return forward(ids, null);
    }

    /**
     * Logits [B, T, vocab] for ids [B, T]; with a cache, the ids continue the cached positions and their
     * keys/values are appended.
     */
    public Tensor forward(Tensor ids, KVCache cache) {
        int past = checkPositions(ids, cache);
        int b = ids.size(0), t = ids.size(1);
        if (b == 1 && t == 1 && cache != null && cache.batch() == 1) {
            GptDecoder d = decoder();
            if (d != null) return d.step(ids.toLongArray()[0], cache);
        }
        // training: the step's activations are reused by the next step's forward once backward has consumed them
        if (cache == null) return ActivationArena.run(() -> logits(ids, null, 0, false));
        return logits(ids, cache, past, false);
    }

    /**
     * Logits [B, vocab] for the token after ids [B, T]: the same forward as {@link #forward(Tensor, KVCache)}
     * (with a cache, the ids continue it and are appended), but the final norm and the lm head run on the last
     * position only, as nanoGPT's and PyTorch generation loops do. For GPT-2 small the tied head is a third of a
     * position's multiply-adds, so a prompt runs about 1.4x faster; the last row equals forward's last position.
     */
    public Tensor nextTokenLogits(Tensor ids, KVCache cache) {
        int past = checkPositions(ids, cache);
        int b = ids.size(0), t = ids.size(1);
        if (t == 0) throw new IllegalArgumentException("Gpt.nextTokenLogits: ids [" + b + ", 0] have no last position");
        if (t == 1 && cache != null) return forward(ids, cache).view(b, config.vocabSize()); // the decoder's path
        return logits(ids, cache, past, true);
    }

    /** The cached length, after checking that ids are [B, T] and that T more positions fit the block size. */
    private int checkPositions(Tensor ids, KVCache cache) {
        if (ids.dim() != 2) throw new IllegalArgumentException("Gpt: ids must be [B, T], got shape " + java.util.Arrays.toString(ids.shape()));
        int past = cache == null ? 0 : cache.length(), t = ids.size(1);
        if (past + t > config.blockSize())
            throw new IllegalArgumentException("Gpt: " + (past + t) + " positions exceed the block size " + config.blockSize());
        return past;
    }

    /**
     * The forward itself, with the lm head on every position or ({@code lastOnly}) the last: it keeps no intermediate
     * tensor (see {@link ActivationArena}).
     */
    private Tensor logits(Tensor ids, KVCache cache, int past, boolean lastOnly) {
        int t = ids.size(1);
        long[] pos = new long[t];
        for (int i = 0; i < t; i++) pos[i] = past + i;
        Tensor tok = transformer.wte.lookup(ids, "wte");                                    // (B, T, C)
        Tensor posEmb = transformer.wpe.lookup(Tensor.wrapLongs(pos, t), "wpe");            // (T, C)
        Tensor x = transformer.drop.forward(tok.add(posEmb));
        for (int l = 0; l < transformer.h.size(); l++) {
            Block block = transformer.h.get(l);
            int layer = l;
            x = checkpointActivations && cache == null
                    ? Checkpoint.checkpoint(in -> block.forward(in[0], null, layer), x)
                    : block.forward(x, cache, l);
        }
        if (cache != null) cache.advance(t);
        if (lastOnly) x = x.select(1, t - 1).contiguous();                                  // (B, C)
        x = transformer.lnF.forward(x);
        return transformer.wte.linear(x, null);                                            // (B, [T,] vocab), tied head
    }

    /**
     * One decoding step for {@code ids.length} independent sequences (continuous batching): row b's id is the
     * next token of the sequence whose keys and values are in {@code caches[b]}, a batch-1 cache of its own length,
     * and is appended there. The embeddings, projections and MLPs of all rows run as one batched forward; only
     * attention runs per row, over that row's prefix. Rows may join and leave between steps. Equals decoding each
     * sequence alone with {@link #forward(Tensor, KVCache)}.
     *
     * @return logits [B, vocab]
     * @throws IllegalArgumentException if the counts differ, a cache is not batch-1, a cache appears twice, or a
     *     sequence would pass its cache's capacity (each named by row)
     */
    public Tensor step(long[] ids, KVCache[] caches) {
        int b = ids.length;
        if (caches.length != b)
            throw new IllegalArgumentException("Gpt.step: " + b + " ids but " + caches.length + " caches");
        if (b == 0) throw new IllegalArgumentException("Gpt.step: no sequences");
        long[] pos = new long[b];
        var seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<KVCache, Boolean>());
        for (int i = 0; i < b; i++) {
            KVCache c = caches[i];
            if (c.batch() != 1) throw new IllegalArgumentException("Gpt.step: cache of row " + i + " has batch " + c.batch() + ", expected 1");
            if (!seen.add(c)) throw new IllegalArgumentException("Gpt.step: row " + i + " reuses the cache of an earlier row");
            if (c.length() + 1 > c.capacity())
                throw new IllegalArgumentException("Gpt.step: row " + i + " has " + c.length() + " cached positions, its cache's capacity " + c.capacity() + " is full");
            if (ids[i] < 0 || ids[i] >= config.vocabSize())
                throw new IllegalArgumentException("Gpt.step: id " + ids[i] + " of row " + i + " is outside [0, " + config.vocabSize() + ")");
            pos[i] = c.length();
        }
        if (b == 1) {
            GptDecoder d = decoder();
            if (d != null) return d.step(ids[0], caches[0]).view(1, config.vocabSize());
        }
        Tensor tok = transformer.wte.lookup(Tensor.wrapLongs(ids, b, 1), "wte");          // (B, 1, C)
        Tensor posEmb = transformer.wpe.lookup(Tensor.wrapLongs(pos, b, 1), "wpe");       // (B, 1, C)
        Tensor x = transformer.drop.forward(tok.add(posEmb));
        for (int l = 0; l < transformer.h.size(); l++) x = transformer.h.get(l).step(x, caches, l);
        for (KVCache c : caches) c.advance(1);
        x = transformer.lnF.forward(x);
        return transformer.wte.linear(x, null).view(b, config.vocabSize());               // (B, vocab), tied head
    }

    /**
     * The batch-1 decoder, or null when this step must take the general path: gradients are recorded through a
     * weight that requires them, dropout is active, or a weight is in a form the decoder does not read.
     */
    private GptDecoder decoder() {
        if (isTraining() && config.dropout() > 0) return null;
        if (dev.kindling.autograd.Grad.isEnabled())
            for (Tensor p : parameters()) if (p.requiresGrad()) return null;
        var team = dev.kindling.kernels.Team.shared();
        GptDecoder d = decoder;
        if (d == null && noDecoder) return null;
        if (d == null || !d.runsOn(team)) {
            decoder = d = GptDecoder.of(this, team);
            noDecoder = d == null;
        }
        return d;
    }

    /**
     * With {@code on}, training recomputes each block's activations in backward instead of keeping them
     * ({@link Checkpoint}): less memory for about one more forward pass per step; the gradients are unchanged.
     * Returns this.
     */
    public Gpt checkpointActivations(boolean on) {
        checkpointActivations = on;
        return this;
    }

    /** Number of parameters, excluding position embeddings as nanoGPT reports it when {@code nonEmbedding}. */
    public long parameterCount(boolean nonEmbedding) {
        long n = parameterCount();
        return nonEmbedding ? n - (long) transformer.wpe.rows * transformer.wpe.cols : n;
    }
}
