package dev.kindling.nn;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/**
 * A pre-LayerNorm transformer block: x + dropout(attn(ln_1(x))), then x + dropout(mlp(ln_2(x))) with a GELU
 * MLP of 4x width ({@code mlp.0}, {@code mlp.2}).
 * <p>Shape: [B, T, E] → [B, T, E].
 */
public class TransformerBlock extends Module {
    private final LayerNorm ln1, ln2;
    private final MultiHeadAttention attn;
    private final Sequential mlp;
    private final Dropout drop;
    private final boolean causal;

    public TransformerBlock(int embedDim, int numHeads, double dropout, boolean causal, Generator g) {
        ln1 = register("ln_1", new LayerNorm(embedDim));
        attn = register("attn", new MultiHeadAttention(embedDim, numHeads, dropout, true, true, g));
        ln2 = register("ln_2", new LayerNorm(embedDim));
        mlp = register("mlp", new Sequential(new Linear(embedDim, 4 * embedDim, true, g), new GELU(), new Linear(4 * embedDim, embedDim, true, g)));
        drop = register("dropout", new Dropout(dropout, g));
        this.causal = causal;
    }

    @Override
    public Tensor forward(Tensor x) {
        return forward(x, null);
    }

    /** With an optional attention mask broadcast to [B, nh, T, T]. */
    public Tensor forward(Tensor x, Tensor mask) {
        Tensor h = ln1.forward(x);
        x = x.add(drop.forward(attn.forward(h, h, h, mask, causal)));
        return x.add(drop.forward(mlp.forward(ln2.forward(x))));
    }
}
