package dev.kindling.models;

import dev.kindling.kernels.Elementwise;
import dev.kindling.kernels.MatVec;
import dev.kindling.kernels.Norms;
import dev.kindling.kernels.Parallel;
import dev.kindling.kernels.Softmax;
import dev.kindling.kernels.Team;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batch-1 decoding of one token of a {@link Gpt}: the same arithmetic as {@link Gpt#forward(Tensor, KVCache)} for a
 * single position, computed on float arrays allocated once, as one {@link Team} region per token. Every member
 * takes a fixed share of the rows of every matrix (a pass over the weights is the whole cost of a token: 124-494 MB
 * at GPT-2-small size against well under a megabyte of activations), and the members meet at a barrier between
 * dependent steps: no task per matrix, no tensor per step, nothing allocated but the logits.
 *
 * <p>Per layer (each member computes the layer norms itself, on its own copy, instead of waiting for one):
 * ln_1 → c_attn (own rows) | attention (own heads, K and V written into the cache) | c_proj added to the residual
 * (own rows) | ln_2 → c_fc + GELU (own rows) | c_proj added to the residual (own rows) |, where | is a barrier.
 * FLOAT32 Conv1D weights of a trainable model are [in, out]: a member takes a range of input rows, which is one
 * contiguous block of W, and writes a partial output that the members sum over their output rows after a barrier.
 * The two c_proj products then take as input rows exactly the rows their member wrote (its heads' attention
 * output, its rows of GELU), so the barriers before them fall away: 7 barriers per layer instead of 9.
 */
final class GptDecoder {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private final Gpt model;
    private final GptConfig c;
    private final Team team;
    private final boolean teamCanRead;  // false when a weight segment is confined to the loading thread
    private final Layer[] layers;
    private final Mat head;
    private final float[] x, qkv, att, proj, hidden;
    private final float[][] normed, scores, means, rstds; // per member; the layer norm statistics are unused
    private final float[][][] partial; // two sets of per-member partial outputs (see matvec)

    private record Layer(Tensor ln1w, Tensor ln1b, Mat cAttn, Tensor attnBias, Mat attnProj, Tensor attnProjBias,
                         Tensor ln2w, Tensor ln2b, Mat fc, Tensor fcBias, Mat mlpProj, Tensor mlpProjBias) {}

    private GptDecoder(Gpt model, Team team, Layer[] layers, Mat head, boolean teamCanRead) {
        this.model = model;
        this.c = model.config;
        this.team = team;
        this.layers = layers;
        this.head = head;
        this.teamCanRead = teamCanRead;
        int n = c.nEmbd(), members = team.size();
        x = new float[n];
        qkv = new float[3 * n];
        att = new float[n];
        proj = new float[n];
        hidden = new float[4 * n];
        normed = new float[members][n];
        partial = new float[2][members][4 * n];
        scores = new float[members][c.blockSize()];
        means = new float[members][1];
        rstds = new float[members][1];
    }

    /** A decoder for {@code model} on {@code team}, or null when a weight is in a form it does not read (F16). */
    static GptDecoder of(Gpt model, Team team) {
        var t = model.transformer;
        Mat head = Mat.of(t.wte);
        if (head == null) return null;
        List<Layer> ls = new ArrayList<>();
        for (Gpt.Block b : t.h) {
            Mat qkv = Mat.of(b.attn.cAttn), ap = Mat.of(b.attn.cProj), fc = Mat.of(b.mlp.cFc), mp = Mat.of(b.mlp.cProj);
            if (qkv == null || ap == null || fc == null || mp == null) return null;
            if (!plain(b.ln1.weight, b.ln1.bias, b.ln2.weight, b.ln2.bias)) return null;
            ls.add(new Layer(b.ln1.weight, b.ln1.bias, qkv, b.attn.cAttn.bias, ap, b.attn.cProj.bias,
                    b.ln2.weight, b.ln2.bias, fc, b.mlp.cFc.bias, mp, b.mlp.cProj.bias));
        }
        if (!plain(t.lnF.weight, t.lnF.bias)) return null;
        boolean teamCanRead = head.sharedSegment();
        for (Layer l : ls)
            teamCanRead &= l.cAttn.sharedSegment() && l.attnProj.sharedSegment() && l.fc.sharedSegment() && l.mlpProj.sharedSegment();
        return new GptDecoder(model, team, ls.toArray(Layer[]::new), head, teamCanRead);
    }

    /** Whether this decoder was built for {@code team} (the team changes with the thread count). */
    boolean runsOn(Team team) {
        return this.team == team;
    }

    /**
     * Logits [1, 1, vocab] for token {@code id} at the next position of the batch-1 {@code cache}, whose keys and
     * values it appends (the cache is advanced by one).
     */
    synchronized Tensor step(long id, KVCache cache) {
        int pos = cache.length(), n = c.nEmbd();
        cache.checkRoom(1);
        if (id < 0 || id >= c.vocabSize())
            throw new IndexOutOfBoundsException("wte: id " + id + " at position 0 is out of range for " + c.vocabSize() + " rows");
        // x = wte[id] + wpe[pos], on the caller before the region
        model.transformer.wte.row((int) id, x, 0);
        model.transformer.wpe.row(pos, proj, 0);
        for (int j = 0; j < n; j++) x[j] += proj[j];
        float[] logits = new float[c.vocabSize()];
        Team.Body body = m -> token(m, cache, pos, logits);
        if (teamCanRead) team.run(body);
        else Team.runOnCaller(body);
        cache.advance(1);
        return Tensor.wrap(logits, 1, 1, c.vocabSize());
    }

    /** One member's part of a token (see the class comment for the steps and barriers). */
    private void token(Team.Member m, KVCache cache, int pos, float[] logits) {
        int n = c.nEmbd(), me = m.index(), hs = c.headSize();
        float[] h = normed[me];
        float eps = (float) Gpt.LN_EPS;
        // input rows of the [in, out] products: a share of n for c_attn and c_fc, and for the two c_proj the rows that
        // this member's heads (attention) and its GELU wrote
        int s0 = m.from(n, 4), s1 = m.to(n, 4), a0 = m.from(c.nHead(), 1) * hs, a1 = m.to(c.nHead(), 1) * hs;
        int g0 = m.from(4 * n, 4), g1 = m.to(4 * n, 4);
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            Norms.layerNormForward(x, 0, h, 0, 1, n, floats(L.ln1w), floats(L.ln1b), eps, means[me], rstds[me]);
            matvec(m, L.cAttn, h, qkv, 0, s0, s1);
            addBias(m, qkv, L.attnBias, 3 * n);
            m.barrier();
            attention(m, cache.keys(l), cache.values(l), pos);
            // an [in, out] c_proj reads only the rows of att this member wrote: no barrier before it
            if (L.attnProj.kind != Kind.AXPY) m.barrier();
            matvec(m, L.attnProj, att, proj, 1, a0, a1);
            addResidual(m, proj, L.attnProjBias);
            m.barrier();
            Norms.layerNormForward(x, 0, h, 0, 1, n, floats(L.ln2w), floats(L.ln2b), eps, means[me], rstds[me]);
            matvec(m, L.fc, h, hidden, 0, s0, s1);
            addBias(m, hidden, L.fcBias, 4 * n);
            Elementwise.unary(Elementwise.Unary.GELU_TANH, hidden, g0, 1, hidden, g0, g1 - g0);
            if (L.mlpProj.kind != Kind.AXPY) m.barrier(); // likewise: it reads the rows of hidden this member wrote
            matvec(m, L.mlpProj, hidden, proj, 1, g0, g1);
            addResidual(m, proj, L.mlpProjBias);
            m.barrier();
        }
        var lnF = model.transformer.lnF;
        Norms.layerNormForward(x, 0, h, 0, 1, n, floats(lnF.weight), floats(lnF.bias), eps, means[me], rstds[me]);
        matvec(m, head, h, logits, 0, 0, 0); // a [vocab, n] matrix: never [in, out]
    }

    /**
     * y = W v, this member's rows of y written. For a FLOAT32 [in, out] weight the member writes a partial output
     * over the input rows [p0, p1) (its share of v, or the rows of v it wrote itself: then the caller needs no
     * barrier before this call), meets the others at a barrier, and sums its own rows of y. The partial outputs
     * alternate between two sets of buffers ({@code buffers} 0 or 1, alternating from one [in, out] product to the
     * next): a member may start the next product while another still sums this one's partials.
     */
    private void matvec(Team.Member m, Mat w, float[] v, float[] y, int buffers, int p0, int p1) {
        int r0 = m.from(w.n, 4), r1 = m.to(w.n, 4);
        switch (w.kind) {
            case DOT -> {
                float[] a = (float[]) w.f32.storageArray();
                MatVec.dotRows(a, w.f32.storageOffset(), w.k, w.k, v, 0, y, 0, r0, r1);
            }
            case AXPY -> {
                float[] a = (float[]) w.f32.storageArray();
                float[][] set = partial[buffers];
                MatVec.axpyRows(a, w.f32.storageOffset(), w.n, w.n, v, 0, p0, p1, set[m.index()], 0);
                m.barrier();
                for (int j = r0; j < r1; j++) {
                    float s = 0f;
                    for (float[] p : set) s += p[j];
                    y[j] = s;
                }
            }
            case COMPRESSED -> MatVec.compressedRows(w.bits, w.groupSize, w.k, v, 0, w.segment, 0, w.scales, 0, y, 0, r0, r1);
        }
    }

    private void addBias(Team.Member m, float[] y, Tensor bias, int n) {
        if (bias == null) return;
        float[] b = floats(bias);
        for (int j = m.from(n, 4), to = m.to(n, 4); j < to; j++) y[j] += b[j];
    }

    /** x += y + bias over this member's rows. */
    private void addResidual(Team.Member m, float[] y, Tensor bias) {
        int n = c.nEmbd();
        float[] b = bias == null ? null : floats(bias);
        for (int j = m.from(n, 4), to = m.to(n, 4); j < to; j++) x[j] += b == null ? y[j] : y[j] + b[j];
    }

    /**
     * This member's heads: the new key and value go into the cache at {@code pos}, then att = softmax(q K^T /
     * sqrt(hs)) V over positions 0..pos.
     */
    private void attention(Team.Member m, Tensor keys, Tensor values, int pos) {
        int n = c.nEmbd(), hs = c.headSize(), cap = keys.size(2), len = pos + 1;
        float[] k = (float[]) keys.storageArray(), v = (float[]) values.storageArray(), s = scores[m.index()];
        int ko = keys.storageOffset(), vo = values.storageOffset();
        float scale = (float) (1 / Math.sqrt(hs));
        for (int head = m.from(c.nHead(), 1), to = m.to(c.nHead(), 1); head < to; head++) {
            int q = head * hs, base = head * cap * hs;                          // (nh, cap, hs) of batch row 0
            System.arraycopy(qkv, n + q, k, ko + base + pos * hs, hs);
            System.arraycopy(qkv, 2 * n + q, v, vo + base + pos * hs, hs);
            for (int p = 0; p < len; p++) s[p] = dot(qkv, q, k, ko + base + p * hs, hs) * scale;
            Softmax.softmax(s, 0, s, 0, len);
            java.util.Arrays.fill(att, q, q + hs, 0f);
            for (int p = 0; p < len; p++) axpy(s[p], v, vo + base + p * hs, att, q, hs);
        }
    }

    private static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int j = 0;
        FloatVector acc = FloatVector.zero(S);
        for (int bound = S.loopBound(n); j < bound; j += S.length())
            acc = FloatVector.fromArray(S, a, ao + j).fma(FloatVector.fromArray(S, b, bo + j), acc);
        float t = acc.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) t += a[ao + j] * b[bo + j];
        return t;
    }

    private static void axpy(float s, float[] a, int ao, float[] y, int yo, int n) {
        int j = 0;
        FloatVector sv = FloatVector.broadcast(S, s);
        for (int bound = S.loopBound(n); j < bound; j += S.length())
            FloatVector.fromArray(S, a, ao + j).fma(sv, FloatVector.fromArray(S, y, yo + j)).intoArray(y, yo + j);
        for (; j < n; j++) y[yo + j] += s * a[ao + j];
    }

    /** The float array of a contiguous FLOAT32 tensor that starts its storage (checked by {@link #plain}). */
    private static float[] floats(Tensor t) {
        return t == null ? null : (float[]) t.storageArray();
    }

    /** Whether every tensor is null or a FLOAT32 tensor readable as its own array from index 0. */
    private static boolean plain(Tensor... ts) {
        for (Tensor t : ts) if (t != null && (t.dtype() != DType.FLOAT32 || !t.isContiguous() || t.storageOffset() != 0)) return false;
        return true;
    }

    private enum Kind { DOT, AXPY, COMPRESSED }

    /** A weight as the decoder reads it: y [n] = W v [k]. */
    private record Mat(Kind kind, int n, int k, Tensor f32, MemorySegment segment, int bits, int groupSize, float[] scales) {
        /** A Conv1D's weight: FLOAT32 [in, out] (trainable), or frozen [out, in]; null for a form not read here. */
        static Mat of(Conv1D conv) {
            if (conv.frozenWeight() != null) return of(conv.frozenWeight());
            Tensor w = conv.weight;
            if (w.dtype() != DType.FLOAT32 || !w.isContiguous()) return null;
            if (conv.bias != null && !plain(conv.bias)) return null;
            return new Mat(Kind.AXPY, w.size(1), w.size(0), w, null, 0, 0, null);
        }

        /** A [rows, cols] matrix: y [rows] = W v [cols]. */
        static Mat of(WeightMatrix w) {
            if (w.f32 != null) {
                if (w.f32.dtype() != DType.FLOAT32 || !w.f32.isContiguous()) return null;
                return new Mat(Kind.DOT, w.rows, w.cols, w.f32, null, 0, 0, null);
            }
            if (w.codes != null) return new Mat(Kind.COMPRESSED, w.rows, w.cols, null, w.codes, w.bits, w.groupSize, w.scales);
            if (w.dtype == DType.BF16) return new Mat(Kind.COMPRESSED, w.rows, w.cols, null, w.half, 16, 0, null);
            return null; // F16: no decode kernel of its own here, the generic path serves it
        }

        /** Whether the team's threads may read the weights (a segment of a confined arena only its owner may). */
        boolean sharedSegment() {
            return segment == null || Parallel.canShare(segment);
        }
    }
}
