package dev.kindling.onnx;

/** A .onnx file (or a tensor .pb file) breaks the protobuf wire format or ONNX's rules; the message names where. */
final class OnnxFormatException extends RuntimeException {
    OnnxFormatException(String message) {
        super(message);
    }
}
