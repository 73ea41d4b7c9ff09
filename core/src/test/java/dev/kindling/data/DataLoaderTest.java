package dev.kindling.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;

class DataLoaderTest {
    /** Sample i: input [i, -i] (FLOAT32), target i (INT64), so every batch tells which samples it holds. */
    static TensorDataset indexed(int n) {
        float[] x = new float[n * 2];
        long[] y = new long[n];
        for (int i = 0; i < n; i++) {
            x[2 * i] = i;
            x[2 * i + 1] = -i;
            y[i] = i;
        }
        return new TensorDataset(Tensor.wrap(x, n, 2), Tensor.wrapLongs(y, n));
    }

    /** The sample indices of one epoch, batch by batch, checking that inputs and targets agree. */
    private static List<long[]> epoch(DataLoader loader) {
        List<long[]> out = new ArrayList<>();
        for (Batch b : loader) {
            long[] t = b.target().toLongArray();
            float[] x = b.input().toFloatArray();
            assertEquals(DType.INT64, b.target().dtype());
            assertArrayEquals(new int[] {t.length, 2}, b.input().shape());
            for (int i = 0; i < t.length; i++) {
                assertEquals(t[i], x[2 * i], "input row " + i + " belongs to its target");
                assertEquals(-t[i], x[2 * i + 1]);
            }
            out.add(t);
        }
        return out;
    }

    private static long[] flat(List<long[]> batches) {
        return batches.stream().flatMapToLong(Arrays::stream).toArray();
    }

    @Test
    void batchCountWithAndWithoutDropLast() {
        TensorDataset ds = indexed(10);
        var keep = DataLoader.builder(ds).batchSize(4).build();
        assertEquals(3, keep.numBatches());
        List<long[]> kb = epoch(keep);
        assertEquals(3, kb.size());
        assertEquals(List.of(4, 4, 2), kb.stream().map(b -> b.length).toList());
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, flat(kb), "no shuffle: in order");

        var drop = DataLoader.builder(ds).batchSize(4).dropLast(true).build();
        assertEquals(2, drop.numBatches());
        assertEquals(List.of(4, 4), epoch(drop).stream().map(b -> b.length).toList());

        var exact = DataLoader.builder(ds).batchSize(5).dropLast(true).build();
        assertEquals(2, exact.numBatches());
        assertEquals(2, epoch(exact).size());
        var big = DataLoader.builder(ds).batchSize(64).build();
        assertEquals(1, big.numBatches());
        assertEquals(0, DataLoader.builder(ds).batchSize(64).dropLast(true).build().numBatches());
        assertEquals(0, epoch(DataLoader.builder(ds).batchSize(64).dropLast(true).build()).size());
        assertThrows(IllegalArgumentException.class, () -> DataLoader.builder(ds).batchSize(0));
        assertThrows(IllegalArgumentException.class, () -> DataLoader.builder(ds).prefetch(-1));
    }

    @Test
    void everyIndexOncePerEpochInANewOrderEachEpoch() {
        var loader = DataLoader.builder(indexed(103)).batchSize(8).shuffle(7).build();
        List<long[]> orders = new ArrayList<>();
        for (int e = 0; e < 4; e++) {
            assertEquals(e, loader.epoch());
            long[] order = flat(epoch(loader));
            long[] sorted = order.clone();
            Arrays.sort(sorted);
            for (int i = 0; i < 103; i++) assertEquals(i, sorted[i], "epoch " + e + " holds every index exactly once");
            for (long[] earlier : orders) assertFalse(Arrays.equals(earlier, order), "epoch " + e + " repeats an earlier order");
            orders.add(order);
        }
        // the same seed gives the same orders, epoch for epoch; the order of epoch e depends only on seed and e
        var again = DataLoader.builder(indexed(103)).batchSize(8).shuffle(7).build();
        for (int e = 0; e < 4; e++) assertArrayEquals(orders.get(e), flat(epoch(again)), "epoch " + e);
        var resumed = DataLoader.builder(indexed(103)).batchSize(8).shuffle(7).build();
        resumed.setEpoch(2);
        assertArrayEquals(orders.get(2), flat(epoch(resumed)));
        assertArrayEquals(orders.get(2), Arrays.stream(resumed.order(2)).asLongStream().toArray());
        // another seed, another order
        var other = DataLoader.builder(indexed(103)).batchSize(8).shuffle(8).build();
        assertFalse(Arrays.equals(orders.get(0), flat(epoch(other))));
    }

    @Test
    void prefetchOnAndOffGiveIdenticalBatches() {
        for (boolean dropLast : new boolean[] {false, true}) {
            var off = DataLoader.builder(indexed(50)).batchSize(7).shuffle(3).dropLast(dropLast).prefetch(0).build();
            var on = DataLoader.builder(indexed(50)).batchSize(7).shuffle(3).dropLast(dropLast).prefetch(3).build();
            for (int e = 0; e < 3; e++) {
                List<long[]> a = epoch(off), b = epoch(on);
                assertEquals(a.size(), b.size());
                for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), b.get(i), "epoch " + e + " batch " + i);
            }
        }
    }

    /** A dataset whose sample {@code bad} cannot be read. */
    private static Dataset failingAt(int n, int bad) {
        TensorDataset ok = indexed(n);
        return new Dataset() {
            @Override public int size() { return n; }
            @Override public Example get(int i) {
                if (i == bad) throw new IllegalStateException("sample " + i + " is corrupt");
                return ok.get(i);
            }
        };
    }

    @Test
    void anExceptionInTheDatasetSurfacesFromNext() {
        for (int prefetch : new int[] {0, 2}) {
            var loader = DataLoader.builder(failingAt(20, 13)).batchSize(4).prefetch(prefetch).build();
            Iterator<Batch> it = loader.iterator();
            for (int b = 0; b < 3; b++) assertEquals(4, it.next().size(), "batch " + b + " is fine (prefetch " + prefetch + ")");
            var e = assertThrows(IllegalStateException.class, it::next, "prefetch " + prefetch);
            assertEquals("sample 13 is corrupt", e.getMessage());
        }
        // and a for loop over the loader sees it too
        var loader = DataLoader.builder(failingAt(20, 0)).batchSize(4).build();
        var e = assertThrows(IllegalStateException.class, () -> { for (Batch b : loader) b.size(); });
        assertEquals("sample 0 is corrupt", e.getMessage());
    }

    @Test
    void iteratorEndsCleanly() {
        for (int prefetch : new int[] {0, 2}) {
            Iterator<Batch> it = DataLoader.builder(indexed(5)).batchSize(2).prefetch(prefetch).build().iterator();
            for (int i = 0; i < 3; i++) {
                assertTrue(it.hasNext());
                it.next();
            }
            assertFalse(it.hasNext());
            assertThrows(NoSuchElementException.class, it::next);
        }
    }

    private static java.util.Set<Thread> loaderThreads() {
        java.util.Set<Thread> out = new java.util.HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) if (t.getName().equals("kindling-dataloader")) out.add(t);
        return out;
    }

    @Test
    void anAbandonedIteratorStopsItsThread() throws InterruptedException {
        // a break out of a for loop leaves the iterator behind; its loading thread must not wait forever
        var before = loaderThreads();
        Iterator<Batch> it = DataLoader.builder(indexed(1000)).batchSize(10).prefetch(2).build().iterator();
        it.next();
        var mine = loaderThreads();
        mine.removeAll(before);
        assertEquals(1, mine.size());
        Thread worker = mine.iterator().next();
        it = null;
        for (int i = 0; i < 200 && worker.isAlive(); i++) {
            System.gc();
            worker.join(50);
        }
        assertFalse(worker.isAlive(), "the loading thread of a dropped iterator is still running");
    }

    @Test
    void customCollateAndDefaultStacking() {
        TensorDataset ds = indexed(6);
        var loader = DataLoader.builder(ds).batchSize(4).collate(ex -> {
            Batch stacked = Dataset.stack(ex);
            return new Batch(stacked.input().mul(10), stacked.target());
        }).build();
        Iterator<Batch> it = loader.iterator();
        Batch b = it.next();
        assertArrayEquals(new float[] {0, 0, 10, -10, 20, -20, 30, -30}, b.input().toFloatArray(), 0f);
        assertArrayEquals(new long[] {0, 1, 2, 3}, b.target().toLongArray());
        assertEquals(DType.INT64, b.target().dtype(), "stacking keeps integer targets");
        assertEquals(2, it.next().size());
        assertThrows(IllegalArgumentException.class, () -> Dataset.stack(List.of()));
    }
}
