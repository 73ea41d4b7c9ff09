package dev.kindling.kernels;

/**
 * {@link EncoderLayer.Projection} on a FLOAT32 weight packed once for the GEMM. For calls split by columns over the
 * threads (a batch of a few tokens), each thread's column block is packed once more as its own matrix, the first
 * time such a call comes: a thread then streams only its share of the weights, and a block GEMM is an ordinary
 * packed GEMM. The source array is kept (not copied) for that, or, if the caller says it need not be, the blocks
 * are packed from the packed matrix read back.
 */
final class PackedProjection implements EncoderLayer.Projection {
    private final boolean transposed;
    private final int in, out, off, ld;
    private final float[] w;
    private final PackedMatrix whole;
    private volatile PackedMatrix[] blocks; // one per column block of the last split count asked for

    PackedProjection(boolean transposed, int in, int out, float[] w, int off, int ld) {
        this(transposed, in, out, w, off, ld, true);
    }

    /**
     * With {@code keepSource} false the array is not kept: column blocks are then packed from the packed matrix read
     * back (for a weight whose source array exists only to be packed, such as a quantized one's widened codes).
     */
    PackedProjection(boolean transposed, int in, int out, float[] w, int off, int ld, boolean keepSource) {
        this.transposed = transposed;
        this.in = in;
        this.out = out;
        whole = PackedMatrix.of(transposed, in, out, w, off, ld);
        this.w = keepSource ? w : null;
        this.off = off;
        this.ld = ld;
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
        float[] src = w != null ? w : whole.unpack(); // unpacked: op(W) row-major, [in, out]
        boolean t = w != null && transposed;
        int o = w != null ? off : 0, l = w != null ? ld : out;
        for (int j = 0; j < parts; j++) {
            int c0 = EncoderLayer.blockStart(out, j, parts), n = EncoderLayer.blockStart(out, j + 1, parts) - c0;
            if (n > 0) b[j] = PackedMatrix.of(t, in, n, src, t ? o + c0 * l : o + c0, l);
        }
        blocks = b;
        return b;
    }
}
