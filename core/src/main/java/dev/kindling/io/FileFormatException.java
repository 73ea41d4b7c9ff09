package dev.kindling.io;

import java.io.IOException;

/**
 * A file exists and could be read but its content breaks its format: a lying header, a truncated body, malformed
 * JSON. The message names the file and the offending values, e.g.
 * {@code safetensors: model.safetensors: tensor 'w' ends at byte 9123 of the data section but it has 8000 bytes}.
 */
public final class FileFormatException extends IOException {
    public FileFormatException(String message) {
        super(message);
    }

    public FileFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
