package dev.kindling.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenFileTest {
    @TempDir
    Path dir;

    @Test
    void writesAndReadsBothWidths() throws IOException {
        int[] small = {0, 5, 65535, 17, 3};
        Path a = dir.resolve("a.tok");
        TokenFile.write(a, small, 65536);
        assertEquals(16 + 2 * small.length, Files.size(a), "uint16 ids for a vocabulary of 65,536");
        try (TokenFile t = TokenFile.open(a)) {
            assertEquals(small.length, t.size());
            for (int i = 0; i < small.length; i++) assertEquals(small[i], t.get(i));
            assertThrows(IndexOutOfBoundsException.class, () -> t.get(small.length));
            assertThrows(IndexOutOfBoundsException.class, () -> t.get(-1));
        }
        int[] big = {0, 65536, 100_000, 1};
        Path b = dir.resolve("b.tok");
        TokenFile.write(b, big, 100_001);
        assertEquals(16 + 4 * big.length, Files.size(b));
        try (TokenFile t = TokenFile.open(b)) {
            for (int i = 0; i < big.length; i++) assertEquals(big[i], t.get(i));
        }
        var e = assertThrows(IllegalArgumentException.class, () -> TokenFile.write(dir.resolve("c.tok"), new int[] {1, 50}, 50));
        assertTrue(e.getMessage().contains("id 50 at position 1"), e.getMessage());
        assertTrue(!Files.exists(dir.resolve("c.tok")), "nothing written for bad ids");
    }

    @Test
    void batchesAreShiftedWindowsInsideTheRange() throws IOException {
        int n = 1000;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = i; // token value = position, so windows are easy to check
        Path f = dir.resolve("seq.tok");
        TokenFile.write(f, ids, n);
        try (TokenFile t = TokenFile.open(f)) {
            Batch b = t.batch(new Generator(1), 16, 8, 100, 300);
            assertArrayEquals(new int[] {16, 8}, b.input().shape());
            assertEquals(DType.INT64, b.input().dtype());
            assertEquals(DType.INT64, b.target().dtype());
            long[] x = b.input().toLongArray(), y = b.target().toLongArray();
            for (int r = 0; r < 16; r++) {
                long start = x[r * 8];
                assertTrue(start >= 100 && start + 8 < 300, "window " + start + " stays inside [100, 300) with its target");
                for (int c = 0; c < 8; c++) {
                    assertEquals(start + c, x[r * 8 + c]);
                    assertEquals(start + c + 1, y[r * 8 + c], "target = input shifted by one");
                }
            }
            // the same generator seed, the same batch
            assertArrayEquals(x, t.batch(new Generator(1), 16, 8, 100, 300).input().toLongArray());
            var e = assertThrows(IllegalArgumentException.class, () -> t.batch(new Generator(1), 2, 8, 0, 8));
            assertTrue(e.getMessage().contains("block size 8"), e.getMessage());
        }
    }

    private static byte[] header(int magic, int version, int width, int count, int dataBytes) {
        return ByteBuffer.allocate(16 + dataBytes).order(ByteOrder.LITTLE_ENDIAN).putInt(magic).putInt(version).putInt(width).putInt(count).array();
    }

    private String openError(String name, byte[] bytes) throws IOException {
        Path p = Files.write(dir.resolve(name), bytes);
        var e = assertThrows(IOException.class, () -> TokenFile.open(p));
        assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void badHeadersAreRejected() throws IOException {
        int magic = 0x4B544F4B;
        assertTrue(openError("short", new byte[10]).contains("10 bytes is too short"));
        assertTrue(openError("magic", header(0x12345678, 1, 2, 0, 0)).contains("bad magic"));
        assertTrue(openError("version", header(magic, 2, 2, 0, 0)).contains("version 2"));
        assertTrue(openError("width", header(magic, 1, 3, 0, 0)).contains("width 3"));
        String truncated = openError("truncated", header(magic, 1, 2, 10, 12));
        assertTrue(truncated.contains("10 tokens of 2 bytes") && truncated.contains("12 bytes of data"), truncated);
        assertTrue(openError("trailing", header(magic, 1, 4, 1, 8)).contains("1 tokens of 4 bytes"));
        // a real file cut short
        Path f = dir.resolve("real.tok");
        TokenFile.write(f, new int[] {1, 2, 3, 4}, 10);
        byte[] bytes = Files.readAllBytes(f);
        assertTrue(openError("cut", Arrays.copyOf(bytes, bytes.length - 1)).contains("7 bytes of data"));
    }
}
