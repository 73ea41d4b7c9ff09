package dev.kindling.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;

/**
 * One {@link EncoderLayer} forward for a batch of a few tokens, as one task per thread (a single fork/join round
 * trip) instead of one round trip per step. The steps run in order; each is a set of independent tasks (column blocks
 * of a projection, (batch, head) pairs of attention, row blocks of a norm) that the threads claim from a counter, and
 * a thread moves to the next step once every task of this one is done. A thread waits only for tasks another thread
 * has claimed and is running, so if the pool runs the participants one after another (busy or nested), the first
 * simply does all the work: no deadlock whatever the scheduling.
 */
final class SplitForward {
    private static final int STEPS = 7;

    private final EncoderLayer l;
    private final float[] x, mask;
    private final int[] ms;
    private final int batch, tokens, rows, parts;
    private final float[] qkv, ctx, a, ff;
    private final AtomicInteger[] claimed = new AtomicInteger[STEPS], done = new AtomicInteger[STEPS];
    // a quantized projection's column scales, left to the next step (every block computes the same ones), and the
    // ranges of the activations that the next projection quantizes, widened by each task under the array's lock
    private volatile float[] attnOutScale, downScale;
    private final float[] rangeA, rangeF;

    SplitForward(EncoderLayer l, float[] x, int batch, int tokens, float[] mask, int[] maskStrides, EncoderLayer.Workspace ws, int parts) {
        this.l = l;
        this.x = x;
        this.batch = batch;
        this.tokens = tokens;
        this.rows = batch * tokens;
        this.mask = mask;
        this.ms = mask == null ? new int[4] : maskStrides;
        this.parts = parts;
        qkv = ws.qkv;
        ctx = ws.ctx;
        a = ws.a;
        ff = ws.ff;
        rangeA = l.up.quantizesInput() ? new float[2] : null;
        rangeF = l.down.quantizesInput() ? new float[2] : null;
        for (int i = 0; i < STEPS; i++) {
            claimed[i] = new AtomicInteger();
            done[i] = new AtomicInteger();
        }
    }

    void run() {
        Parallel.forChunks(parts, parts, (from, to) -> {
            for (int p = from; p < to; p++) steps();
        });
    }

    private void steps() {
        int h = l.hidden, rowParts = Math.min(parts, rows);
        step(0, parts, this::qkvBlock);
        step(1, batch * l.heads, this::head);
        step(2, parts, j -> {
            float[] s = l.attnOut.applyBlockUnscaled(ctx, null, rows, a, j, parts);
            if (s != null) attnOutScale = s;
        });
        step(3, rowParts, j -> norm(a, attnOutScale, l.attnOutBias, x, l.norm1Weight, l.norm1Bias, l.eps1, j, rowParts, h, rangeA));
        step(4, parts, this::upBlock);
        step(5, parts, j -> {
            float[] s = l.down.applyBlockUnscaled(ff, rangeF, rows, x, j, parts);
            if (s != null) downScale = s;
        });
        step(6, rowParts, j -> norm(x, downScale, l.downBias, a, l.norm2Weight, l.norm2Bias, l.eps2, j, rowParts, h, null));
    }

    private void step(int s, int tasks, java.util.function.IntConsumer task) {
        for (int t; (t = claimed[s].getAndIncrement()) < tasks; ) {
            try {
                task.accept(t);
            } finally {
                done[s].incrementAndGet(); // even on failure, so the other thread is not left waiting
            }
        }
        for (int spins = 0; done[s].get() < tasks; spins++) {
            if (spins < 1 << 12) Thread.onSpinWait();
            else Thread.yield(); // the other thread may have been descheduled on a busy machine
        }
    }

    private void qkvBlock(int j) {
        l.qkv.applyBlockWithBias(x, rows, qkv, l.qkvBias, j, parts);
    }

    private void head(int bh) {
        int b = bh / l.heads, hd = bh % l.heads, d = l.headSize, h = l.hidden, ld = 3 * h, o = b * tokens * ld + hd * d;
        MaskedAttention.forward(1, 1, tokens, tokens, d, (float) (1 / Math.sqrt(d)), qkv, o, ld, qkv, o + h, ld, qkv, o + 2 * h, ld,
                mask, b * ms[0] + hd * ms[1], ms, ctx, b * tokens * h + hd * d, h, l.tiles);
    }

    private void upBlock(int j) {
        int n = l.inner, from = EncoderLayer.blockStart(n, j, parts), to = EncoderLayer.blockStart(n, j + 1, parts);
        if (from == to) return;
        float[] scale = l.up.applyBlockUnscaled(a, rangeA, rows, ff, j, parts), part = rangeF == null ? null : new float[2];
        for (int r = 0; r < rows; r++) EncoderLayer.biasActivateColumns(ff, r * n, scale, l.upBias, from, to, l.act, part);
        if (part != null) EncoderLayer.widen(rangeF, part);
    }

    private void norm(float[] y, float[] scale, float[] bias, float[] residual, float[] w, float[] b, float eps, int j, int blocks, int n,
                      float[] range) {
        int r0 = (int) ((long) rows * j / blocks), r1 = (int) ((long) rows * (j + 1) / blocks);
        float[] lanes = new float[FloatVector.SPECIES_PREFERRED.length()], part = range == null ? null : new float[2];
        for (int r = r0; r < r1; r++) EncoderLayer.addNormRow(y, r * n, scale, bias, residual, w, b, eps, n, lanes, part);
        if (range != null) EncoderLayer.widen(range, part);
    }
}
