package dev.kindling.io;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * Reads and writes IDX files, the format of MNIST and Fashion-MNIST: bytes {@code 00 00 <type> <ndims>}, then
 * {@code ndims} big-endian 32-bit dimensions, then the elements. Only unsigned bytes (type 0x08), the type those
 * datasets use, are supported.
 *
 * <p>Files may be gzip-compressed ({@code .gz} as distributed); compression is detected from the magic bytes
 * {@code 1f 8b}, not from the name. The data must be exactly the size the header declares: truncation and trailing
 * bytes are both errors, reported as {@link FileFormatException}s that name the file and the numbers.
 */
public final class Idx {
    private Idx() {}

    static final int UNSIGNED_BYTE = 0x08;

    /**
     * Reads an IDX file of unsigned bytes, plain or gzip-compressed.
     *
     * @throws FileFormatException if the file is not such an IDX file or its size disagrees with its header
     */
    public static IdxArray read(Path path) throws IOException {
        try (InputStream file = new BufferedInputStream(Files.newInputStream(path), 1 << 16)) {
            file.mark(2);
            int b0 = file.read();
            int b1 = file.read();
            file.reset();
            if (b0 == 0x1f && b1 == 0x8b) {
                try (InputStream in = new GZIPInputStream(file, 1 << 16)) {
                    return read(path, in, -1);
                } catch (ZipException | EOFException e) {
                    throw fail(path, "gzip data is corrupt or truncated (" + e.getMessage() + ")");
                }
            }
            return read(path, file, Files.size(path));
        }
    }

    /**
     * @param fileSize the stream's length if known (plain files): lets a wrong size be reported before reading
     */
    private static IdxArray read(Path path, InputStream in, long fileSize) throws IOException {
        String gz = fileSize < 0 ? " (after gunzip)" : "";
        byte[] magic = in.readNBytes(4);
        if (magic.length < 4) {
            throw fail(path, "has only " + magic.length + " bytes" + gz + ", too short for the 4-byte IDX magic");
        }
        if (magic[0] != 0 || magic[1] != 0) {
            throw fail(path, String.format("is not an IDX file: it starts with %02x %02x, expected 00 00 <type> "
                    + "<ndims>", magic[0] & 0xFF, magic[1] & 0xFF));
        }
        int type = magic[2] & 0xFF;
        if (type != UNSIGNED_BYTE) {
            throw fail(path, String.format("has IDX data type 0x%02X (%s); only unsigned bytes (0x08) are supported",
                    type, typeName(type)));
        }
        int ndims = magic[3] & 0xFF;
        if (ndims == 0) throw fail(path, "declares 0 dimensions");
        byte[] dimBytes = in.readNBytes(4 * ndims);
        if (dimBytes.length < 4 * ndims) {
            throw fail(path, "declares " + ndims + " dimensions (" + 4 * ndims + " bytes) but ends after "
                    + dimBytes.length + " of them" + gz);
        }
        ByteBuffer buf = ByteBuffer.wrap(dimBytes); // big-endian by default, as IDX is
        int[] dims = new int[ndims];
        long total = 1;
        for (int i = 0; i < ndims; i++) {
            dims[i] = buf.getInt();
            if (dims[i] <= 0) {
                throw fail(path, "has dimension " + i + " = " + dims[i] + " (dimensions "
                        + Arrays.toString(Arrays.copyOf(dims, i + 1)) + "...); dimensions must be positive");
            }
            total *= dims[i];
            if (total > SafetensorsFile.MAX_ARRAY_LENGTH) {
                throw fail(path, "declares " + Arrays.toString(dimsSoFar(buf, dims, i)) + ", more than "
                        + SafetensorsFile.MAX_ARRAY_LENGTH + " bytes, too large for one Java array");
            }
        }
        long headerBytes = 4 + 4L * ndims;
        if (fileSize >= 0 && fileSize - headerBytes != total) {
            // Known size: report without reading or allocating anything the file cannot back.
            throw sizeError(path, dims, total, fileSize - headerBytes, gz);
        }
        byte[] data;
        if (fileSize >= 0) {
            data = new byte[(int) total];
            int got = in.readNBytes(data, 0, data.length);
            if (got != data.length) throw sizeError(path, dims, total, got, gz); // file shrank while reading
        } else {
            // Compressed: the header could claim gigabytes from a few bytes, so grow with the data actually there
            // (readNBytes(int) reads in chunks) instead of trusting the claim.
            data = in.readNBytes((int) total);
            if (data.length != total) throw sizeError(path, dims, total, data.length, gz);
        }
        long extra = in.transferTo(OutputStream.nullOutputStream());
        if (extra > 0) throw sizeError(path, dims, total, total + extra, gz);
        return new IdxArray(dims, data);
    }

    private static int[] dimsSoFar(ByteBuffer buf, int[] dims, int i) {
        int[] all = dims.clone();
        for (int j = i + 1; j < dims.length; j++) all[j] = buf.getInt();
        return all;
    }

    private static FileFormatException sizeError(Path path, int[] dims, long expected, long found, String gz) {
        String detail = found < expected ? "; the file is truncated"
                : "; " + (found - expected) + " trailing bytes";
        return fail(path, "expected " + expected + " bytes of data after the header (dimensions "
                + Arrays.toString(dims) + ") but found " + found + gz + detail);
    }

    private static String typeName(int type) {
        return switch (type) {
            case 0x08 -> "unsigned byte";
            case 0x09 -> "signed byte";
            case 0x0B -> "short";
            case 0x0C -> "int";
            case 0x0D -> "float";
            case 0x0E -> "double";
            default -> "not an IDX type";
        };
    }

    private static FileFormatException fail(Path path, String message) {
        return new FileFormatException("idx: " + path + ": " + message);
    }

    /** Writes {@code array} as an IDX file of unsigned bytes, gzip-compressed if asked, atomically. */
    public static void write(Path path, IdxArray array, boolean gzip) throws IOException {
        int[] dims = array.dims();
        ByteBuffer header = ByteBuffer.allocate(4 + 4 * dims.length);
        header.put((byte) 0).put((byte) 0).put((byte) UNSIGNED_BYTE).put((byte) dims.length);
        for (int d : dims) header.putInt(d);
        AtomicFiles.write(path, out -> {
            if (gzip) {
                GZIPOutputStream z = new GZIPOutputStream(out, 1 << 16);
                z.write(header.array());
                z.write(array.data());
                z.finish();
            } else {
                out.write(header.array());
                out.write(array.data());
            }
        });
    }
}
