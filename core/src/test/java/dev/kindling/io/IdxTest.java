package dev.kindling.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxTest {
    @TempDir
    Path dir;

    private static IdxArray sample() {
        byte[] data = new byte[2 * 3 * 4];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 11);
        return new IdxArray(new int[] {2, 3, 4}, data);
    }

    private static byte[] idx(int type, int[] dims, int dataBytes) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + dataBytes);
        b.put((byte) 0).put((byte) 0).put((byte) type).put((byte) dims.length);
        for (int d : dims) b.putInt(d);
        return b.array();
    }

    private static byte[] gzip(byte[] bytes) throws IOException {
        var out = new ByteArrayOutputStream();
        try (var z = new GZIPOutputStream(out)) {
            z.write(bytes);
        }
        return out.toByteArray();
    }

    private String readError(String name, byte[] bytes) throws IOException {
        Path p = Files.write(dir.resolve(name), bytes);
        var e = assertThrows(FileFormatException.class, () -> Idx.read(p));
        String prefix = "idx: " + p + ": ";
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
        return e.getMessage().substring(prefix.length());
    }

    @Test
    void roundTripsPlainAndGzip() throws IOException {
        IdxArray a = sample();
        for (boolean gz : new boolean[] {false, true}) {
            Path p = dir.resolve("a-" + gz);
            Idx.write(p, a, gz);
            byte[] bytes = Files.readAllBytes(p);
            assertEquals(gz, (bytes[0] & 0xFF) == 0x1f && (bytes[1] & 0xFF) == 0x8b);
            assertEquals(a, Idx.read(p));
        }
        assertArrayEquals(new int[] {2, 3, 4}, a.dims());
        assertEquals(253, a.unsigned(23));
    }

    @Test
    void detectsGzipByContentNotByName() throws IOException {
        IdxArray a = sample();
        Path misnamedPlain = dir.resolve("labels.gz");
        Idx.write(misnamedPlain, a, false);
        assertEquals(a, Idx.read(misnamedPlain));
        Path misnamedGzip = dir.resolve("labels-idx1-ubyte");
        Idx.write(misnamedGzip, a, true);
        assertEquals(a, Idx.read(misnamedGzip));
    }

    @Test
    void writtenBytesFollowTheFormat() throws IOException {
        Path p = dir.resolve("l");
        Idx.write(p, new IdxArray(new int[] {3}, new byte[] {7, 8, 9}), false);
        assertArrayEquals(new byte[] {0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9}, Files.readAllBytes(p));
    }

    @Test
    void rejectsBadHeaders() throws IOException {
        assertEquals("has only 3 bytes, too short for the 4-byte IDX magic", readError("a", new byte[3]));
        assertEquals("is not an IDX file: it starts with 50 4b, expected 00 00 <type> <ndims>",
                readError("b", new byte[] {'P', 'K', 3, 4, 0, 0}));
        assertEquals("has IDX data type 0x0D (float); only unsigned bytes (0x08) are supported",
                readError("c", idx(0x0D, new int[] {1}, 4)));
        assertEquals("has IDX data type 0x42 (not an IDX type); only unsigned bytes (0x08) are supported",
                readError("c2", idx(0x42, new int[] {1}, 1)));
        assertEquals("declares 0 dimensions", readError("d", new byte[] {0, 0, 8, 0}));
        assertEquals("declares 3 dimensions (12 bytes) but ends after 5 of them",
                readError("e", Arrays.copyOf(idx(8, new int[] {1, 1, 1}, 0), 9)));
        assertEquals("has dimension 1 = 0 (dimensions [5, 0]...); dimensions must be positive",
                readError("f", idx(8, new int[] {5, 0, 3}, 0)));
        assertEquals("has dimension 0 = -1 (dimensions [-1]...); dimensions must be positive",
                readError("g", idx(8, new int[] {-1}, 0)));
        assertEquals("declares [65536, 65536, 1], more than 2147483639 bytes, too large for one Java array",
                readError("h", idx(8, new int[] {65536, 65536, 1}, 0)));
    }

    @Test
    void rejectsTruncationAndTrailingBytes() throws IOException {
        assertEquals("expected 47040000 bytes of data after the header (dimensions [60000, 28, 28]) but found 1000; "
                + "the file is truncated",
                readError("train-images-idx3-ubyte", idx(8, new int[] {60000, 28, 28}, 1000)));
        assertEquals("expected 47040000 bytes of data after the header (dimensions [60000, 28, 28]) but found 1000 "
                + "(after gunzip); the file is truncated",
                readError("train-images-idx3-ubyte.gz", gzip(idx(8, new int[] {60000, 28, 28}, 1000))));
        assertEquals("expected 6 bytes of data after the header (dimensions [2, 3]) but found 10; 4 trailing bytes",
                readError("t", idx(8, new int[] {2, 3}, 10)));
        assertEquals("expected 6 bytes of data after the header (dimensions [2, 3]) but found 10 (after gunzip); "
                + "4 trailing bytes", readError("t.gz", gzip(idx(8, new int[] {2, 3}, 10))));
    }

    @Test
    void rejectsCorruptGzip() throws IOException {
        byte[] z = gzip(idx(8, new int[] {100}, 100));
        String cut = readError("cut.gz", Arrays.copyOf(z, z.length - 12));
        assertTrue(cut.startsWith("gzip data is corrupt or truncated ("), cut);
        byte[] garbled = z.clone();
        for (int i = 12; i < garbled.length - 8; i++) garbled[i] ^= (byte) 0x5A;
        String bad = readError("bad.gz", garbled);
        assertTrue(bad.startsWith("gzip data is corrupt or truncated (") || bad.startsWith("is not an IDX file")
                || bad.startsWith("expected"), bad);
    }

    @Test
    void arraysCheckTheirShape() {
        var e = assertThrows(IllegalArgumentException.class, () -> new IdxArray(new int[] {2, 3}, new byte[5]));
        assertEquals("idx: dimensions [2, 3] need 6 bytes but data has 5", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new IdxArray(new int[] {2, -3}, new byte[5]));
        assertEquals("idx: dimensions [2, -3] must be positive", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new IdxArray(new int[0], new byte[1]));
        assertEquals("idx: 0 dimensions; IDX holds 1 to 255", e.getMessage());
    }

    /**
     * The real Fashion-MNIST test set. Its folder comes from the system property {@code kindling.fashionMnist}, the
     * environment variable {@code FASHION_MNIST_DIR}, or Debian's dataset-fashion-mnist package location; if it is
     * missing the test fails (it never skips) with the way to install it.
     */
    @Test
    void readsTheRealFashionMnistTestSet() throws IOException {
        Path folder = fashionMnistFolder();
        IdxArray images = Idx.read(folder.resolve("t10k-images-idx3-ubyte.gz"));
        IdxArray labels = Idx.read(folder.resolve("t10k-labels-idx1-ubyte.gz"));
        assertArrayEquals(new int[] {10000, 28, 28}, images.dims());
        assertArrayEquals(new int[] {10000}, labels.dims());
        int[] perClass = new int[10];
        for (byte b : labels.data()) perClass[b & 0xFF]++; // throws if a label is outside 0..9
        int[] thousandEach = new int[10];
        Arrays.fill(thousandEach, 1000);
        assertArrayEquals(thousandEach, perClass); // the test set is balanced
        // First test image is an ankle boot (label 9); pixels span the whole 0..255 range somewhere in the set.
        assertEquals(9, labels.unsigned(0));
        int max = 0;
        for (byte b : images.data()) max = Math.max(max, b & 0xFF);
        assertEquals(255, max);
    }

    static Path fashionMnistFolder() {
        String prop = System.getProperty("kindling.fashionMnist");
        String env = System.getenv("FASHION_MNIST_DIR");
        String where = prop != null ? prop : env != null ? env : "/usr/share/datasets/fashion-mnist";
        Path folder = Path.of(where);
        if (!Files.isRegularFile(folder.resolve("t10k-images-idx3-ubyte.gz"))) {
            fail("Fashion-MNIST not found in " + folder + " (from " + (prop != null ? "-Dkindling.fashionMnist"
                    : env != null ? "FASHION_MNIST_DIR" : "the default") + "): install it with "
                    + "'apt-get install -y dataset-fashion-mnist' or point -Dkindling.fashionMnist / "
                    + "FASHION_MNIST_DIR at a folder holding the four .gz files");
        }
        return folder;
    }
}
