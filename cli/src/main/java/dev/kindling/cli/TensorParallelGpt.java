package dev.kindling.cli;

import dev.kindling.distributed.ProcessGroup;
import dev.kindling.distributed.TensorParallelGpt2Block;
import dev.kindling.models.GptConfig;
import dev.kindling.nn.Embedding;
import dev.kindling.nn.LayerNorm;
import dev.kindling.nn.Module;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The GPT of {@code train gpt} with its blocks split over the ranks ({@code --parallel tp}): embeddings,
 * final LayerNorm and the tied head are replicated, each block is a {@link TensorParallelGpt2Block}. The
 * parameters carry the Hugging Face GPT-2 names of {@code dev.kindling.models.Gpt}, registered in the same
 * order, so the optimizer's parameter groups line up and the state gathers into a Gpt checkpoint.
 * <p>Shape: ids [B, T] (INT64) → logits [B, T, vocab], the same on every rank.
 */
final class TensorParallelGpt extends Module {
    private final GptConfig config;
    private final Embedding wte, wpe;
    private final TensorParallelGpt2Block[] blocks;
    private final LayerNorm lnF;

    /** This rank's part of the GPT whose state dict is {@code full} (the same on every rank). */
    TensorParallelGpt(GptConfig config, Map<String, Tensor> full, ProcessGroup pg) {
        if (config.dropout() != 0)
            throw new IllegalArgumentException("--parallel tp does not support dropout, got --dropout " + config.dropout());
        this.config = config;
        // the embeddings' own init is overwritten below; a private generator leaves the global one as in one process
        Named transformer = register("transformer", new Named());
        wte = transformer.add("wte", new Embedding(config.vocabSize(), config.nEmbd(), new Generator(0)));
        wpe = transformer.add("wpe", new Embedding(config.blockSize(), config.nEmbd(), new Generator(0)));
        Named h = transformer.add("h", new Named());
        blocks = new TensorParallelGpt2Block[config.nLayer()];
        for (int l = 0; l < blocks.length; l++) {
            String prefix = "transformer.h." + l + ".";
            Map<String, Tensor> block = new LinkedHashMap<>();
            full.forEach((k, v) -> {
                if (k.startsWith(prefix)) block.put(k.substring(prefix.length()), v);
            });
            blocks[l] = h.add(Integer.toString(l), new TensorParallelGpt2Block(block, config.nHead(), 1e-5, pg));
        }
        lnF = transformer.add("ln_f", new LayerNorm(new int[] {config.nEmbd()}, 1e-5, config.bias()));
        wte.weight.copyFrom(full.get("transformer.wte.weight"));
        wpe.weight.copyFrom(full.get("transformer.wpe.weight"));
        lnF.weight.copyFrom(full.get("transformer.ln_f.weight"));
        if (lnF.bias != null) lnF.bias.copyFrom(full.get("transformer.ln_f.bias"));
    }

    @Override
    public Tensor forward(Tensor ids) {
        int t = ids.size(1);
        if (t > config.blockSize()) throw new IllegalArgumentException("Gpt: " + t + " positions exceed the block size " + config.blockSize());
        long[] pos = new long[t];
        for (int i = 0; i < t; i++) pos[i] = i;
        Tensor x = wte.forward(ids).add(wpe.forward(Tensor.wrapLongs(pos, t)));              // (B, T, C)
        for (TensorParallelGpt2Block b : blocks) x = b.forward(x);
        return lnF.forward(x).matmul(wte.weight.t());                                         // (B, T, vocab), tied head
    }

    /** A module that only names its children (transformer, h). */
    private static final class Named extends Module {
        <M extends Module> M add(String name, M m) {
            return register(name, m);
        }

        @Override
        public Tensor forward(Tensor x) {
            throw new IllegalStateException("TensorParallelGpt: driven by its forward");
        }
    }
}
