package dev.kindling.distributed;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;

/**
 * A memory-mapped file in {@code /dev/shm} shared by all ranks of a group that run on one host: two sets
 * ("parities") of one slot per rank, each {@link #slotFloats} floats. A rank writes only its own slot and
 * reads everyone's; which slot set a step uses alternates, so a rank can write the next step's data while
 * the others still read the previous step's (see {@link SharedMemoryCollectives}).
 *
 * <p>The file exists only while the ranks map it: rank 0 creates it with a random name and a random 64-bit
 * tag in its header, the others map it and check the tag (proof that they see the same memory, not a
 * same-named file in another container's {@code /dev/shm}), and once every rank has answered, rank 0
 * deletes the name. A crash afterwards leaves nothing behind.
 */
final class SharedSlots implements AutoCloseable {
    private static final Path DIR = Path.of("/dev/shm");
    private static final long HEADER = 64; // the tag, then padding to a cache line
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT; // native order: one host

    final int rank, worldSize, slotFloats;
    /** The file's name while it had one. */
    final Path file;
    private final Arena arena;
    private final MemorySegment seg;

    private SharedSlots(Path file, int rank, int worldSize, int slotFloats, Arena arena, MemorySegment seg) {
        this.file = file;
        this.rank = rank;
        this.worldSize = worldSize;
        this.slotFloats = slotFloats;
        this.arena = arena;
        this.seg = seg;
    }

    /** Bytes of the file for {@code worldSize} ranks with slots of {@code slotFloats}. */
    static long fileBytes(int worldSize, int slotFloats) {
        return HEADER + 2L * worldSize * slotFloats * Float.BYTES;
    }

    /**
     * Sets up the shared slots if every rank runs on this host and allows it, else returns null (the group
     * then stays on TCP). Every rank of the group calls it once, together, after the ring is connected.
     *
     * @param enabled this rank's setting; if any rank has it off, no rank uses shared memory
     * @param budgetBytes the whole file's size, shared out into the 2 × worldSize slots
     */
    static SharedSlots join(TcpStore store, int rank, int worldSize, boolean enabled, long budgetBytes, Duration timeout) {
        String me = enabled ? hostKey() : "";
        store.setString("shm/host/" + rank, me.isEmpty() ? "off" : me);
        boolean same = !me.isEmpty();
        for (int k = 0; k < worldSize; k++) same &= store.getString("shm/host/" + k, timeout).equals(me.isEmpty() ? "off" : me);
        if (!same) return null;
        int slotFloats = (int) Math.max(1024, Math.min(Integer.MAX_VALUE / 8, (budgetBytes - HEADER) / (2L * worldSize * Float.BYTES)));
        SharedSlots slots = null;
        Path file = null;
        try {
            if (rank == 0) {
                long tag = new SecureRandom().nextLong();
                file = DIR.resolve("kindling-" + HexFormat.of().toHexDigits(tag));
                slots = create(file, tag, worldSize, slotFloats);
                store.setString("shm/file", slots == null ? "" : file + " " + tag);
            } else {
                String f = store.getString("shm/file", timeout);
                if (!f.isEmpty()) {
                    int sp = f.lastIndexOf(' ');
                    slots = open(Path.of(f.substring(0, sp)), Long.parseLong(f.substring(sp + 1)), rank, worldSize, slotFloats);
                }
            }
            store.setString("shm/ok/" + rank, slots == null ? "0" : "1");
            boolean all = true;
            for (int k = 0; k < worldSize; k++) all &= store.getString("shm/ok/" + k, timeout).equals("1");
            if (!all && slots != null) {
                slots.close();
                slots = null;
            }
            return slots;
        } catch (RuntimeException e) {
            if (slots != null) slots.close(); // a peer vanished during setup: the caller reports it
            throw e;
        } finally {
            if (file != null) deleteQuietly(file); // every rank has mapped it or given up: the name is no longer needed
        }
    }

    /**
     * This kernel's boot id: ranks with equal ids run on one machine and share /dev/shm unless they are in
     * separate containers (which the tag check catches). Empty where there is no /dev/shm or no boot id.
     */
    private static String hostKey() {
        Path bootId = Path.of("/proc/sys/kernel/random/boot_id");
        if (!Files.isDirectory(DIR) || !Files.isReadable(bootId)) return "";
        try {
            return Files.readString(bootId).trim();
        } catch (IOException e) {
            return "";
        }
    }

    private static SharedSlots create(Path file, long tag, int worldSize, int slotFloats) {
        long bytes = fileBytes(worldSize, slotFloats);
        try {
            // tmpfs allocates pages when touched: a file larger than the free space would kill the process
            // with SIGBUS on first use, so check the space and write every page now, where failing is harmless
            if (Files.getFileStore(DIR).getUsableSpace() < 2 * bytes) return null;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 20);
                for (long at = 0; at < bytes; at += zeros.capacity()) {
                    zeros.clear().limit((int) Math.min(zeros.capacity(), bytes - at));
                    while (zeros.hasRemaining()) ch.write(zeros, at + zeros.position());
                }
                Arena arena = Arena.ofShared();
                MemorySegment seg = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
                seg.set(ValueLayout.JAVA_LONG, 0, tag);
                return new SharedSlots(file, 0, worldSize, slotFloats, arena, seg);
            }
        } catch (IOException | RuntimeException e) {
            deleteQuietly(file);
            return null;
        }
    }

    private static SharedSlots open(Path file, long tag, int rank, int worldSize, int slotFloats) {
        long bytes = fileBytes(worldSize, slotFloats);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            if (ch.size() != bytes) return null;
            Arena arena = Arena.ofShared();
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
            if (seg.get(ValueLayout.JAVA_LONG, 0) != tag) {
                arena.close();
                return null;
            }
            return new SharedSlots(file, rank, worldSize, slotFloats, arena, seg);
        } catch (IOException | RuntimeException e) {
            return null; // not the same /dev/shm (another container): the group stays on TCP
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // tmpfs: nothing useful to do; the name is random and the pages go with the last mapping
        }
    }

    private long offset(int parity, int slot, int at) {
        return HEADER + ((long) (parity * worldSize + slot) * slotFloats + at) * Float.BYTES;
    }

    /** Copies {@code src[srcOff, srcOff + len)} into this rank's slot of {@code parity} at float {@code at}. */
    void write(int parity, int at, float[] src, int srcOff, int len) {
        MemorySegment.copy(src, srcOff, seg, FLOAT, offset(parity, rank, at), len);
    }

    /** Copies {@code len} floats of rank {@code slot}'s slot of {@code parity}, from float {@code at}, into {@code dst}. */
    void read(int parity, int slot, int at, float[] dst, int dstOff, int len) {
        MemorySegment.copy(seg, FLOAT, offset(parity, slot, at), dst, dstOff, len);
    }

    @Override
    public void close() {
        try {
            arena.close();
        } catch (IllegalStateException ignored) {
            // already closed, or another thread is inside a copy while the group is torn down
        }
    }
}
