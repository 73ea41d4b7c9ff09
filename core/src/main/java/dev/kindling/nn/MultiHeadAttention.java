package dev.kindling.nn;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/**
 * Multi-head attention, batch first: softmax(Q K^T / sqrt(d) + mask) V per head, then an output projection.
 * <p>Shape: query [B, Tq, E], key/value [B, Tk, E] → [B, Tq, E].
 * <p>Projections are packed ({@code in_proj_weight} [3E, E], {@code in_proj_bias}, {@code out_proj} — PyTorch's
 * nn.MultiheadAttention names) or separate ({@code q_proj}, {@code k_proj}, {@code v_proj}, {@code out_proj}).
 * Dropout applies to the attention weights while training; without it the fused kernel runs.
 */
public class MultiHeadAttention extends Module {
    public final int embedDim, numHeads;
    private final double dropout;
    private final Tensor inProjWeight, inProjBias;
    private final Linear qProj, kProj, vProj, outProj;
    private final Generator generator;

    public MultiHeadAttention(int embedDim, int numHeads) {
        this(embedDim, numHeads, 0.0, true, true, Generator.global());
    }

    public MultiHeadAttention(int embedDim, int numHeads, double dropout, boolean bias, boolean packed, Generator g) {
        if (embedDim <= 0 || numHeads <= 0 || embedDim % numHeads != 0)
            throw new IllegalArgumentException("MultiHeadAttention: embed dim " + embedDim + " is not divisible by " + numHeads + " heads");
        if (dropout < 0 || dropout >= 1) throw new IllegalArgumentException("MultiHeadAttention: dropout must be in [0, 1), got " + dropout);
        this.embedDim = embedDim;
        this.numHeads = numHeads;
        this.dropout = dropout;
        this.generator = g;
        if (packed) {
            inProjWeight = registerParameter("in_proj_weight", Tensor.zeros(3 * embedDim, embedDim));
            Init.xavierUniform(inProjWeight, 1, g);
            inProjBias = bias ? registerParameter("in_proj_bias", Tensor.zeros(3 * embedDim)) : null;
            qProj = kProj = vProj = null;
        } else {
            inProjWeight = inProjBias = null;
            qProj = register("q_proj", new Linear(embedDim, embedDim, bias, g));
            kProj = register("k_proj", new Linear(embedDim, embedDim, bias, g));
            vProj = register("v_proj", new Linear(embedDim, embedDim, bias, g));
        }
        outProj = register("out_proj", new Linear(embedDim, embedDim, bias, g));
        if (bias) Init.zeros(outProj.bias);
    }

    /** Self-attention without a mask. */
    @Override
    public Tensor forward(Tensor x) {
        return forward(x, x, x, null, false);
    }

    /**
     * @param mask optional, broadcast to [B, nh, Tq, Tk]; attention is kept where it is non-zero
     * @param causal hide later key positions
     */
    public Tensor forward(Tensor query, Tensor key, Tensor value, Tensor mask, boolean causal) {
        if (query.dim() != 3 || key.dim() != 3 || value.dim() != 3 || query.size(2) != embedDim || key.size(2) != embedDim
                || value.size(2) != embedDim || key.size(1) != value.size(1) || query.size(0) != key.size(0))
            throw new IllegalArgumentException("MultiHeadAttention: expects query [B, Tq, " + embedDim + "] and key/value [B, Tk, " + embedDim
                    + "], got " + java.util.Arrays.toString(query.shape()) + ", " + java.util.Arrays.toString(key.shape()) + ", "
                    + java.util.Arrays.toString(value.shape()));
        int b = query.size(0), tq = query.size(1), tk = key.size(1), hs = embedDim / numHeads;
        Tensor q, k, v;
        if (inProjWeight != null) {
            var w = inProjWeight.split(embedDim, 0);
            var bs = inProjBias == null ? null : inProjBias.split(embedDim, 0);
            q = query.linear(w.get(0), bs == null ? null : bs.get(0));
            k = key.linear(w.get(1), bs == null ? null : bs.get(1));
            v = value.linear(w.get(2), bs == null ? null : bs.get(2));
        } else {
            q = qProj.forward(query);
            k = kProj.forward(key);
            v = vProj.forward(value);
        }
        q = q.view(b, tq, numHeads, hs).transpose(1, 2);   // (B, nh, Tq, hs)
        k = k.view(b, tk, numHeads, hs).transpose(1, 2);   // (B, nh, Tk, hs)
        v = v.view(b, tk, numHeads, hs).transpose(1, 2);
        Tensor y;
        if (dropout > 0 && isTraining()) {
            Tensor scores = q.matmul(k.transpose(-2, -1)).div(Math.sqrt(hs));
            if (mask != null) scores = scores.maskedFill(mask.eq(0), Float.NEGATIVE_INFINITY);
            if (causal) scores = scores.maskedFill(Tensor.ones(tq, tk).tril(tk - tq).eq(0), Float.NEGATIVE_INFINITY);
            y = scores.softmax(-1).dropout(dropout, true, generator).matmul(v);
        } else {
            y = Functional.scaledDotProductAttention(q, k, v, mask, causal);
        }
        y = y.transpose(1, 2).reshape(b, tq, embedDim);    // (B, Tq, E)
        return outProj.forward(y);
    }

    @Override
    protected String extraRepr() {
        return "embed_dim=" + embedDim + ", num_heads=" + numHeads + ", dropout=" + dropout + ", packed=" + (inProjWeight != null);
    }
}
