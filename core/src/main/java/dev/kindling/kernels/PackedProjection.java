package dev.kindling.kernels;

/**
 * {@link EncoderLayer.Projection} on a FLOAT32 weight packed once for the GEMM. For calls split by columns over the
 * threads (a batch of a few tokens), each thread's column block is packed once more as its own matrix, the first
 * time such a call comes: a thread then streams only its share of the weights, and a block GEMM is an ordinary
 * packed GEMM. The source array is kept (not copied) for that.
 */
final class PackedProjection implements EncoderLayer.Projection {
    private final boolean transposed;
    private final int in, out, off, ld;
    private final float[] w;
    private final PackedMatrix whole;
    private volatile PackedMatrix[] blocks; // one per column block of the last split count asked for

    PackedProjection(boolean transposed, int in, int out, float[] w, int off, int ld) {
        this.transposed = transposed;
        this.in = in;
        this.out = out;
        this.w = w;
        this.off = off;
        this.ld = ld;
        whole = PackedMatrix.of(transposed, in, out, w, off, ld);
    }

    @Override
    public int in() {
        return in;
    }

    @Override
    public int out() {
        return out;
    }

    @Override
    public void apply(float[] x, int rows, float[] y, float beta) {
        Gemm.sgemmPacked(rows, 1f, x, 0, in, whole, beta, y, 0, out);
    }

    @Override
    public boolean splitsColumns() {
        return true;
    }

    @Override
    public void applyBlock(float[] x, int rows, float[] y, float beta, int part, int parts) {
        if (parts < 1 || part < 0 || part >= parts)
            throw new IllegalArgumentException("PackedProjection: block " + part + " of " + parts + " does not exist");
        PackedMatrix[] b = blocks;
        if (b == null || b.length != parts) b = packBlocks(parts);
        int from = EncoderLayer.blockStart(out, part, parts);
        if (b[part] != null) Gemm.sgemmPacked(rows, 1f, x, 0, in, b[part], beta, y, from, out);
    }

    private synchronized PackedMatrix[] packBlocks(int parts) {
        if (blocks != null && blocks.length == parts) return blocks;
        PackedMatrix[] b = new PackedMatrix[parts];
        for (int j = 0; j < parts; j++) {
            int c0 = EncoderLayer.blockStart(out, j, parts), n = EncoderLayer.blockStart(out, j + 1, parts) - c0;
            if (n > 0) b[j] = PackedMatrix.of(transposed, in, n, w, transposed ? off + c0 * ld : off + c0, ld);
        }
        blocks = b;
        return b;
    }
}
