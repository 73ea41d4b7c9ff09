package dev.kindling.nn;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/**
 * A lookup table: ids [*] (INT64) to vectors [*, embeddingDim]. Weight [num, dim] ~ N(0, 1) as in PyTorch.
 */
public class Embedding extends Module {
    public final int numEmbeddings, embeddingDim;
    public final Tensor weight;

    public Embedding(int numEmbeddings, int embeddingDim) {
        this(numEmbeddings, embeddingDim, Generator.global());
    }

    public Embedding(int numEmbeddings, int embeddingDim, Generator g) {
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        this.weight = registerParameter("weight", Tensor.zeros(numEmbeddings, embeddingDim));
        Init.normal(weight, 0, 1, g);
    }

    @Override
    public Tensor forward(Tensor ids) {
        // ids must be real rows: the tensor-level lookup counts a negative index from the end, which would
        // quietly turn a bad id (say -1 for padding) into the last row; PyTorch rejects it
        if (!ids.dtype().isFloatingPoint()) {
            long[] v = ids.toLongArray();
            for (int i = 0; i < v.length; i++)
                if (v[i] < 0 || v[i] >= numEmbeddings)
                    throw new IndexOutOfBoundsException("Embedding: id " + v[i] + " at position " + i + " is out of range for "
                            + numEmbeddings + " embeddings");
        }
        return Tensor.embedding(weight, ids);
    }

    @Override
    protected String extraRepr() {
        return numEmbeddings + ", " + embeddingDim;
    }
}
