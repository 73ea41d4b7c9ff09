package dev.kindling.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/** Creation, element access, printing, dtypes and masks. */
class TensorBasicsTest {

    @Test
    void creation() {
        assertArrayEquals(new float[6], Tensor.zeros(2, 3).toFloatArray());
        assertArrayEquals(new int[] {2, 3}, Tensor.zeros(2, 3).shape());
        assertArrayEquals(new float[] {1, 1}, Tensor.ones(2).toFloatArray());
        assertArrayEquals(new float[] {7, 7, 7, 7}, Tensor.full(7, 2, 2).toFloatArray());
        assertArrayEquals(new float[] {0, 1, 2, 3}, Tensor.arange(4).toFloatArray());
        assertArrayEquals(new float[] {1, 1.5f, 2, 2.5f}, Tensor.arange(1, 3, 0.5).toFloatArray());
        assertArrayEquals(new float[] {3, 1}, Tensor.arange(3, 0, -2).toFloatArray());
        assertEquals(3, Tensor.arange(0, 0.3, 0.1).numel());        // like PyTorch: 0, 0.1, 0.2
        assertEquals(0, Tensor.arange(2, 1, 1).numel());
        assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0, 1, 0));
        assertArrayEquals(new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, Tensor.eye(3).toFloatArray());
        assertEquals(0, Tensor.scalar(2).dim());
        assertEquals(1, Tensor.scalar(2).numel());
        assertEquals(DType.INT32, Tensor.zeros(DType.INT32, 2).dtype());
        assertArrayEquals(new int[] {2, 3}, Tensor.zerosLike(Tensor.ones(2, 3)).shape());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.fromArray(new float[5], 2, 3));
        assertTrue(e.getMessage().contains("fromArray") && e.getMessage().contains("[2, 3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, -1));
    }

    @Test
    void fromArrayCopiesAndWrapShares() {
        float[] data = {1, 2, 3};
        Tensor copy = Tensor.fromArray(data, 3), shared = Tensor.wrap(data, 3);
        data[0] = 9;
        assertEquals(1, copy.get(0));
        assertEquals(9, shared.get(0));
        float[] out = copy.toFloatArray();
        out[1] = 42;
        assertEquals(2, copy.get(1));                               // toFloatArray hands out a copy
    }

    @Test
    void randomTensorsAreReproducibleFromTheSeed() {
        assertArrayEquals(Tensor.rand(new Generator(7), 4, 5).toFloatArray(), Tensor.rand(new Generator(7), 4, 5).toFloatArray());
        assertArrayEquals(Tensor.randn(new Generator(7), 9).toFloatArray(), Tensor.randn(new Generator(7), 9).toFloatArray());
        assertArrayEquals(Tensor.randint(new Generator(7), -3, 5, 20).toLongArray(), Tensor.randint(new Generator(7), -3, 5, 20).toLongArray());
        assertFalse(java.util.Arrays.equals(Tensor.rand(new Generator(7), 8).toFloatArray(), Tensor.rand(new Generator(8), 8).toFloatArray()));

        Generator g = new Generator(11);
        Tensor first = Tensor.randn(g, 3);
        long[] state = g.state();
        Tensor second = Tensor.randn(g, 5);
        g.setState(state);
        assertArrayEquals(second.toFloatArray(), Tensor.randn(g, 5).toFloatArray()); // restored mid-stream (spare Gaussian too)
        assertNotEquals(first.get(0), second.get(0));
        assertArrayEquals(Tensor.rand(g.manualSeed(3), 4).toFloatArray(), Tensor.rand(new Generator(3), 4).toFloatArray());
    }

    @Test
    void randomTensorsHaveTheRightDistribution() {
        float[] u = Tensor.rand(new Generator(1), 10_000).toFloatArray();
        for (float v : u) assertTrue(v >= 0 && v < 1);
        Tensor n = Tensor.randn(new Generator(2), 10_000);
        assertEquals(0, n.mean().item(), 0.05);
        assertEquals(1, n.std().item(), 0.05);
        long[] r = Tensor.randint(new Generator(3), -3, 5, 10_000).toLongArray();
        boolean[] seen = new boolean[8];
        for (long v : r) {
            assertTrue(v >= -3 && v < 5, "randint value " + v);
            seen[(int) v + 3] = true;
        }
        for (boolean s : seen) assertTrue(s);
        assertEquals(DType.INT64, Tensor.randint(new Generator(3), 0, 2, 3).dtype());
        assertThrows(IllegalArgumentException.class, () -> Tensor.randint(new Generator(3), 2, 2, 3));
    }

    @Test
    void itemAndElementAccess() {
        assertEquals(2.5f, Tensor.scalar(2.5f).item());
        assertEquals(4f, Tensor.full(4, 1, 1).item());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.ones(2, 3).item());
        assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());
        Tensor t = Tensor.arange(6).reshape(2, 3).t();               // [[0, 3], [1, 4], [2, 5]]
        assertEquals(4, t.get(1, 1));
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, t.toFloatArray());
        assertEquals(5, t.select(0, 2).select(0, 1).item());
        assertThrows(IndexOutOfBoundsException.class, () -> t.get(3, 0));
        assertThrows(IllegalArgumentException.class, () -> t.get(1));
    }

    @Test
    void toStringIsReadable() {
        Tensor t = Tensor.fromArray(new float[] {1, -2.5f, 3, 4}, 2, 2);
        assertEquals("tensor([[1.0000, -2.5000],\n        [3.0000, 4.0000]], shape=[2, 2])", t.toString());
        assertEquals("tensor(3.0000, shape=[])", Tensor.scalar(3).toString());
        assertEquals("tensor([1, 2], shape=[2], dtype=INT64)", Tensor.fromLongs(new long[] {1, 2}, 2).toString());
        assertTrue(t.requiresGrad(true).toString().endsWith("requires_grad=true)"));
        assertTrue(t.mul(2).toString().endsWith("grad_fn=mul)"));
        assertEquals("tensor([], shape=[0])", Tensor.zeros(0).toString());
    }

    @Test
    void toStringIsCutShortForLargeTensors() {
        String s = Tensor.arange(100 * 100).reshape(100, 100).toString();
        assertTrue(s.length() < 1000, "length " + s.length());
        assertTrue(s.contains("..."), s);
        assertTrue(s.contains("9999.0000"), s);                       // the last corner is shown
        assertTrue(s.endsWith("shape=[100, 100])"), s);
        assertEquals(1, Tensor.arange(2000).toString().split("\\.\\.\\.", -1).length - 1);
    }

    @Test
    void toStringDoesNotDependOnTheDefaultLocale() {
        Locale saved = Locale.getDefault();
        try {
            Locale.setDefault(Locale.GERMANY);
            assertEquals("tensor([1.5000], shape=[1])", Tensor.fromArray(new float[] {1.5f}, 1).toString());
        } finally {
            Locale.setDefault(saved);
        }
    }

    @Test
    void halfPrecisionRoundTrips() {
        float[] exact = {0, -0f, 1, -2.25f, 0.5f, 1024, -3072, Float.POSITIVE_INFINITY};
        for (DType half : List.of(DType.BF16, DType.F16)) {
            Tensor h = Tensor.fromArray(exact, exact.length).to(half);
            assertEquals(half, h.dtype());
            assertArrayEquals(exact, h.to(DType.FLOAT32).toFloatArray(), half.toString());
            assertArrayEquals(exact, h.toFloatArray(), half.toString());
            assertTrue(Float.isNaN(Tensor.scalar(Float.NaN).to(half).item()), half + " keeps NaN");
        }
        float[] v = Tensor.randn(new Generator(5), 1000).mul(100).toFloatArray();
        float[] bf = Tensor.fromArray(v, v.length).to(DType.BF16).toFloatArray();
        float[] f16 = Tensor.fromArray(v, v.length).to(DType.F16).toFloatArray();
        for (int i = 0; i < v.length; i++) {
            assertEquals(v[i], bf[i], Math.abs(v[i]) * 0x1p-8, "bf16 rounding of " + v[i]);   // 8 significant bits
            assertEquals(v[i], f16[i], Math.abs(v[i]) * 0x1p-11 + 0x1p-24, "f16 rounding of " + v[i]);
        }
        // round to nearest even at the halfway point: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7
        assertEquals(1f, Tensor.scalar(1 + 0x1p-8f).to(DType.BF16).item());
        assertEquals(1 + 0x1p-6f, Tensor.scalar(1 + 0x1p-7f + 0x1p-8f).to(DType.BF16).item());
        assertEquals(Float.POSITIVE_INFINITY, Tensor.scalar(70000).to(DType.F16).item());   // beyond F16's range
        assertEquals(70144f, Tensor.scalar(70000).to(DType.BF16).item());
        // computing on half tensors promotes to FLOAT32
        Tensor sum = Tensor.fromArray(new float[] {1, 2}, 2).to(DType.BF16).add(Tensor.ones(2).to(DType.F16));
        assertEquals(DType.FLOAT32, sum.dtype());
        assertArrayEquals(new float[] {2, 3}, sum.toFloatArray());
        // views keep the dtype and share the storage
        Tensor b = Tensor.arange(6).reshape(2, 3).to(DType.BF16);
        assertEquals(DType.BF16, b.t().dtype());
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, b.t().contiguous().toFloatArray());
    }

    @Test
    void int64IdsStayExact() {
        long big = (1L << 53) + 1;                                    // not representable as a float or double
        Tensor ids = Tensor.fromLongs(new long[] {big, -7, 3, 0}, 2, 2);
        assertEquals(DType.INT64, ids.dtype());
        assertEquals(big, ids.getLong(0, 0));
        assertArrayEquals(new long[] {big, 3, -7, 0}, ids.t().contiguous().toLongArray());
        assertArrayEquals(new long[] {big, -7, 3, 0}, ids.reshape(4).toLongArray());
        assertArrayEquals(new long[] {3, 0}, ids.select(0, 1).toLongArray());
        assertArrayEquals(new long[] {big, -7, 3, 0, big, -7}, Tensor.cat(List.of(ids.reshape(4), ids.select(0, 0)), 0).toLongArray());
        assertArrayEquals(new long[] {big, -7, big, -7}, Tensor.stack(List.of(ids.select(0, 0), ids.select(0, 0)), 0).toLongArray());
        assertArrayEquals(new long[] {big, 0, 3, 0}, ids.tril(0).toLongArray());
        assertArrayEquals(new long[] {big, -7, 0, 0}, ids.triu(0).toLongArray());
        assertArrayEquals(new long[] {1, -1, 0, -2}, Tensor.fromArray(new float[] {1.7f, -1.7f, 0.4f, -2}, 4).to(DType.INT64).toLongArray());
        assertArrayEquals(new float[] {3, 0}, ids.select(0, 1).toFloatArray());
        assertEquals(DType.INT32, Tensor.fromInts(new int[] {1, 2}, 2).dtype());
        assertArrayEquals(new long[] {1, 2}, Tensor.fromInts(new int[] {1, 2}, 2).to(DType.INT64).toLongArray());
    }

    @Test
    void catPromotesMixedDtypesWithoutLosingValues() {
        Tensor ids = Tensor.fromLongs(new long[] {1, 2}, 2);
        Tensor mixed = Tensor.cat(List.of(ids, Tensor.fromArray(new float[] {0.5f, 1.5f}, 2)), 0);
        assertEquals(DType.FLOAT32, mixed.dtype());
        assertArrayEquals(new float[] {1, 2, 0.5f, 1.5f}, mixed.toFloatArray());
        Tensor wide = Tensor.cat(List.of(Tensor.fromInts(new int[] {1}, 1), Tensor.fromLongs(new long[] {1L << 40}, 1)), 0);
        assertEquals(DType.INT64, wide.dtype());
        assertArrayEquals(new long[] {1, 1L << 40}, wide.toLongArray());
        assertEquals(DType.INT32, Tensor.cat(List.of(Tensor.fromInts(new int[] {1}, 1), Tensor.fromInts(new int[] {2}, 1)), 0).dtype());
    }

    @Test
    void comparisonsProduceBoolMasks() {
        Tensor a = Tensor.fromArray(new float[] {1, 2, 3, Float.NaN}, 4);
        Tensor m = a.gt(1.5);
        assertEquals(DType.BOOL, m.dtype());
        assertArrayEquals(new float[] {0, 1, 1, 0}, m.toFloatArray());
        assertArrayEquals(new float[] {0, 0, 0, 0}, a.eq(Float.NaN).toFloatArray());     // NaN equals nothing
        assertArrayEquals(new float[] {1, 1, 1, 1}, a.ne(Float.NaN).toFloatArray());
        assertArrayEquals(new float[] {1, 1, 0, 0}, a.le(Tensor.fromArray(new float[] {1, 2.5f, 2, 0}, 4)).toFloatArray());
        Tensor ids = Tensor.fromLongs(new long[] {0, 5, 2}, 3);
        assertEquals(DType.BOOL, ids.eq(5).dtype());
        assertArrayEquals(new float[] {0, 1, 0}, ids.eq(5).toFloatArray());
        Tensor grid = Tensor.arange(3).reshape(3, 1).lt(Tensor.arange(3));             // broadcasting: [3, 1] vs [3]
        assertEquals(DType.BOOL, grid.dtype());
        assertArrayEquals(new float[] {0, 1, 1, 0, 0, 1, 0, 0, 0}, grid.toFloatArray());
        // masks drive where and maskedFill
        assertArrayEquals(new float[] {1, -1, -1, Float.NaN}, a.maskedFill(m, -1).toFloatArray());
        assertArrayEquals(new float[] {0, 2, 3, 0}, Tensor.where(m, a, Tensor.zeros(4)).toFloatArray());
    }

    @Test
    void trilAndTriuZeroInfinitiesToo() {
        // the classic causal mask: -inf above the diagonal, 0 on and below it
        Tensor causal = Tensor.full(Float.NEGATIVE_INFINITY, 3, 3).triu(1);
        float inf = Float.NEGATIVE_INFINITY;
        assertArrayEquals(new float[] {0, inf, inf, 0, 0, inf, 0, 0, 0}, causal.toFloatArray());
        Tensor nan = Tensor.full(Float.NaN, 2, 2).tril(0);
        assertEquals(0f, nan.get(0, 1));
        assertTrue(Float.isNaN(nan.get(1, 0)));
    }

    @Test
    void copyFromWritesIntoTheStorage() {
        Tensor dst = Tensor.zeros(2, 3);
        float[] storage = dst.floatData();
        dst.copyFrom(Tensor.arange(3));                               // broadcasts
        assertArrayEquals(new float[] {0, 1, 2, 0, 1, 2}, storage);
        Tensor view = dst.t();
        view.copyFrom(Tensor.ones(3, 2).mul(5));                      // through a strided view
        assertArrayEquals(new float[] {5, 5, 5, 5, 5, 5}, storage);
        Tensor bf = Tensor.zeros(DType.BF16, 2);
        bf.copyFrom(Tensor.fromArray(new float[] {1.5f, -2}, 2));
        assertArrayEquals(new float[] {1.5f, -2}, bf.toFloatArray());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dst.copyFrom(Tensor.ones(4)));
        assertTrue(e.getMessage().contains("copyFrom") && e.getMessage().contains("[4]"), e.getMessage());
        assertArrayEquals(new float[0], Tensor.zeros(3, 0).floatData());
    }
}
