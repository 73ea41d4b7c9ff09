package dev.kindling.kernels;

import java.lang.constant.ConstantDescs;
import java.lang.invoke.MethodHandles;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GEMM engine: packed panels, cache blocking and a register-tiled micro-kernel (BLIS's loop structure).
 *
 * <p>For each {@code NC}-wide column block of C and each {@code KC}-deep slice of the shared dimension, op(B)'s
 * slice is packed into {@code NR}-wide micro-panels (each reused by every register tile down the A block), and
 * each {@code MC}-tall block of op(A) into {@code MR}-tall micro-panels (kept in L2). Packing reads transposed
 * operands in their stored order, so a transpose is never materialised, and folds alpha into A. Over several
 * threads each one owns a slab of C's rows (or columns, for wide shapes) and runs the same loops on it.
 *
 * <p>The species is a {@code static final} constant so that the JIT compiles every vector operation to one
 * instruction. To run another width in the same JVM (tests, benchmarks), {@link #withSpecies} defines a hidden
 * copy of this class whose constant is that species; hence no nested classes here (a hidden copy could not
 * reach them as nestmates) and all state in static fields of this class.
 */
final class GemmKernel implements GemmEngine {
    static final VectorSpecies<Float> S = speciesOfThisCopy();
    static final int VL = S.length();
    /**
     * Micro-tile: MR rows of C by NR = NV vectors of columns. With 32 vector registers (AVX-512) a 6 x 4-vector
     * tile keeps 24 accumulators, 4 B vectors and a broadcast in registers; where 512-bit vectors are not
     * preferred the CPU may have only 16 (AVX2, SSE), and the 6 x 2 tile (12 + 2 + 1) avoids spilling.
     */
    static final int MR = 6, NV = S.vectorBitSize() >= 512 ? 4 : 2, NR = NV * VL;
    static final int KC, MC, NC;

    static {
        CacheSizes caches = CacheSizes.detect();
        // KC: the MR x KC and KC x NR micro-panels together take about twice L1. Deeper slices amortise the
        // loads and stores of the C tile over more multiply-adds, and the B micro-panel streams from L2 fast enough
        // (NR floats per MR * NV FMAs); on Zen 5 this measured better than the textbook "B panel in half of L1".
        KC = Math.max(16, (int) (2 * caches.l1d() / (4L * (NR + MR))) & ~7);
        // MC: the MC x KC block of A fills half of L2 (the rest holds B micro-panels as they stream through).
        MC = Math.max(MR, (int) (caches.l2() / 2 / (4L * KC)) / MR * MR);
        // NC: the KC x NC panel of B takes an eighth of the shared L3, leaving room for other threads' panels and C.
        NC = Math.max(NR, (int) Math.min(1 << 16, caches.l3() / 8 / (4L * KC)) / NR * NR);
    }

    /**
     * Below this many multiply-adds (about 160^3) a GEMM runs on the calling thread: handing half of it to another
     * thread costs a fork/join round trip (10-30 us on a shared VM), the time of some 2M multiply-adds.
     */
    static final long PARALLEL_MIN_FMAS = 1L << 22;

    /**
     * Per-thread packing buffers {A block, B panel, edge tile, vector scratch, transposed C of {@link #runSwapped}},
     * grown on demand and reused.
     */
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[5][]);

    private static VectorSpecies<Float> speciesOfThisCopy() {
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        if (!lookup.lookupClass().isHidden()) return VectorWidth.floatSpecies();
        try {
            @SuppressWarnings("unchecked")
            VectorSpecies<Float> s = MethodHandles.classData(lookup, ConstantDescs.DEFAULT_NAME, VectorSpecies.class);
            return s;
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("gemm: cannot read the species of a hidden engine copy", e);
        }
    }

    /** A copy of this engine compiled for {@code species} (its own class, so the species is a JIT constant). */
    static GemmEngine withSpecies(VectorSpecies<Float> species) {
        try (var in = GemmKernel.class.getResourceAsStream("GemmKernel.class")) {
            if (in == null) throw new IllegalStateException("gemm: GemmKernel.class is not readable as a resource");
            byte[] bytes = in.readAllBytes();
            MethodHandles.Lookup hidden = MethodHandles.lookup().defineHiddenClassWithClassData(bytes, species, true);
            return (GemmEngine) hidden.findConstructor(hidden.lookupClass(),
                    java.lang.invoke.MethodType.methodType(void.class)).invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("gemm: cannot define an engine for " + species, e);
        }
    }

    GemmKernel() {}

    @Override
    public int vectorBits() {
        return S.vectorBitSize();
    }

    @Override
    public String toString() {
        return "GemmKernel[" + S.vectorBitSize() + "-bit, " + MR + "x" + NR + ", KC=" + KC + ", MC=" + MC + ", NC=" + NC + "]";
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float beta, float[] c, int cOff, int ldc) {
        run(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    @Override
    public void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, long strideA, float[] b, int bOff, int ldb, long strideB,
                             float beta, float[] c, int cOff, int ldc, long strideC) {
        runBatched(batch, transA, transB, m, n, k, alpha, a, aOff, lda, strideA, b, bOff, ldb, strideB,
                beta, c, cOff, ldc, strideC);
    }

    @Override
    public PackedMatrix pack(boolean transB, int k, int n, float[] b, int bOff, int ldb) {
        int kcStep = sliceDepth(k), nPad = roundUp(n, NR);
        float[] panels = new float[Math.multiplyExact(nPad, k)];
        float[] slice = new float[Math.multiplyExact(nPad, Math.min(k, kcStep))];
        for (int pc = 0; pc < k; pc += kcStep) {
            int kc = Math.min(kcStep, k - pc);
            java.util.Arrays.fill(slice, 0f); // packB leaves edge columns past the kernels' read width untouched
            packB(transB, b, bOff, ldb, pc, kc, 0, n, slice);
            System.arraycopy(slice, 0, panels, pc * nPad, nPad * kc);
        }
        return new PackedMatrix(k, n, NR, kcStep, panels, this);
    }

    @Override
    public void sgemmPacked(int m, float alpha, float[] a, int aOff, int lda, PackedMatrix b, float beta,
                            float[] c, int cOff, int ldc) {
        runPacked(m, alpha, a, aOff, lda, b, beta, c, cOff, ldc);
    }

    // Below, everything is static and lambdas never capture 'this': in a hidden copy, 'this' has the copy's
    // type while lambda descriptors name GemmKernel, which the verifier rejects.

    static void run(boolean transA, boolean transB, int m, int n, int k, float alpha,
                    float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                    float beta, float[] c, int cOff, int ldc) {
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f) {
            scale(m, n, beta, c, cOff, ldc);
            return;
        }
        if (m == 1 || n == 1) {
            gemv(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        if (transB && !transA && alpha == 1f && swapPays(m, n, k)) {
            runSwapped(m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        runBlocked(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /** {@link #run} past its special cases: the blocked algorithm, split over the threads. */
    private static void runBlocked(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                   float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                   float beta, float[] c, int cOff, int ldc) {
        int threads = Parallel.threads();
        int panelsM = (m + MR - 1) / MR, panelsN = (n + NR - 1) / NR;
        if (threads == 1 || (long) m * n * k < PARALLEL_MIN_FMAS || Math.max(panelsM, panelsN) < 2) {
            blocked(transA, transB, 0, m, 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        } else if (panelsM >= threads && (2L * m >= n || panelsN < threads)) {
            // square or tall: each thread owns a row slab of C and packs all of op(B) for it (packing B is a
            // vector copy unless transposed, cheaper than A's gather, so B is the operand to pack twice). Threads
            // share nothing: no barrier, so a task that the pool runs late cannot hold the other one up.
            Parallel.forChunks(panelsM, threads, (from, to) -> blocked(transA, transB, from * MR,
                    Math.min(m, to * MR), 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc));
        } else {
            // wide: each thread owns a column slab of C
            Parallel.forChunks(panelsN, threads, (from, to) -> blocked(transA, transB, 0, m, from * NR,
                    Math.min(n, to * NR), k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc));
        }
    }

    /**
     * Whether C = A B^T with B stored n x k (a linear layer's forward: B is the [out, in] weight) is cheaper as
     * C^T = B A^T. The blocked algorithm packs op(B) with a transposing scalar copy of all n x k values, which for a
     * few rows of A costs about what the multiply-adds do (SimpleNN's 64 x 784 by 500 x 784: 15% of a training
     * step). Swapped, B is read in place as the A operand and only A's m x k values are packed (transposed), plus two
     * m x n transposes of C. B is only read in place when the swapped problem's columns (A's m rows) are whole
     * micro-tiles ({@link #blocked}'s direct path); otherwise it would be packed as the A operand after all, and
     * 16 or 32 rows measured slower swapped.
     */
    static boolean swapPays(int m, int n, int k) {
        return NV == 4 && m % NR == 0 && (long) n * k > SWAP_RATIO * (long) m * (k + 2L * n);
    }

    /** See {@link #swapPays}: how many times larger B's packing must be than the swapped form's extra copies. */
    static final int SWAP_RATIO = 2;

    /**
     * C = alpha A B^T + beta C as C^T = alpha B A^T + beta C^T into a transposed copy of C. Each element of C gets
     * the same multiply-adds in the same order as in {@link #blocked} (same k slices, same merge of beta C with the
     * first slice), so with alpha 1 (the only case swapped: packing scales the A operand by alpha, which would
     * then be B) the result is bit for bit the unswapped one.
     */
    private static void runSwapped(int m, int n, int k, float alpha, float[] a, int aOff, int lda, float[] b, int bOff,
                                   int ldb, float beta, float[] c, int cOff, int ldc) {
        float[][] bufs = BUFFERS.get();
        float[] ct = buffer(bufs, 4, Math.multiplyExact(m, n));
        if (beta != 0f) transpose(m, n, c, cOff, ldc, ct, 0, m);
        runBlocked(false, true, n, m, k, alpha, b, bOff, ldb, a, aOff, lda, beta, ct, 0, m); // never swaps back
        transpose(n, m, ct, 0, m, c, cOff, ldc);
    }

    /** dst[j][i] = src[i][j] for an r x c src, in 16 x 16 blocks so both sides stay in cache. */
    private static void transpose(int r, int c, float[] src, int sOff, int lds, float[] dst, int dOff, int ldd) {
        for (int i0 = 0; i0 < r; i0 += 16) {
            int i1 = Math.min(r, i0 + 16);
            for (int j0 = 0; j0 < c; j0 += 16) {
                int j1 = Math.min(c, j0 + 16);
                for (int i = i0; i < i1; i++) {
                    int so = sOff + i * lds;
                    for (int j = j0; j < j1; j++) dst[dOff + j * ldd + i] = src[so + j];
                }
            }
        }
    }

    static void runBatched(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                           float[] a, int aOff, int lda, long strideA, float[] b, int bOff, int ldb, long strideB,
                           float beta, float[] c, int cOff, int ldc, long strideC) {
        int threads = Parallel.threads();
        long fmas = (long) m * n * k;
        // Whole problems per thread when there are enough of them to balance (or each is too small to split);
        // otherwise one after another, each split inside.
        boolean acrossBatch = threads > 1 && batch > 1
                && (batch % threads == 0 || batch >= 4 * threads || fmas < 2 * PARALLEL_MIN_FMAS);
        if (acrossBatch) {
            // inside a Parallel task the nested sgemm runs serially (Parallel does not nest)
            Parallel.forChunks(batch, threads, (from, to) -> {
                for (int i = from; i < to; i++)
                    run(transA, transB, m, n, k, alpha, a, (int) (aOff + i * strideA), lda,
                            b, (int) (bOff + i * strideB), ldb, beta, c, (int) (cOff + i * strideC), ldc);
            });
        } else {
            for (int i = 0; i < batch; i++)
                run(transA, transB, m, n, k, alpha, a, (int) (aOff + i * strideA), lda,
                        b, (int) (bOff + i * strideB), ldb, beta, c, (int) (cOff + i * strideC), ldc);
        }
    }

    static void runPacked(int m, float alpha, float[] a, int aOff, int lda, PackedMatrix b, float beta,
                          float[] c, int cOff, int ldc) {
        int n = b.n, k = b.k;
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f) {
            scale(m, n, beta, c, cOff, ldc);
            return;
        }
        int threads = Parallel.threads();
        int panelsM = (m + MR - 1) / MR, panelsN = (n + NR - 1) / NR;
        // the same threshold as run(): with B pre-packed a split duplicates no packing, but the fork/join round trip
        // is the same (measured 30-190 us per call on this VM under load, 10-30 us quiet)
        if (threads == 1 || (long) m * n * k < PARALLEL_MIN_FMAS || Math.max(panelsM, panelsN) < 2) {
            blockedPacked(0, m, 0, n, alpha, a, aOff, lda, b, beta, c, cOff, ldc);
            return;
        }
        // B is shared read-only, so either split costs no extra packing of B: take the one whose whole micro-panels
        // balance better over the threads (16 rows are 3 row panels, which 2 threads share 2:1, but 6+ column panels)
        double rowBalance = (double) panelsM / (threads * ((panelsM + threads - 1) / threads));
        double colBalance = (double) panelsN / (threads * ((panelsN + threads - 1) / threads));
        if (rowBalance >= colBalance - 0.02) {
            Parallel.forChunks(panelsM, threads, (from, to) -> blockedPacked(from * MR, Math.min(m, to * MR), 0, n,
                    alpha, a, aOff, lda, b, beta, c, cOff, ldc));
        } else {
            Parallel.forChunks(panelsN, threads, (from, to) -> blockedPacked(0, m, from * NR, Math.min(n, to * NR),
                    alpha, a, aOff, lda, b, beta, c, cOff, ldc));
        }
    }

    /** {@link #blocked} for rows [m0, m1) x columns [n0, n1) of C (n0 a multiple of NR) with B from its panels. */
    private static void blockedPacked(int m0, int m1, int n0, int n1, float alpha, float[] a, int aOff, int lda,
                                      PackedMatrix b, float beta, float[] c, int cOff, int ldc) {
        float[][] bufs = BUFFERS.get();
        int k = b.k, kcStep = b.sliceDepth, nPad = b.paddedCols;
        int mcStep = roundUp(evenSplit(m1 - m0, MC), MR);
        float[] ap = buffer(bufs, 0, mcStep * kcStep + VL); // + VL: packA's masked vector stores stay inside
        float[] tile = buffer(bufs, 2, MR * NR);
        float[] bp = b.panels;
        // as in blocked(): full tiles read an unscaled A in place, only its partial last row panel is packed (packing A
        // was a tenth of a 32 x 128 MiniLM forward, whose weights are all pre-packed); the edge kernel of a partial
        // column tile needs every row panel packed
        boolean direct = alpha == 1f && NV == 4 && (n1 - n0) % NR == 0;
        for (int jc = n0; jc < n1; jc += NC) {
            int nc = Math.min(NC, n1 - jc);
            for (int pc = 0; pc < k; pc += kcStep) {
                int kc = Math.min(kcStep, k - pc);
                float betaHere = pc == 0 ? beta : 1f;
                int slice = pc * nPad;
                for (int ic = m0; ic < m1; ic += mcStep) {
                    int mc = Math.min(mcStep, m1 - ic);
                    packA(false, a, aOff, lda, ic, mc, pc, kc, alpha, ap, direct);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr), bo = slice + (jc + jr) * kc;
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = Math.min(MR, mc - ir);
                            int co = cOff + (ic + ir) * ldc + jc + jr;
                            if (mr == MR && nr == NR) {
                                boolean into = betaHere == 0f;
                                float[] d = into ? c : tile;
                                int dOff = into ? co : 0, ldd = into ? ldc : NR;
                                if (direct) kernelWideDirect(kc, a, aOff + (ic + ir) * lda + pc, lda, bp, bo, d, dOff, ldd);
                                else kernel(kc, ap, ir * kc, bp, bo, d, dOff, ldd);
                                if (!into) mergeFull(tile, betaHere, c, co, ldc);
                            } else {
                                edgeKernel(kc, ap, ir * kc, bp, bo, tile, nr);
                                mergeTile(tile, mr, nr, betaHere, c, co, ldc);
                            }
                        }
                    }
                }
            }
        }
    }

    /** C = beta * C over m x n (beta 0 writes zeros whatever C held). */
    private static void scale(int m, int n, float beta, float[] c, int cOff, int ldc) {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++) {
            int o = cOff + i * ldc;
            if (beta == 0f) java.util.Arrays.fill(c, o, o + n, 0f);
            else for (int j = 0; j < n; j++) c[o + j] *= beta;
        }
    }

    private static float[] buffer(float[][] bufs, int slot, int size) {
        float[] buf = bufs[slot];
        if (buf == null || buf.length < size) bufs[slot] = buf = new float[size];
        return buf;
    }

    /** The blocked algorithm on the sub-block rows [m0, m1) x columns [n0, n1) of C, on this thread. */
    private static void blocked(boolean transA, boolean transB, int m0, int m1, int n0, int n1, int k, float alpha,
                                float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                float beta, float[] c, int cOff, int ldc) {
        float[][] bufs = BUFFERS.get();
        int kcStep = sliceDepth(k), kcMax = kcStep;
        // likewise equal row blocks of at most MC, in whole micro-panels
        int mcStep = roundUp(evenSplit(m1 - m0, MC), MR);
        float[] ap = buffer(bufs, 0, mcStep * kcMax + VL); // + VL: packA's masked vector stores stay inside
        float[] bp = buffer(bufs, 1, roundUp(Math.min(NC, n1 - n0), NR) * kcMax);
        float[] tile = buffer(bufs, 2, MR * NR);
        // a non-transposed, unscaled A is read in place by the full tiles (kernelWideDirect) and only its last, partial
        // row panel is packed; with a partial column tile the edge kernel needs every row panel packed
        boolean direct = !transA && alpha == 1f && NV == 4 && (n1 - n0) % NR == 0;
        for (int jc = n0; jc < n1; jc += NC) {
            int nc = Math.min(NC, n1 - jc);
            for (int pc = 0; pc < k; pc += kcStep) {
                int kc = Math.min(kcStep, k - pc);
                float betaHere = pc == 0 ? beta : 1f; // later k slices accumulate onto the first one's result
                packB(transB, b, bOff, ldb, pc, kc, jc, nc, bp);
                for (int ic = m0; ic < m1; ic += mcStep) {
                    int mc = Math.min(mcStep, m1 - ic);
                    packA(transA, a, aOff, lda, ic, mc, pc, kc, alpha, ap, direct);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = Math.min(MR, mc - ir);
                            int co = cOff + (ic + ir) * ldc + jc + jr;
                            if (mr == MR && nr == NR) {
                                // beta 0: straight into C; otherwise into the tile, then merged (see kernel's comment)
                                boolean into = betaHere == 0f;
                                float[] d = into ? c : tile;
                                int dOff = into ? co : 0, ldd = into ? ldc : NR;
                                if (direct) kernelWideDirect(kc, a, aOff + (ic + ir) * lda + pc, lda, bp, jr * kc, d, dOff, ldd);
                                else kernel(kc, ap, ir * kc, bp, jr * kc, d, dOff, ldd);
                                if (!into) mergeFull(tile, betaHere, c, co, ldc);
                            } else {
                                edgeKernel(kc, ap, ir * kc, bp, jr * kc, tile, nr);
                                mergeTile(tile, mr, nr, betaHere, c, co, ldc);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * The depth of the k slices: equal slices of at most KC (k = KC + 1 would otherwise leave a 1-deep slice that
     * costs a full pass over C), except that k up to an eighth above KC stays one slice. Each extra slice reads
     * and writes the whole C block again; for k = 384 (MiniLM, gpt-large) two 192-deep slices made the projections
     * 8-10% slower in one-thread CPU than one 384-deep slice, whose micro-panels are only 12% over the L1 budget.
     */
    static int sliceDepth(int k) {
        return k <= KC + KC / 8 ? k : evenSplit(k, KC);
    }

    /** The size of each of the fewest equal pieces of at most max that cover total (max for total 0). */
    private static int evenSplit(int total, int max) {
        int pieces = Math.max(1, (total + max - 1) / max);
        return Math.max(1, (total + pieces - 1) / pieces);
    }

    private static int roundUp(int x, int to) {
        return (x + to - 1) / to * to;
    }

    /**
     * C[i][j] = C[i][j] * beta + tile[i][j] over a whole MR x NR tile, rounded once (a fused multiply-add, as the
     * micro-kernels computed it when they merged with beta themselves). The loops have constant trip counts, so
     * the JIT unrolls them and there is no branch whose profile could later fail.
     */
    private static void mergeFull(float[] tile, float beta, float[] c, int co, int ldc) {
        FloatVector bv = FloatVector.broadcast(S, beta);
        for (int i = 0; i < MR; i++)
            for (int v = 0; v < NR; v += VL) {
                int o = co + i * ldc + v;
                FloatVector.fromArray(S, c, o).fma(bv, FloatVector.fromArray(S, tile, i * NR + v)).intoArray(c, o);
            }
    }

    /** C[i][j] = tile[i][j] + beta * C[i][j] for the valid mr x nr corner of an edge tile. */
    private static void mergeTile(float[] tile, int mr, int nr, float beta, float[] c, int co, int ldc) {
        for (int i = 0; i < mr; i++) {
            int t = i * NR, o = co + i * ldc;
            if (beta == 0f) System.arraycopy(tile, t, c, o, nr);
            else for (int j = 0; j < nr; j++) c[o + j] = tile[t + j] + beta * c[o + j];
        }
    }

    /**
     * Packs alpha * op(A)[ic .. ic+mc) x [pc .. pc+kc) into MR-tall micro-panels: panel q holds, for each p,
     * the MR values of rows ic + q*MR + (0..MR) at column pc + p, contiguously; rows past mc are zero. With
     * {@code edgeOnly} only the last panel, when it is partial, is packed ({@link #kernelWideDirect} reads the others).
     */
    private static void packA(boolean transA, float[] a, int aOff, int lda, int ic, int mc, int pc, int kc,
                              float alpha, float[] ap, boolean edgeOnly) {
        for (int ir = edgeOnly ? mc / MR * MR : 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir), base = ir * kc;
            if (transA && VL >= MR) {
                // stored k x m: the MR values for one p are contiguous in A, one masked vector load and store each
                // (a scalar copy of 6 floats per p made this packing a fifth of a small GPT's training step)
                int src = aOff + pc * lda + ic + ir;
                // A masked access whose full vector would overhang the array takes the JDK's checked slow path,
                // which boxes vectors (and showed as a tenth of a GPT step): the last rows of A, whose vector
                // would reach past its end, are copied by scalar code; ap has VL floats of slack for the stores.
                int slack = a.length - VL - src;
                int vectorRows = slack < 0 ? 0 : Math.min(kc, slack / lda + 1);
                if (vectorRows > 0) packColumnsMasked(a, src, lda, vectorRows, mr, alpha, ap, base);
                for (int p = vectorRows; p < kc; p++) {
                    int s = src + p * lda, dst = base + p * MR;
                    for (int r = 0; r < mr; r++) ap[dst + r] = alpha * a[s + r];
                    for (int r = mr; r < MR; r++) ap[dst + r] = 0f;
                }
            } else if (transA) {
                // stored k x m: the MR values for one p are contiguous in A
                for (int p = 0; p < kc; p++) {
                    int src = aOff + (pc + p) * lda + ic + ir, dst = base + p * MR;
                    for (int r = 0; r < mr; r++) ap[dst + r] = alpha * a[src + r];
                    for (int r = mr; r < MR; r++) ap[dst + r] = 0f;
                }
            } else if (mr == MR) {
                // MR row streams read side by side so that the packed panel is written sequentially
                int src = aOff + (ic + ir) * lda + pc;
                for (int p = 0; p < kc; p++) {
                    int dst = base + p * MR, s = src + p;
                    for (int r = 0; r < MR; r++) ap[dst + r] = alpha * a[s + r * lda];
                }
            } else {
                for (int r = 0; r < mr; r++) {
                    int src = aOff + (ic + ir + r) * lda + pc, dst = base + r;
                    for (int p = 0; p < kc; p++) ap[dst + p * MR] = alpha * a[src + p];
                }
                for (int r = mr; r < MR; r++)
                    for (int p = 0; p < kc; p++) ap[base + p * MR + r] = 0f;
            }
        }
    }

    /**
     * packA's vector copy of a stored-transposed A: for p &lt; rows, ap[base + p*MR ..] = alpha * a[src + p*lda ..] on
     * mr lanes, zeros up to MR. Its own small method with no data-dependent branch (alpha 1 multiplies exactly): a
     * profile trap elsewhere in packA then sends only scalar code back to the interpreter, where a vector op costs
     * a thousand times its compiled self, and this method stays compiled.
     */
    private static void packColumnsMasked(float[] a, int src, int lda, int rows, int mr, float alpha, float[] ap, int base) {
        var load = S.indexInRange(0, mr);
        var store = S.indexInRange(0, MR);
        for (int p = 0; p < rows; p++)
            FloatVector.fromArray(S, a, src + p * lda, load).mul(alpha).intoArray(ap, base + p * MR, store);
    }

    /**
     * Packs op(B)[pc .. pc+kc) x [jc .. jc+nc) into NR-wide micro-panels: panel q holds, for each p, the NR
     * values of row pc + p at columns jc + q*NR + (0..NR), contiguously; columns past nc are zero.
     */
    private static void packB(boolean transB, float[] b, int bOff, int ldb, int pc, int kc, int jc, int nc,
                              float[] bp) {
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr), base = jr * kc;
            if (transB && nr == NR) {
                // stored n x k: blocks of 16 values of p, so that the 16 packed rows being filled stay in L1
                // while each of the NR stored rows is read contiguously
                int src = bOff + (jc + jr) * ldb + pc, p0 = 0;
                for (; p0 + 16 <= kc; p0 += 16) {
                    for (int j = 0; j < NR; j++) {
                        int s = src + j * ldb + p0, d = base + p0 * NR + j;
                        for (int q = 0; q < 16; q++) bp[d + q * NR] = b[s + q];
                    }
                }
                for (int j = 0; j < NR; j++) {
                    int s = src + j * ldb, d = base + j;
                    for (int p = p0; p < kc; p++) bp[d + p * NR] = b[s + p];
                }
            } else if (transB) {
                int used = usedWidth(nr);
                if (used > nr) // row by row: a column-wise fill strides through kc cache lines per column
                    for (int p = 0; p < kc; p++) java.util.Arrays.fill(bp, base + p * NR + nr, base + p * NR + used, 0f);
                for (int j = 0; j < nr; j++) {
                    int src = bOff + (jc + jr + j) * ldb + pc, dst = base + j;
                    for (int p = 0; p < kc; p++) bp[dst + p * NR] = b[src + p];
                }
            } else if (nr == NR) {
                for (int p = 0; p < kc; p++) {
                    int src = bOff + (pc + p) * ldb + jc + jr, dst = base + p * NR;
                    for (int v = 0; v < NR; v += VL) FloatVector.fromArray(S, b, src + v).intoArray(bp, dst + v);
                }
            } else {
                // no fill call when nr is whole vectors (attention's 32-wide heads): one empty fill per packed row,
                // tens of thousands per baby-GPT step, showed as 5% of its one-thread profile
                int used = usedWidth(nr);
                for (int p = 0; p < kc; p++) {
                    int src = bOff + (pc + p) * ldb + jc + jr, dst = base + p * NR;
                    System.arraycopy(b, src, bp, dst, nr);
                    if (used > nr) java.util.Arrays.fill(bp, dst + nr, dst + used, 0f);
                }
            }
        }
    }

    /**
     * Columns of an edge micro-panel with nr valid columns that {@link #edgeKernel} reads: whole vectors, so that
     * a panel with one valid column costs one vector of work, not NV (the vocabulary-sized lm head of a small GPT
     * has n = 65 = 64 + 1).
     */
    private static int usedWidth(int nr) {
        if (nr <= VL) return VL;
        if (NV == 4 && nr <= 2 * VL) return 2 * VL;
        return NR;
    }

    /** An MR x usedWidth(nr) tile of an edge panel into tile (row stride NR), with the narrowest kernel that covers nr. */
    private static void edgeKernel(int kc, float[] ap, int ao, float[] bp, int bo, float[] tile, int nr) {
        if (nr <= VL) kernelSingle(kc, ap, ao, bp, bo, tile);
        else if (NV == 4 && nr <= 2 * VL) kernelNarrow(kc, ap, ao, bp, bo, tile, 0, NR);
        else kernel(kc, ap, ao, bp, bo, tile, 0, NR);
    }

    /** The 6 x 1-vector tile, for edge panels one vector wide: writes d[i * NR + j] for j &lt; VL (beta 0). */
    private static void kernelSingle(int kc, float[] ap, int ao, float[] bp, int bo, float[] d) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S), c2 = FloatVector.zero(S);
        FloatVector c3 = FloatVector.zero(S), c4 = FloatVector.zero(S), c5 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int pa = ao + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bo + p * NR);
            c0 = FloatVector.broadcast(S, ap[pa]).fma(b0, c0);
            c1 = FloatVector.broadcast(S, ap[pa + 1]).fma(b0, c1);
            c2 = FloatVector.broadcast(S, ap[pa + 2]).fma(b0, c2);
            c3 = FloatVector.broadcast(S, ap[pa + 3]).fma(b0, c3);
            c4 = FloatVector.broadcast(S, ap[pa + 4]).fma(b0, c4);
            c5 = FloatVector.broadcast(S, ap[pa + 5]).fma(b0, c5);
        }
        c0.intoArray(d, 0); c1.intoArray(d, NR); c2.intoArray(d, 2 * NR);
        c3.intoArray(d, 3 * NR); c4.intoArray(d, 4 * NR); c5.intoArray(d, 5 * NR);
    }

    /**
     * The register tile: d[i * ldd + j] (i &lt; MR, j &lt; NR) = sum over p &lt; kc of ap[ao + p*MR + i] * bp[bo + p*NR + j],
     * overwriting d (never read, so NaN garbage there is ignored). NV is a constant, so the JIT keeps one branch.
     * Each tile routine is one method with its vectors in locals: a vector handed to a method the JIT does not
     * inline is boxed, which costs 10x.
     *
     * <p>The tile routines have no data-dependent branch (beta is merged by the caller, {@link #mergeFull}): C2 drops
     * a branch its profile never saw taken and deoptimizes the whole method when it is first taken (an
     * {@code unstable_if} trap). A micro-kernel sent back to the interpreter runs every vector operation through
     * the Vector API's Java fall-backs ({@code VectorSupport.ternaryOp}, boxed vectors) for the seconds until C2
     * has compiled its 2 KB of bytecode again; a GEMM whose first calls all had beta 0 (or all 1) made one JVM
     * run 2-4x slower than the next.
     */
    private static void kernel(int kc, float[] ap, int ao, float[] bp, int bo, float[] d, int dOff, int ldd) {
        if (NV == 4) kernelWide(kc, ap, ao, bp, bo, d, dOff, ldd);
        else kernelNarrow(kc, ap, ao, bp, bo, d, dOff, ldd);
    }

    /** The 6 x 4-vector tile: 24 accumulators + 4 B vectors + 1 broadcast = 29 registers. */
    private static void kernelWide(int kc, float[] ap, int ao, float[] bp, int bo, float[] d, int dOff, int ldd) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c02 = FloatVector.zero(S), c03 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S), c12 = FloatVector.zero(S), c13 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c22 = FloatVector.zero(S), c23 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S), c32 = FloatVector.zero(S), c33 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c42 = FloatVector.zero(S), c43 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S), c52 = FloatVector.zero(S), c53 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int pa = ao + p * MR, pb = bo + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, pb), b1 = FloatVector.fromArray(S, bp, pb + 1 * VL), b2 = FloatVector.fromArray(S, bp, pb + 2 * VL), b3 = FloatVector.fromArray(S, bp, pb + 3 * VL);
            FloatVector a;
            a = FloatVector.broadcast(S, ap[pa]); c00 = a.fma(b0, c00); c01 = a.fma(b1, c01); c02 = a.fma(b2, c02); c03 = a.fma(b3, c03);
            a = FloatVector.broadcast(S, ap[pa + 1]); c10 = a.fma(b0, c10); c11 = a.fma(b1, c11); c12 = a.fma(b2, c12); c13 = a.fma(b3, c13);
            a = FloatVector.broadcast(S, ap[pa + 2]); c20 = a.fma(b0, c20); c21 = a.fma(b1, c21); c22 = a.fma(b2, c22); c23 = a.fma(b3, c23);
            a = FloatVector.broadcast(S, ap[pa + 3]); c30 = a.fma(b0, c30); c31 = a.fma(b1, c31); c32 = a.fma(b2, c32); c33 = a.fma(b3, c33);
            a = FloatVector.broadcast(S, ap[pa + 4]); c40 = a.fma(b0, c40); c41 = a.fma(b1, c41); c42 = a.fma(b2, c42); c43 = a.fma(b3, c43);
            a = FloatVector.broadcast(S, ap[pa + 5]); c50 = a.fma(b0, c50); c51 = a.fma(b1, c51); c52 = a.fma(b2, c52); c53 = a.fma(b3, c53);
        }
        c00.intoArray(d, dOff); c01.intoArray(d, dOff + 1 * VL); c02.intoArray(d, dOff + 2 * VL); c03.intoArray(d, dOff + 3 * VL);
        c10.intoArray(d, dOff + 1 * ldd); c11.intoArray(d, dOff + 1 * ldd + 1 * VL); c12.intoArray(d, dOff + 1 * ldd + 2 * VL); c13.intoArray(d, dOff + 1 * ldd + 3 * VL);
        c20.intoArray(d, dOff + 2 * ldd); c21.intoArray(d, dOff + 2 * ldd + 1 * VL); c22.intoArray(d, dOff + 2 * ldd + 2 * VL); c23.intoArray(d, dOff + 2 * ldd + 3 * VL);
        c30.intoArray(d, dOff + 3 * ldd); c31.intoArray(d, dOff + 3 * ldd + 1 * VL); c32.intoArray(d, dOff + 3 * ldd + 2 * VL); c33.intoArray(d, dOff + 3 * ldd + 3 * VL);
        c40.intoArray(d, dOff + 4 * ldd); c41.intoArray(d, dOff + 4 * ldd + 1 * VL); c42.intoArray(d, dOff + 4 * ldd + 2 * VL); c43.intoArray(d, dOff + 4 * ldd + 3 * VL);
        c50.intoArray(d, dOff + 5 * ldd); c51.intoArray(d, dOff + 5 * ldd + 1 * VL); c52.intoArray(d, dOff + 5 * ldd + 2 * VL); c53.intoArray(d, dOff + 5 * ldd + 3 * VL);

    }

    /**
     * {@link #kernelWide} reading A where it is stored, row-major with rows {@code lda} apart, instead of from a packed
     * panel: packing a non-transposed A gathers MR rows per column, and for the GEMMs of a small GPT (n only 128-512
     * columns to amortise it over) that gather took a tenth of the training step. Six row streams, each read in
     * order, are as cheap for the kernel as the packed panel.
     */
    private static void kernelWideDirect(int kc, float[] a, int ao, int lda, float[] bp, int bo, float[] d, int dOff, int ldd) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c02 = FloatVector.zero(S), c03 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S), c12 = FloatVector.zero(S), c13 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c22 = FloatVector.zero(S), c23 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S), c32 = FloatVector.zero(S), c33 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c42 = FloatVector.zero(S), c43 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S), c52 = FloatVector.zero(S), c53 = FloatVector.zero(S);
        int a0 = ao, a1 = ao + lda, a2 = ao + 2 * lda, a3 = ao + 3 * lda, a4 = ao + 4 * lda, a5 = ao + 5 * lda;
        for (int p = 0; p < kc; p++) {
            int pb = bo + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, pb), b1 = FloatVector.fromArray(S, bp, pb + 1 * VL), b2 = FloatVector.fromArray(S, bp, pb + 2 * VL), b3 = FloatVector.fromArray(S, bp, pb + 3 * VL);
            FloatVector av;
            av = FloatVector.broadcast(S, a[a0 + p]); c00 = av.fma(b0, c00); c01 = av.fma(b1, c01); c02 = av.fma(b2, c02); c03 = av.fma(b3, c03);
            av = FloatVector.broadcast(S, a[a1 + p]); c10 = av.fma(b0, c10); c11 = av.fma(b1, c11); c12 = av.fma(b2, c12); c13 = av.fma(b3, c13);
            av = FloatVector.broadcast(S, a[a2 + p]); c20 = av.fma(b0, c20); c21 = av.fma(b1, c21); c22 = av.fma(b2, c22); c23 = av.fma(b3, c23);
            av = FloatVector.broadcast(S, a[a3 + p]); c30 = av.fma(b0, c30); c31 = av.fma(b1, c31); c32 = av.fma(b2, c32); c33 = av.fma(b3, c33);
            av = FloatVector.broadcast(S, a[a4 + p]); c40 = av.fma(b0, c40); c41 = av.fma(b1, c41); c42 = av.fma(b2, c42); c43 = av.fma(b3, c43);
            av = FloatVector.broadcast(S, a[a5 + p]); c50 = av.fma(b0, c50); c51 = av.fma(b1, c51); c52 = av.fma(b2, c52); c53 = av.fma(b3, c53);
        }
        c00.intoArray(d, dOff); c01.intoArray(d, dOff + 1 * VL); c02.intoArray(d, dOff + 2 * VL); c03.intoArray(d, dOff + 3 * VL);
        c10.intoArray(d, dOff + 1 * ldd); c11.intoArray(d, dOff + 1 * ldd + 1 * VL); c12.intoArray(d, dOff + 1 * ldd + 2 * VL); c13.intoArray(d, dOff + 1 * ldd + 3 * VL);
        c20.intoArray(d, dOff + 2 * ldd); c21.intoArray(d, dOff + 2 * ldd + 1 * VL); c22.intoArray(d, dOff + 2 * ldd + 2 * VL); c23.intoArray(d, dOff + 2 * ldd + 3 * VL);
        c30.intoArray(d, dOff + 3 * ldd); c31.intoArray(d, dOff + 3 * ldd + 1 * VL); c32.intoArray(d, dOff + 3 * ldd + 2 * VL); c33.intoArray(d, dOff + 3 * ldd + 3 * VL);
        c40.intoArray(d, dOff + 4 * ldd); c41.intoArray(d, dOff + 4 * ldd + 1 * VL); c42.intoArray(d, dOff + 4 * ldd + 2 * VL); c43.intoArray(d, dOff + 4 * ldd + 3 * VL);
        c50.intoArray(d, dOff + 5 * ldd); c51.intoArray(d, dOff + 5 * ldd + 1 * VL); c52.intoArray(d, dOff + 5 * ldd + 2 * VL); c53.intoArray(d, dOff + 5 * ldd + 3 * VL);

    }

    /** The 6 x 2-vector tile: 12 accumulators + 2 B vectors + 1 broadcast = 15 registers. */
    private static void kernelNarrow(int kc, float[] ap, int ao, float[] bp, int bo, float[] d, int dOff, int ldd) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int pa = ao + p * MR, pb = bo + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, pb), b1 = FloatVector.fromArray(S, bp, pb + 1 * VL);
            FloatVector a;
            a = FloatVector.broadcast(S, ap[pa]); c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[pa + 1]); c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[pa + 2]); c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[pa + 3]); c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[pa + 4]); c40 = a.fma(b0, c40); c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[pa + 5]); c50 = a.fma(b0, c50); c51 = a.fma(b1, c51);
        }
        c00.intoArray(d, dOff); c01.intoArray(d, dOff + 1 * VL);
        c10.intoArray(d, dOff + 1 * ldd); c11.intoArray(d, dOff + 1 * ldd + 1 * VL);
        c20.intoArray(d, dOff + 2 * ldd); c21.intoArray(d, dOff + 2 * ldd + 1 * VL);
        c30.intoArray(d, dOff + 3 * ldd); c31.intoArray(d, dOff + 3 * ldd + 1 * VL);
        c40.intoArray(d, dOff + 4 * ldd); c41.intoArray(d, dOff + 4 * ldd + 1 * VL);
        c50.intoArray(d, dOff + 5 * ldd); c51.intoArray(d, dOff + 5 * ldd + 1 * VL);

    }

    /**
     * Matrix-vector product for m == 1 or n == 1 (decoding, bias-like shapes): a packed GEMM would spend more
     * on packing than on arithmetic, and the work is bound by reading the matrix once.
     */
    private static void gemv(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        float[][] bufs = BUFFERS.get();
        float[] mat, x;
        int matOff, ld, xOff, xStride, outLen, outStride;
        boolean dotForm; // y[r] = dot(row r of mat, x)  versus  y = sum over p of x[p] * (row p of mat)
        if (m == 1) {
            mat = b; matOff = bOff; ld = ldb; x = a; xOff = aOff; xStride = transA ? lda : 1;
            outLen = n; outStride = 1; dotForm = transB;
        } else {
            mat = a; matOff = aOff; ld = lda; x = b; xOff = bOff; xStride = transB ? 1 : ldb;
            outLen = m; outStride = ldc; dotForm = !transA;
        }
        if (xStride != 1) { // gather a strided vector once so the inner loops read it contiguously
            float[] xs = buffer(bufs, 3, k);
            for (int p = 0; p < k; p++) xs[p] = x[xOff + p * xStride];
            x = xs;
            xOff = 0;
        }
        float[] y = buffer(bufs, 2, outLen);
        float[] xv = x, mv = mat;
        int xo = xOff, mo = matOff, ldm = ld;
        if (dotForm) {
            Parallel.forRange(outLen, k, (from, to) -> MatVec.dotRows(mv, mo, ldm, k, xv, xo, y, 0, from, to));
        } else {
            // equal column blocks of at most GEMV_BLOCK, a whole number of them per thread, so that both threads
            // stream the same share of the matrix (blocks of exactly GEMV_BLOCK left n = 768 on one thread)
            int threads = Parallel.threads(), perThread = (outLen + threads - 1) / threads;
            int perThreadBlocks = (perThread + GEMV_BLOCK - 1) / GEMV_BLOCK;
            int block = roundUp((perThread + perThreadBlocks - 1) / perThreadBlocks, VL);
            int blocks = (outLen + block - 1) / block;
            Parallel.forRange(blocks, (long) k * block, (from, to) -> {
                int l0 = from * block, l1 = Math.min(outLen, to * block);
                MatVec.axpyRows(mv, mo + l0, ldm, l1 - l0, xv, xo, 0, k, y, l0);
            });
        }
        for (int i = 0; i < outLen; i++) {
            int o = cOff + i * outStride;
            c[o] = beta == 0f ? alpha * y[i] : alpha * y[i] + beta * c[o];
        }
    }

    /** Columns of the output one axpy pass works on: its slice of y stays in L1 across the rows. */
    private static final int GEMV_BLOCK = 1024;
}
