package dev.kindling.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void createsAndReplaces() throws IOException {
        Path target = dir.resolve("ckpt.bin");
        AtomicFiles.write(target, out -> out.write("first".getBytes(StandardCharsets.UTF_8)));
        assertEquals("first", Files.readString(target));
        AtomicFiles.write(target, out -> {
            out.write("second, longer".getBytes(StandardCharsets.UTF_8));
            out.close(); // closing is allowed and only flushes
        });
        assertEquals("second, longer", Files.readString(target));
        assertEquals(List.of("ckpt.bin"), listing());
    }

    @Test
    void writesLargeBodies() throws IOException {
        Path target = dir.resolve("big.bin");
        byte[] data = new byte[300_000];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 31);
        AtomicFiles.write(target, out -> {
            out.write(data, 0, 1000);
            for (int i = 1000; i < 2000; i++) out.write(data[i]);
            out.write(data, 2000, data.length - 2000);
        });
        assertArrayEquals(data, Files.readAllBytes(target));
    }

    @Test
    void crashMidWriteKeepsTheOldFileAndLeavesNoTemp() throws IOException {
        Path target = dir.resolve("model.safetensors");
        Files.writeString(target, "old content");
        IOException crash = new IOException("disk on fire");
        IOException thrown = assertThrows(IOException.class, () -> AtomicFiles.write(target, out -> {
            out.write(new byte[200_000]); // more than the buffer: part of it really reached the temp file
            throw crash;
        }));
        assertSame(crash, thrown);
        assertEquals("old content", Files.readString(target));
        assertEquals(List.of("model.safetensors"), listing());
    }

    @Test
    void crashWithARuntimeExceptionBeforeTheFirstWriteLeavesNothing() throws IOException {
        Path target = dir.resolve("new.bin");
        assertThrows(IllegalStateException.class, () -> AtomicFiles.write(target, out -> {
            throw new IllegalStateException("bug in the body");
        }));
        assertFalse(Files.exists(target));
        assertEquals(List.of(), listing());
    }

    @Test
    void refusesAFolderAsTarget() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        var e = assertThrows(IOException.class, () -> AtomicFiles.write(sub, out -> out.write(1)));
        assertEquals("atomic write: " + sub + " is a folder", e.getMessage());
    }
}
