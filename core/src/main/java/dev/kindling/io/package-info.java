/**
 * File formats at the byte level, independent of {@code Tensor}: safetensors ({@link dev.kindling.io.SafetensorsFile}
 * memory-maps and validates, {@link dev.kindling.io.SafetensorsWriter} writes, {@link dev.kindling.io.SafetensorsIndex}
 * opens sharded Hugging Face checkpoints), IDX for MNIST-style data ({@link dev.kindling.io.Idx}), 16-bit float
 * conversions ({@link dev.kindling.io.Half}) and crash-safe writes ({@link dev.kindling.io.AtomicFiles}).
 *
 * <p>Every reader treats its file as untrusted: sizes in headers are checked against the file before anything is
 * allocated, and errors ({@link dev.kindling.io.FileFormatException}) name the file, the tensor and the numbers.
 */
package dev.kindling.io;
