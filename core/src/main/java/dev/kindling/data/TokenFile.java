package dev.kindling.data;

import dev.kindling.io.AtomicFiles;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A tokenised corpus on disk, memory-mapped for training: a 16-byte header ("KTOK", version, bytes per
 * token, count) and the ids little-endian as uint16 when the vocabulary fits in 65,536, else int32.
 * {@link #batch} draws random windows (x, y = x shifted by one) as nanoGPT's get_batch does.
 */
public final class TokenFile implements AutoCloseable {
    private static final int MAGIC = 0x4B544F4B; // "KTOK"
    private static final int HEADER = 16;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final int width;
    private final long count;

    private TokenFile(Path path, Arena arena, MemorySegment data, int width, long count) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.width = width;
        this.count = count;
    }

    /** Writes ids atomically, as uint16 when every id is below 65,536. */
    public static void write(Path file, int[] ids, int vocabSize) throws IOException {
        int width = vocabSize <= 65536 ? 2 : 4;
        for (int i = 0; i < ids.length; i++)
            if (ids[i] < 0 || ids[i] >= vocabSize)
                throw new IllegalArgumentException("TokenFile: id " + ids[i] + " at position " + i + " is outside the vocabulary of " + vocabSize);
        AtomicFiles.write(file, out -> {
            var buf = java.nio.ByteBuffer.allocate(HEADER + (long) ids.length * width > Integer.MAX_VALUE ? 0 : HEADER + ids.length * width)
                    .order(ByteOrder.LITTLE_ENDIAN);
            if (buf.capacity() == 0) throw new IOException("TokenFile: " + ids.length + " tokens are too many for one file");
            buf.putInt(MAGIC).putInt(1).putInt(width).putInt(ids.length);
            for (int id : ids) {
                if (width == 2) buf.putShort((short) id);
                else buf.putInt(id);
            }
            out.write(buf.array());
        });
    }

    /** Maps a token file; the header is checked against the file length. */
    public static TokenFile open(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER) throw new IOException(file + ": " + size + " bytes is too short for a token file header");
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            if (seg.get(I32, 0) != MAGIC) throw new IOException(file + ": not a Kindling token file (bad magic)");
            int version = seg.get(I32, 4), width = seg.get(I32, 8);
            long count = Integer.toUnsignedLong(seg.get(I32, 12));
            if (version != 1) throw new IOException(file + ": unsupported token file version " + version);
            if (width != 2 && width != 4) throw new IOException(file + ": token width " + width + " must be 2 or 4");
            if (HEADER + count * width != size)
                throw new IOException(file + ": header says " + count + " tokens of " + width + " bytes but the file has "
                        + (size - HEADER) + " bytes of data");
            return new TokenFile(file, arena, seg, width, count);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public long size() {
        return count;
    }

    public int get(long i) {
        if (i < 0 || i >= count) throw new IndexOutOfBoundsException("TokenFile " + path + ": index " + i + " of " + count);
        return width == 2 ? Short.toUnsignedInt(data.get(U16, HEADER + i * 2)) : data.get(I32, HEADER + i * 4);
    }

    /**
     * {@code batchSize} random windows of {@code blockSize} from tokens [from, to): x = tokens[i, i+T),
     * y = tokens[i+1, i+T+1), both INT64 [B, T].
     */
    public Batch batch(Generator g, int batchSize, int blockSize, long from, long to) {
        long span = to - from - blockSize;
        if (span <= 0)
            throw new IllegalArgumentException("TokenFile: range of " + (to - from) + " tokens is too short for block size " + blockSize);
        long[] x = new long[batchSize * blockSize], y = new long[batchSize * blockSize];
        for (int b = 0; b < batchSize; b++) {
            long start = from + (long) (g.nextDouble() * span);
            for (int t = 0; t < blockSize; t++) {
                x[b * blockSize + t] = get(start + t);
                y[b * blockSize + t] = get(start + t + 1);
            }
        }
        return new Batch(Tensor.wrapLongs(x, batchSize, blockSize), Tensor.wrapLongs(y, batchSize, blockSize));
    }

    @Override
    public void close() {
        arena.close();
    }

}
