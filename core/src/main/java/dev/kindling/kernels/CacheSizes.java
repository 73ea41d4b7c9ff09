package dev.kindling.kernels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Per-core data cache sizes, read from Linux sysfs ({@code /sys/devices/system/cpu/cpu0/cache/index*}) when it
 * is there. Virtual machines often hide it; the defaults are then those of a current x86 server core
 * (48 KiB L1d, 1 MiB L2, 32 MiB shared L3), which is what GEMM blocking was tuned on.
 *
 * @param l1d level-1 data cache in bytes
 * @param l2 level-2 (unified) cache in bytes
 * @param l3 level-3 cache in bytes (shared between cores)
 */
record CacheSizes(long l1d, long l2, long l3) {
    static final CacheSizes DEFAULT = new CacheSizes(48 << 10, 1 << 20, 32 << 20);
    private static final Path SYSFS = Path.of("/sys/devices/system/cpu/cpu0/cache");

    /** The sizes of this machine's caches, each falling back to {@link #DEFAULT} when sysfs does not say. */
    static CacheSizes detect() {
        long l1 = 0, l2 = 0, l3 = 0;
        for (int i = 0; i < 8; i++) {
            Path dir = SYSFS.resolve("index" + i);
            if (!Files.isDirectory(dir)) break;
            String level = read(dir.resolve("level")), type = read(dir.resolve("type"));
            long size = parseSize(read(dir.resolve("size")));
            if (level == null || type == null || size <= 0) continue;
            switch (level) {
                case "1" -> { if (!type.equals("Instruction")) l1 = size; }
                case "2" -> l2 = size;
                case "3" -> l3 = size;
                default -> { }
            }
        }
        return new CacheSizes(l1 > 0 ? l1 : DEFAULT.l1d, l2 > 0 ? l2 : DEFAULT.l2, l3 > 0 ? l3 : DEFAULT.l3);
    }

    /** Parses sysfs sizes such as {@code 48K}, {@code 1024K}, {@code 32M}; 0 when unreadable. */
    static long parseSize(String s) {
        if (s == null || s.isEmpty()) return 0;
        long unit = switch (Character.toUpperCase(s.charAt(s.length() - 1))) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            default -> 1;
        };
        String digits = unit == 1 ? s : s.substring(0, s.length() - 1);
        try {
            return Long.parseLong(digits.trim()) * unit;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p).trim();
        } catch (IOException | SecurityException e) {
            return null;
        }
    }
}
