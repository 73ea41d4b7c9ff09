package dev.kindling.models;

import dev.kindling.autograd.Grad;
import dev.kindling.nn.Functional;
import dev.kindling.nn.LayerNorm;
import dev.kindling.nn.Module;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A BERT encoder (Hugging Face's {@code BertModel} without the pooler) for inference: embeddings (word + position
 * + token type, LayerNorm), then post-LayerNorm blocks of self-attention and a feed-forward layer. Modules carry
 * Hugging Face's names ({@code embeddings.word_embeddings}, {@code encoder.layer.0.attention.self.query}, ...).
 * Built from a model folder by {@link AutoModel#fromPretrained}; its weights are FLOAT32 tensors (listed by
 * {@link #namedParameters()}) or BF16/F16 or int8/int4 (a quantized folder) matrices read in place by the GEMM (then
 * only biases and norms are parameters, and the whole model is frozen: inference only). Dropout is not applied: this is the model in eval mode.
 * <p>Shape: ids [B, T] (INT64), attention mask [B, T] (1 = token, 0 = padding), token type ids [B, T] → last hidden
 * state [B, T, hidden]. Padding keys are masked out of attention; outputs at padding positions are computed but
 * meaningless.
 */
public final class BertModel extends Module implements Encoder {
    public final BertConfig config;
    final Embeddings embeddings;
    final List<Layer> layers = new ArrayList<>();
    private final BertInference inference;

    BertModel(BertConfig config, WeightSource w) {
        this.config = config;
        try (var g = Grad.disabled()) {
            embeddings = register("embeddings", new Embeddings(config, w));
            Container encoder = register("encoder", new Container());
            Container layer = encoder.add("layer", new Container());
            for (int i = 0; i < config.numHiddenLayers(); i++)
                layers.add(layer.add(Integer.toString(i), new Layer(config, w, "encoder.layer." + i + ".")));
        }
        // half-precision and quantized matrices have no backward: the whole model is frozen then, so no graph is recorded
        if (w.frozen()) for (Tensor p : parameters()) p.requiresGrad(false);
        inference = new BertInference(config, layers);
    }

    /** Switching to training mode drops the packed weights of the inference path: training will change them. */
    @Override
    public Module train(boolean on) {
        super.train(on);
        if (on && inference != null) inference.forget();
        return this;
    }

    @Override
    public void loadStateDict(java.util.Map<String, Tensor> state, boolean strict) {
        super.loadStateDict(state, strict);
        inference.forget();
    }

    /** Whether a forward records an autograd graph: some parameter requires grad while grad is enabled. */
    private boolean recordsGraph() {
        if (!Grad.isEnabled()) return false;
        for (Tensor p : parameters()) if (p.requiresGrad()) return true;
        return false;
    }

    /** The dtype the weight matrices are kept in. */
    public DType weightDType() {
        return embeddings.word.dtype;
    }

    /** {@link #forward(Tensor, Tensor, Tensor)}. */
    @Override
    public Tensor encode(Tensor ids, Tensor attentionMask, Tensor tokenTypeIds) {
        return forward(ids, attentionMask, tokenTypeIds);
    }

    /** max_position_embeddings. */
    @Override
    public int maxPositions() {
        return config.maxPositionEmbeddings();
    }

    /** Last hidden state for ids [B, T] with no padding and token type 0. */
    @Override
    public Tensor forward(Tensor ids) {
        return forward(ids, null, null);
    }

    /**
     * Last hidden state [B, T, hidden].
     *
     * @param ids token ids [B, T] (INT64), each in [0, vocab_size); T at most max_position_embeddings
     * @param attentionMask [B, T], non-zero for tokens and 0 for padding; null means no padding. Every row needs at
     *     least one token.
     * @param tokenTypeIds [B, T] segment ids in [0, type_vocab_size); null means all 0
     */
    public Tensor forward(Tensor ids, Tensor attentionMask, Tensor tokenTypeIds) {
        if (ids.dim() != 2) throw new IllegalArgumentException("BertModel: ids must be [B, T], got shape " + Arrays.toString(ids.shape()));
        int b = ids.size(0), t = ids.size(1);
        if (t > config.maxPositionEmbeddings())
            throw new IllegalArgumentException("BertModel: " + t + " tokens exceed max_position_embeddings " + config.maxPositionEmbeddings());
        checkSame("attention mask", attentionMask, ids);
        checkSame("token type ids", tokenTypeIds, ids);
        Tensor mask = null;
        long[] m = null;
        if (attentionMask != null) {
            m = attentionMask.toLongArray();
            for (int i = 0; i < b; i++) {
                boolean any = false;
                for (int j = 0; j < t && !any; j++) any = m[i * t + j] != 0;
                if (!any && t > 0) throw new IllegalArgumentException("BertModel: attention mask row " + i + " has no token (all padding)");
            }
            mask = attentionMask.to(DType.FLOAT32).reshape(b, 1, 1, t);              // (B, 1, 1, T): key padding
        }
        Tensor x = embeddings.forward(ids, tokenTypeIds);                             // (B, T, H)
        if (!isTraining() && !recordsGraph() && b * t > 0) // inference: packed weights, fused kernels, reused buffers
            return inference.forward(x.contiguous().toFloatArray(), b, t, m);
        // a graph may lead to an optimizer step that changes the weights: the inference path must pack them again
        if (recordsGraph()) inference.forget();
        for (Layer l : layers) x = l.forward(x, mask);
        return x;
    }

    private static void checkSame(String what, Tensor t, Tensor ids) {
        if (t != null && !Arrays.equals(t.shape(), ids.shape()))
            throw new IllegalArgumentException("BertModel: " + what + " shape " + Arrays.toString(t.shape()) + " differs from ids shape "
                    + Arrays.toString(ids.shape()));
    }

    /** A named group of submodules ("encoder", "layer"), driven by BertModel.forward. */
    static final class Container extends Module {
        <M extends Module> M add(String name, M m) {
            return register(name, m);
        }

        @Override
        public Tensor forward(Tensor x) {
            throw new IllegalStateException("BertModel: module containers are driven by BertModel.forward");
        }
    }

    /** y = x W^T + b with W in FLOAT32, half precision or quantized. */
    static final class Dense extends Module {
        final WeightMatrix w;
        final Tensor bias;

        Dense(WeightSource src, String name, int out, int in) {
            w = src.matrix(name + ".weight", out, in);
            if (w.f32 != null) registerParameter("weight", w.f32);
            bias = registerParameter("bias", src.floats(name + ".bias", out));
        }

        @Override
        public Tensor forward(Tensor x) {
            return w.linear(x, bias);
        }
    }

    static LayerNorm norm(WeightSource src, String name, BertConfig c) {
        LayerNorm ln = new LayerNorm(new int[] {c.hiddenSize()}, c.layerNormEps(), true);
        ln.weight.copyFrom(src.floats(name + ".weight", c.hiddenSize()));
        ln.bias.copyFrom(src.floats(name + ".bias", c.hiddenSize()));
        return ln;
    }

    static final class Embeddings extends Module {
        final WeightMatrix word, position, tokenType;
        final LayerNorm norm;

        Embeddings(BertConfig c, WeightSource src) {
            int h = c.hiddenSize();
            word = register("word_embeddings", new WeightTable(src.matrix("embeddings.word_embeddings.weight", c.vocabSize(), h), "word_embeddings")).w;
            position = register("position_embeddings", new WeightTable(src.matrix("embeddings.position_embeddings.weight",
                    c.maxPositionEmbeddings(), h), "position_embeddings")).w;
            tokenType = register("token_type_embeddings", new WeightTable(src.matrix("embeddings.token_type_embeddings.weight",
                    c.typeVocabSize(), h), "token_type_embeddings")).w;
            norm = register("LayerNorm", norm(src, "embeddings.LayerNorm", c));
        }

        Tensor forward(Tensor ids, Tensor types) {
            int t = ids.size(1);
            long[] pos = new long[t];
            for (int i = 0; i < t; i++) pos[i] = i;
            Tensor x = word.lookup(ids, "word_embeddings")                                      // (B, T, H)
                    .add(position.lookup(Tensor.wrapLongs(pos, t), "position_embeddings"));    // + (T, H)
            Tensor typeIds = types != null ? types : Tensor.zeros(DType.INT64, ids.shape());
            return norm.forward(x.add(tokenType.lookup(typeIds, "token_type_embeddings")));
        }

        @Override
        public Tensor forward(Tensor ids) {
            return forward(ids, null);
        }
    }

    /** attention.self (query/key/value) + attention.output (dense, LayerNorm), intermediate, output. */
    static final class Layer extends Module {
        final Dense query, key, value, attnOut, intermediate, out;
        final LayerNorm attnNorm, outNorm;
        final int heads, headSize;
        final String act;

        Layer(BertConfig c, WeightSource src, String p) {
            int h = c.hiddenSize(), f = c.intermediateSize();
            heads = c.numAttentionHeads();
            headSize = c.headSize();
            act = c.hiddenAct();
            Container attention = register("attention", new Container());
            Container self = attention.add("self", new Container());
            query = self.add("query", new Dense(src, p + "attention.self.query", h, h));
            key = self.add("key", new Dense(src, p + "attention.self.key", h, h));
            value = self.add("value", new Dense(src, p + "attention.self.value", h, h));
            Container attnOutput = attention.add("output", new Container());
            attnOut = attnOutput.add("dense", new Dense(src, p + "attention.output.dense", h, h));
            attnNorm = attnOutput.add("LayerNorm", norm(src, p + "attention.output.LayerNorm", c));
            intermediate = register("intermediate", new Container()).add("dense", new Dense(src, p + "intermediate.dense", f, h));
            Container output = register("output", new Container());
            out = output.add("dense", new Dense(src, p + "output.dense", h, f));
            outNorm = output.add("LayerNorm", norm(src, p + "output.LayerNorm", c));
        }

        Tensor forward(Tensor x, Tensor mask) {
            int b = x.size(0), t = x.size(1);
            Tensor q = query.forward(x).view(b, t, heads, headSize).transpose(1, 2);        // (B, nh, T, hs)
            Tensor k = key.forward(x).view(b, t, heads, headSize).transpose(1, 2);
            Tensor v = value.forward(x).view(b, t, heads, headSize).transpose(1, 2);
            Tensor y = Functional.scaledDotProductAttention(q, k, v, mask, false);           // (B, nh, T, hs)
            y = y.transpose(1, 2).reshape(b, t, heads * headSize);                          // (B, T, H)
            Tensor a = attnNorm.forward(attnOut.forward(y).add(x));
            Tensor f = intermediate.forward(a);                                              // (B, T, I)
            f = switch (act) {
                case "gelu" -> f.gelu();
                case "relu" -> f.relu();
                default -> f.geluTanh(); // gelu_new, gelu_pytorch_tanh
            };
            return outNorm.forward(out.forward(f).add(a));
        }

        @Override
        public Tensor forward(Tensor x) {
            return forward(x, null);
        }
    }
}
