package dev.kindling.bench;

import dev.kindling.kernels.Parallel;
import dev.kindling.kernels.Team;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Memory bandwidth measured the way STREAM measures it, on the decoder's own {@link Team} (every thread of the run):
 * arrays of 128 MB each, four times a 32 MB last-level cache, so no pass is served from cache; 10 timed passes
 * (STREAM's NTIMES) after three untimed ones; each pass one team region over the whole arrays, each member its
 * contiguous share. Two kernels:
 * <ul>
 *   <li>triad {@code a = b + s c}: 12 bytes per element (two reads and a write), STREAM's count (a write-allocate
 *       read of a is not counted): the bound of the decoding benchmark, as issue 10 states it;</li>
 *   <li>read {@code sum(b)}: 4 bytes per element, no writes, four streams per thread: what decoding does to its
 *       weights, reported as context next to the bound.</li>
 * </ul>
 * <pre>java ... dev.kindling.bench.Bandwidth [threads] [measurements]</pre>
 */
final class Bandwidth {
    /** Floats per array: 128 MB. */
    static final int N = 32 << 20;
    /** Timed passes per measurement (STREAM's NTIMES). */
    static final int PASSES = 10;
    /** Untimed passes before them: the first runs before the JIT has compiled the loop. */
    static final int WARMUP = 3;
    /**
     * At most 256-bit vectors, as the decoder's FP32 kernels ({@code MatVec}): a heap array starts at any multiple of
     * 8 bytes, so 512-bit loads and stores straddle two cache lines in 7 arrays of 8. With them the triad measured
     * 33-35 GB/s where 256-bit vectors measured 36-49 in the same processes (2 threads, BENCHMARKS.md, lead7): the
     * bound was understated.
     */
    private static final VectorSpecies<Float> S =
            FloatVector.SPECIES_PREFERRED.vectorBitSize() > 256 ? FloatVector.SPECIES_256 : FloatVector.SPECIES_PREFERRED;

    /** One measurement's passes in bytes per second: the best (STREAM's figure), the median and the worst. */
    record Figure(double best, double median, double worst) {
        static Figure of(double[] rates) {
            double[] s = rates.clone();
            Arrays.sort(s);
            return new Figure(s[s.length - 1], TrainingSteps.median(s), s[0]);
        }

        /** "best 51.2 GB/s (median 49.0, worst 40.3)" */
        String gbs() {
            return String.format("best %.1f GB/s (median %.1f, worst %.1f)", best / 1e9, median / 1e9, worst / 1e9);
        }
    }

    private final float[] a = new float[N], b = new float[N], c = new float[N];
    private final double[] partial;
    private final Team team = Team.shared();

    Bandwidth() {
        Arrays.fill(b, 1f);
        Arrays.fill(c, 2f);
        partial = new double[team.size()];
    }

    public static void main(String[] args) {
        Parallel.setThreads(args.length > 0 ? Integer.parseInt(args[0]) : 2);
        int measurements = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Bandwidth memory = new Bandwidth();
        for (int i = 0; i < measurements; i++)
            System.out.printf("%d threads: triad %s; read %s%n", Parallel.threads(), memory.triad().gbs(), memory.read().gbs());
    }

    /** {@link #PASSES} timed passes of the triad after {@link #WARMUP} untimed ones. */
    Figure triad() {
        double[] rates = new double[PASSES];
        for (int pass = -WARMUP; pass < PASSES; pass++) {
            long t0 = System.nanoTime();
            team.run(m -> triad(m.from(N, S.length()), m.to(N, S.length())));
            long t = System.nanoTime() - t0;
            if (pass >= 0) rates[pass] = 12.0 * N / (t / 1e9);
        }
        if (a[N / 2] != 7f || a[N - 1] != 7f) throw new IllegalStateException("triad: wrong result " + a[N / 2] + ", " + a[N - 1]);
        return Figure.of(rates);
    }

    /** {@link #PASSES} timed passes summing b after {@link #WARMUP} untimed ones. */
    Figure read() {
        double[] rates = new double[PASSES];
        for (int pass = -WARMUP; pass < PASSES; pass++) {
            long t0 = System.nanoTime();
            team.run(m -> partial[m.index()] = sum(m.from(N, S.length()), m.to(N, S.length())));
            long t = System.nanoTime() - t0;
            double total = 0;
            for (double p : partial) total += p;
            if (total != N) throw new IllegalStateException("read: wrong sum " + total + ", expected " + N);
            if (pass >= 0) rates[pass] = 4.0 * N / (t / 1e9);
        }
        return Figure.of(rates);
    }

    private void triad(int from, int to) {
        FloatVector s = FloatVector.broadcast(S, 3f);
        int i = from;
        for (int bound = from + S.loopBound(to - from); i < bound; i += S.length())
            FloatVector.fromArray(S, c, i).fma(s, FloatVector.fromArray(S, b, i)).intoArray(a, i);
        for (; i < to; i++) a[i] = b[i] + 3f * c[i];
    }

    /**
     * The sum of b[from, to) as four streams a quarter of the range apart, each with its own accumulator: the decoder
     * reads its weights the same way (MatVec), because one stream per core leaves too few cache misses in flight to
     * reach the memory's bandwidth.
     */
    private double sum(int from, int to) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        int l = S.length(), q = (to - from) / (4 * l) * l, i = from;
        for (int end = from + q; i < end; i += l) {
            s0 = s0.add(FloatVector.fromArray(S, b, i));
            s1 = s1.add(FloatVector.fromArray(S, b, i + q));
            s2 = s2.add(FloatVector.fromArray(S, b, i + 2 * q));
            s3 = s3.add(FloatVector.fromArray(S, b, i + 3 * q));
        }
        double total = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD); // exact: each lane sums at most 2^19 ones
        for (i = from + 4 * q; i < to; i++) total += b[i];
        return total;
    }
}
